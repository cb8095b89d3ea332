"""Fetch the model once per container: download, verify, extract, publish.

Flow for ``MODEL_S3_URI`` (cold start):

1. Under a process-wide lock (concurrent cold starts in one container fetch
   once; the second caller waits and then reuses the result), check the
   completion marker inside ``MODEL_DIR``. If it matches the configured
   source (and checksum), the directory is reused - no download.
2. Otherwise stream ``GetObject``'s body through a SHA-256 hashing reader
   straight into the safe tar extractor (no temp tarball on /tmp, which is
   small and slow on Lambda), extracting into a scratch dir *next to*
   ``MODEL_DIR`` (same filesystem, so the final rename is atomic).
3. Verify the hash against ``MODEL_SHA256`` and/or the object's ``sha256``
   user metadata, verify the layout (config.json, weights, tokenizer), write
   the marker, then ``rename`` the scratch dir onto ``MODEL_DIR``.

Any failure removes the scratch dir and raises :class:`ModelFetchError` naming
the cause; nothing is published, so the next invocation retries cleanly.

``MODEL_PATH`` skips all of this and only validates the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.shared.chunked_reader import ChunkedReader
from lambdas.shared.ranged_body import RangedBody
from lambdas.shared.safe_tar import ArchiveError, TarLimits, extract_tar_stream
from lambdas.shared.settings import Settings

MARKER_NAME = ".model-store.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin",
                "model.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")


class ModelFetchError(RuntimeError):
    """The model could not be fetched, verified or extracted."""


@dataclass(frozen=True)
class LocalModel:
    path: Path
    source: str
    sha256: str | None
    fetched: bool  # True when this call downloaded it (cold path)
    download_extract_ms: float
    compressed_bytes: int


class _HashingReader(ChunkedReader):
    """Read-ahead + SHA-256 over the S3 body, as a file-like object.

    A helper thread pulls 1 MiB chunks from the HTTP body, hashes them and
    queues them (bounded), so the network transfer overlaps with
    decompression and disk writes in the consuming thread (socket reads,
    zlib and hashlib all release the GIL). Errors from the body are re-raised
    in the consumer.
    """

    _CHUNK = 1 << 20
    _DEPTH = 16  # at most ~16 MiB buffered
    _EOF = object()

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(self._CHUNK)
        self._raw = raw
        self._sha = hashlib.sha256()
        self._queue: queue.Queue = queue.Queue(maxsize=self._DEPTH)
        self._stop = threading.Event()
        self._complete = False  # reached EOF without error
        self.count = 0
        self._thread = threading.Thread(target=self._pump, name="model-download", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._raw.read(self._CHUNK)
                if not data:
                    self._put(self._EOF)
                    return
                self._sha.update(data)
                self.count += len(data)
                if not self._put(data):
                    return
        except BaseException as exc:  # handed to the consumer
            self._put(exc)

    def _next_chunk(self) -> bytes | None:
        item = self._queue.get()
        if item is self._EOF:
            self._complete = True
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def hexdigest(self) -> str:
        if not self._complete:
            raise RuntimeError("hexdigest() before the stream was read to the end")
        return self._sha.hexdigest()

    def close(self) -> None:
        """Stop the helper thread (e.g. when extraction failed half-way)."""
        self._stop.set()
        self._thread.join(timeout=5)


def validate_model_dir(path: Path) -> None:
    """Raise ModelFetchError unless ``path`` looks like a HF model directory."""
    if not path.is_dir():
        raise ModelFetchError(f"model directory {path} does not exist")
    if not (path / "config.json").is_file():
        raise ModelFetchError(f"model directory {path}: config.json is missing")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise ModelFetchError(f"model directory {path}: no weights file (expected one of {', '.join(WEIGHT_FILES)})")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelFetchError(f"model directory {path}: no tokenizer (expected one of {', '.join(TOKENIZER_FILES)})")


def _model_root(scratch: Path) -> Path:
    """Files may sit at the tar root or under exactly one top-level directory."""
    if (scratch / "config.json").is_file():
        return scratch
    entries = [p for p in scratch.iterdir()]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "config.json").is_file():
        return entries[0]
    raise ModelFetchError("config.json not found at the archive root or in a single top-level directory")


def _read_marker(final: Path) -> dict[str, Any] | None:
    try:
        return json.loads((final / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class ModelStore:
    """Per-container model directory manager (see module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.fetch_count = 0  # downloads performed by this process (observability/tests)

    def ensure_local(self, settings: Settings, s3_client_factory) -> LocalModel:
        if settings.model_path is not None:
            validate_model_dir(settings.model_path)
            return LocalModel(settings.model_path, str(settings.model_path), None, False, 0.0, 0)
        with self._lock:
            final = settings.model_dir
            marker = _read_marker(final)
            if marker is not None and self._marker_matches(marker, settings):
                return LocalModel(final, settings.model_s3_uri or "", marker.get("sha256"), False, 0.0, 0)
            return self._fetch(settings, s3_client_factory(settings), final)

    @staticmethod
    def _marker_matches(marker: dict[str, Any], settings: Settings) -> bool:
        if marker.get("source") != settings.model_s3_uri:
            return False
        if settings.model_sha256 and marker.get("sha256") != settings.model_sha256:
            return False
        return True

    def _fetch(self, settings: Settings, s3: Any, final: Path) -> LocalModel:
        bucket, key = settings.model_s3_location
        uri = settings.model_s3_uri or ""
        started = time.perf_counter()
        final.parent.mkdir(parents=True, exist_ok=True)
        self._sweep_leftovers(final)
        scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            self.fetch_count += 1
            try:
                if settings.model_download_parts > 1:  # ranged GETs in parallel (ranged_body.py)
                    ranged = RangedBody(s3, bucket, key, settings.model_download_parts)
                    response = {**ranged.response, "Body": ranged}
                else:
                    response = s3.get_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "Unknown")
                raise ModelFetchError(f"model download failed for {uri}: {code}: {exc}") from exc
            except BotoCoreError as exc:
                raise ModelFetchError(f"model download failed for {uri}: {exc}") from exc
            meta_sha = (response.get("Metadata") or {}).get("sha256", "").strip().lower() or None
            reader = _HashingReader(response["Body"])
            try:
                extract_tar_stream(reader, scratch, TarLimits(settings.max_archive_bytes,
                                                                 settings.max_archive_members))
            except ArchiveError as exc:
                raise ModelFetchError(f"model archive {uri} rejected: {exc}") from exc
            except (BotoCoreError, ClientError, OSError) as exc:
                raise ModelFetchError(f"model download/extract failed for {uri}: {exc}") from exc
            finally:
                reader.close()
                response["Body"].close()
            digest = reader.hexdigest()
            for origin, expected in (("MODEL_SHA256", settings.model_sha256),
                                     ("S3 object metadata sha256", meta_sha)):
                if expected and expected != digest:
                    raise ModelFetchError(
                        f"model archive {uri} checksum mismatch: {origin} expects {expected}, got {digest}")
            try:
                root = _model_root(scratch)
                validate_model_dir(root)
            except ModelFetchError as exc:
                raise ModelFetchError(f"model archive {uri} rejected: {exc}") from None
            (root / MARKER_NAME).write_text(json.dumps({
                "source": uri,
                "sha256": digest,
                "etag": response.get("ETag"),
                "bytes": reader.count,
                "fetched_at": time.time(),
            }), encoding="utf-8")
            self._publish(root, final)
        except BaseException:
            _remove_tree(scratch)
            raise
        _remove_tree(scratch)  # empty now, or the wrapper of a top-level dir
        elapsed_ms = (time.perf_counter() - started) * 1000
        return LocalModel(final, uri, digest, True, elapsed_ms, reader.count)

    @staticmethod
    def _publish(root: Path, final: Path) -> None:
        # A stale/different model at ``final`` is moved aside first; rename()
        # of a directory onto a non-empty directory is not possible.
        if final.exists() or final.is_symlink():
            trash = final.with_name(f".{final.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            os.rename(final, trash)
            _remove_tree(trash)
        os.rename(root, final)

    @staticmethod
    def _sweep_leftovers(final: Path) -> None:
        # Scratch dirs of a crashed earlier attempt (process killed mid-way).
        for prefix in (f".{final.name}.tmp-", f".{final.name}.old-"):
            for stale in final.parent.glob(prefix + "*"):
                _remove_tree(stale)


STORE = ModelStore()
