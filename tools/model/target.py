"""Where the artifact goes and which MODEL_VERSION it is, from --to (and --version)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lambdas.shared.settings import S3_URI
from tools.model import PublishError

# A key segment such as v1.2.3 or v2.0.0-rc.1 names the version: s3://bucket/distilbert/v1.2.3/model.tar.gz.
_VERSION_SEGMENT = re.compile(r"v\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?")
# What --version may be: MODEL_VERSION allows 1-128 characters; these also fit S3 metadata and a log line.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


@dataclass(frozen=True)
class Target:
    uri: str
    bucket: str
    key: str
    version: str


def sibling(target: Target, fmt: str) -> Target:
    """Where format FMT (tar.zst, tar) of TARGET's .tar.gz goes: the same key with its suffix replaced."""
    if not target.key.endswith(".tar.gz"):
        raise PublishError(f"--to {target.uri}: --also needs a key ending in .tar.gz to put the .{fmt} beside it")
    key = target.key.removesuffix("tar.gz") + fmt
    return Target(f"s3://{target.bucket}/{key}", target.bucket, key, target.version)


def parse_target(uri: str, version: str | None = None) -> Target:
    match = S3_URI.fullmatch(uri)
    if not match:
        raise PublishError(f"--to {uri!r}: expected s3://BUCKET/KEY (a valid bucket name, a non-empty key)")
    bucket, key = match.group("bucket"), match.group("key")
    if version is not None:
        if not _VERSION.fullmatch(version):
            raise PublishError(f"--version {version!r}: expected 1-128 letters, digits and . _ + - "
                               "(starting with a letter or digit)")
        return Target(uri, bucket, key, version)
    found = sorted({segment for segment in key.split("/")[:-1] if _VERSION_SEGMENT.fullmatch(segment)})
    if len(found) != 1:
        what = f"several version segments ({', '.join(found)})" if found else "no directory named like vX.Y.Z"
        raise PublishError(f"--to {uri}: {what} in the key to take MODEL_VERSION from; pass --version")
    return Target(uri, bucket, key, found[0])
