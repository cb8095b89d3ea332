"""``read(size)`` over a source that produces bytes a chunk at a time.

The model download (hashing read-ahead) and the gunzip step both produce chunks; tarfile wants a file object.
This base class does the buffering once: a subclass says how to get the next chunk.
"""

from __future__ import annotations


class ChunkedReader:
    """A minimal binary file object: subclasses implement ``_next_chunk``."""

    def __init__(self, step: int) -> None:
        self._step = step  # chunk size asked for by read() without a size
        self._buf = b""
        self._pos = 0
        self._exhausted = False  # the source ended or failed: read() returns b"" from now on

    def _next_chunk(self) -> bytes | None:
        """The next bytes (may be empty: asked again), or None at the end of the stream."""
        raise NotImplementedError

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(self._step), b""))
        while self._pos >= len(self._buf):
            if self._exhausted:
                return b""
            try:
                chunk = self._next_chunk()
            except BaseException:
                self._exhausted = True
                raise
            if chunk is None:
                self._exhausted = True
                return b""
            self._buf, self._pos = chunk, 0
        out = self._buf[self._pos:self._pos + size]
        self._pos += len(out)
        return out
