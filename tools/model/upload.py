"""Put the artifact in S3 with its SHA-256 and library versions as object metadata, never replacing another one.

model_store checks the object's ``sha256`` user metadata against the bytes it downloads (and MODEL_SHA256 when
set). A published key is never overwritten with different bytes: functions deployed with its MODEL_SHA256 would
refuse it on their next cold start. Publishing the same bytes again is a no-op, so a re-run is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.model import PublishError
from tools.model.target import Target

_ABSENT = ("404", "NoSuchKey", "NotFound")


def upload(s3: Any, tarball: Path, target: Target, metadata: Mapping[str, str],
           content_type: str = "application/gzip") -> bool:
    """Upload the tarball with metadata (which must hold "sha256"); False when the same bytes were there already."""
    try:
        existing = _existing_sha256(s3, target)
        if existing == metadata["sha256"]:
            return False
        if existing is not None:
            raise PublishError(
                f"{target.uri} already holds another artifact (sha256 {existing or 'not recorded'}); functions "
                "deployed with its MODEL_SHA256 would refuse a replacement: publish under a new version (or delete "
                "the object first if nothing uses it)")
        # upload_file: multipart above 8 MiB, retried parts; the metadata goes on the object either way.
        s3.upload_file(str(tarball), target.bucket, target.key,
                       ExtraArgs={"Metadata": dict(metadata), "ContentType": content_type})
    except (BotoCoreError, ClientError) as exc:
        raise PublishError(f"upload to {target.uri} failed: {exc}") from None
    return True


def _existing_sha256(s3: Any, target: Target) -> str | None:
    """None when there is no object; its sha256 metadata ("" when it has none) when there is."""
    try:
        head = s3.head_object(Bucket=target.bucket, Key=target.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return None
        raise
    return (head.get("Metadata") or {}).get("sha256", "").strip().lower()
