"""An S3 object read as several ranged GETs at once, handed on in order as one file-like body.

One GET from S3 is one TCP stream, and one stream's throughput is what a network-bound download gets; several
ranges in flight add streams. The cost is CPU (more requests and threads), which under Lambda's ~1.16 vCPUs competes
with the torch import: bench/REPORT.md says what it bought here. MODEL_DOWNLOAD_PARTS > 1 turns it on (model_store);
the default is one plain GET.

The first range's response supplies the object's size (Content-Range), metadata and ETag; every later range is
asked with If-Match on that ETag, so an object replaced mid-download fails the fetch instead of mixing two objects.
At most ``in_flight`` ranges are held in memory.
"""

from __future__ import annotations

import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

PART_BYTES = 8 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class RangedBody:
    """read(size) over the object, parts fetched by WORKERS threads, at most 2 x WORKERS parts held."""

    def __init__(self, s3: Any, bucket: str, key: str, workers: int, part_bytes: int | None = None) -> None:
        part_bytes = part_bytes or PART_BYTES
        self._s3, self._bucket, self._key, self._part = s3, bucket, key, part_bytes
        first = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{part_bytes - 1}")
        self.response = first  # metadata and ETag for the caller, as a plain get_object's
        match = _CONTENT_RANGE.fullmatch(first.get("ContentRange", ""))
        self.size = int(match.group(3)) if match else int(first["ContentLength"])
        self._etag = first.get("ETag")
        self._starts = iter(range(part_bytes, self.size, part_bytes))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model-range")
        self._pending: deque[Future] = deque()
        self._in_flight = 2 * workers
        for _ in range(self._in_flight):
            self._submit()
        self._buf = memoryview(first["Body"].read())
        self._pos = 0

    def _submit(self) -> None:
        start = next(self._starts, None)
        if start is not None:
            self._pending.append(self._pool.submit(self._get, start, min(start + self._part, self.size) - 1))

    def _get(self, start: int, end: int) -> bytes:
        extra = {"IfMatch": self._etag} if self._etag else {}
        body = self._s3.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={start}-{end}", **extra)["Body"]
        try:
            data = body.read()
        finally:
            body.close()
        if len(data) != end - start + 1:
            raise OSError(f"range {start}-{end} of s3://{self._bucket}/{self._key}: got {len(data)} bytes")
        return data

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._buf):
            if not self._pending:
                return b""
            self._buf, self._pos = memoryview(self._pending.popleft().result()), 0
            self._submit()
        end = len(self._buf) if size is None or size < 0 else self._pos + size
        out = bytes(self._buf[self._pos:end])
        self._pos += len(out)
        return out

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
