"""The model artifact's bytes as a tar stream, whatever it was packed with: gzip, zstd or nothing.

The format is told by the stream's first bytes, not by the S3 key: the upstream project's ``model.tar.gz`` keeps
working, and ``tools/model/publish.py`` may put a ``model.tar.zst`` or ``model.tar`` beside it; which one the
function reads is the deployment's choice of MODEL_S3_URI.

Why not zlib for gzip: under Lambda's ~1.16 vCPUs the cold path's decompression competes with the
torch/transformers import for the same CPU, so its cost lands on the cold start. ISA-L's inflate (the ``isal``
package, Intel's library behind a zlib-compatible API) does the same work in about half the CPU time (bench/REPORT.md,
"Cold path levers"). zstd decodes faster still, and a plain tar costs nothing to decode.

Every reader bounds what one read() returns (a small input cannot balloon memory) and reports a stream that ends
early as CorruptArchiveError.
"""

from __future__ import annotations

from typing import BinaryIO

from backports.zstd import ZstdDecompressor, ZstdError
from isal import isal_zlib

from lambdas.shared.chunked_reader import ChunkedReader

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP, ZSTD, TAR = "gzip", "zstd", "tar"
_STEP = 1 << 20


class CorruptStreamError(ValueError):
    """The compressed stream is invalid or truncated (safe_tar raises it as CorruptArchiveError)."""


class _Prefixed:
    """RAW with HEAD (bytes already read from it to tell the format) put back in front."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head, self._raw = head, raw

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                out, self._head = self._head + self._raw.read(), b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._raw.read(size)


class GunzipReader(ChunkedReader):
    """Streaming gunzip in 1 MiB steps, with ISA-L's inflate behind zlib's decompressobj API.

    Gzip mode (wbits=31) parses the header and verifies the CRC-32 and length trailer in C; corruption and a stream
    that ends early raise CorruptStreamError - the checks GzipFile does, without its per-8-KiB Python overhead.
    Concatenated gzip members and trailing zero padding are accepted, like gzip(1).
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(_STEP)
        self._raw = raw
        self._d = isal_zlib.decompressobj(wbits=31)

    def _next_input(self) -> bytes | None:
        """Compressed bytes to feed next, or None at a clean end of stream."""
        if self._d.unconsumed_tail:
            return self._d.unconsumed_tail
        if not self._d.eof:
            data = self._raw.read(_STEP)
            if not data:
                raise CorruptStreamError(
                    "archive is truncated: compressed stream ended before the end-of-stream marker")
            return data
        rest = self._d.unused_data
        while True:  # member finished: another member, zero padding, or the end
            rest = rest.lstrip(b"\0")
            if rest:
                # ISA-L waits for a whole header before judging one (zlib fails at the first wrong byte): check
                # the magic here, or a short tail of garbage would pass for a truncated member.
                if len(rest) < len(GZIP_MAGIC):
                    rest += self._raw.read(_STEP)
                if not rest.startswith(GZIP_MAGIC):
                    raise CorruptStreamError("archive is not valid gzip: data after the last member is not gzip")
                self._d = isal_zlib.decompressobj(wbits=31)
                return rest
            rest = self._raw.read(_STEP)
            if not rest:
                return None

    def _next_chunk(self) -> bytes | None:
        data = self._next_input()
        if data is None:
            return None
        try:
            return self._d.decompress(data, _STEP)
        except isal_zlib.error as exc:
            raise CorruptStreamError(f"archive is not valid gzip: {exc}") from None


class ZstdReader(ChunkedReader):
    """Streaming zstd in 1 MiB steps: Python 3.14's compression.zstd API (backports.zstd on 3.11).

    One decompressor per frame, like gzip members; a stream cut inside a frame raises CorruptStreamError (the frame
    never reaches eof), and so does a corrupt one (zstd checks the frame's content checksum when it has one).
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(_STEP)
        self._raw = raw
        self._d = ZstdDecompressor()

    def _next_chunk(self) -> bytes | None:
        try:
            if self._d.eof:  # frame finished: another frame, or the end
                rest = self._d.unused_data or self._raw.read(_STEP)
                if not rest:
                    return None
                self._d = ZstdDecompressor()
                return self._d.decompress(rest, _STEP)
            if self._d.needs_input:
                data = self._raw.read(_STEP)
                if not data:
                    raise CorruptStreamError("archive is truncated: zstd stream ended inside a frame")
                return self._d.decompress(data, _STEP)
            return self._d.decompress(b"", _STEP)  # output still buffered from the last input
        except ZstdError as exc:
            raise CorruptStreamError(f"archive is not valid zstd: {exc}") from None


def tar_stream(raw: BinaryIO) -> tuple[str, BinaryIO]:
    """(format, the decompressed tar stream) for RAW, told by its first bytes; anything else is taken as a tar."""
    head = b""
    while len(head) < len(ZSTD_MAGIC):  # a network body may return fewer bytes than asked
        more = raw.read(len(ZSTD_MAGIC) - len(head))
        if not more:
            break
        head += more
    prefixed = _Prefixed(head, raw)
    if head.startswith(GZIP_MAGIC):
        return GZIP, GunzipReader(prefixed)
    if head.startswith(ZSTD_MAGIC):
        return ZSTD, ZstdReader(prefixed)
    return TAR, prefixed
