"""Safe, streaming extraction of an untrusted model archive: a tar, gzip- or zstd-compressed or plain.

The model tarball is read straight from the network (no temp file), so the
archive is consumed in stream mode (``tarfile`` mode ``"r|"``) and every
member is vetted *before* anything is written:

* only regular files and directories are extracted - symlinks, hardlinks,
  character/block devices, FIFOs and sparse files are rejected (a model
  directory never needs them, and links are the classic way to write outside
  the target);
* names must be relative and must not contain ``..``;
* the number of members and the total declared size are capped, and the
  decompressed byte stream itself is capped too (this bounds tar headers and
  padding, i.e. gzip bombs that are not made of file data);
* files are created with ``O_EXCL | O_NOFOLLOW`` and mode 0644, never with
  the archive's owners/permissions.

Decompression is done by decompress.py's readers (the format told by the
first bytes) instead of tarfile's own ``"r|gz"``: they verify the gzip
CRC-32/length trailer and report truncation (tarfile's stream mode checks
neither), bound the decompressed output, and work in 1 MiB steps for speed.

The caller extracts into an empty scratch directory and only publishes it
after success (see ``model_store``), so a rejected archive leaves nothing
usable behind.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lambdas.shared.decompress import TAR, CorruptStreamError, tar_stream

_CHUNK = 1 << 20
# Per-member allowance for tar headers/padding when bounding the raw stream.
_HEADER_ALLOWANCE = 3 * 512
_STREAM_SLACK = 1 << 20


class ArchiveError(ValueError):
    """Base class: the archive cannot be extracted safely."""


class UnsafeArchiveError(ArchiveError):
    """A member is dangerous (link, device, traversal, absolute path...)."""


class ArchiveLimitError(ArchiveError):
    """The archive exceeds a configured size or member-count limit."""


class CorruptArchiveError(ArchiveError):
    """The archive is not valid gzip/tar, or is truncated."""


@dataclass(frozen=True)
class TarLimits:
    max_total_bytes: int = 2 * 1024**3
    max_members: int = 10000


@dataclass(frozen=True)
class ExtractStats:
    members: int
    files: int
    bytes_written: int


class _BoundedReader:
    """Counts decompressed bytes and aborts once they exceed the cap."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise ArchiveLimitError(f"decompressed archive stream exceeds {self._limit} bytes")
        return data


def _member_path(name: str) -> PurePosixPath | None:
    """Validated relative path of a member, or None for the root ('.')."""
    if not name or "\x00" in name:
        raise UnsafeArchiveError(f"member {name!r}: empty or invalid name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"member {name!r}: absolute path not allowed")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise UnsafeArchiveError(f"member {name!r}: path traversal ('..') not allowed")
    parts = [p for p in path.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _check_type(member: tarfile.TarInfo) -> None:
    name = member.name
    if member.issym():
        raise UnsafeArchiveError(f"member {name!r}: symlink (-> {member.linkname!r}) not allowed")
    if member.islnk():
        raise UnsafeArchiveError(f"member {name!r}: hardlink (-> {member.linkname!r}) not allowed")
    if member.ischr() or member.isblk():
        raise UnsafeArchiveError(f"member {name!r}: device file not allowed")
    if member.isfifo():
        raise UnsafeArchiveError(f"member {name!r}: FIFO not allowed")
    if member.issparse():
        raise UnsafeArchiveError(f"member {name!r}: sparse file not allowed")
    if not (member.isreg() or member.isdir()):
        raise UnsafeArchiveError(f"member {name!r}: unsupported member type {member.type!r}")


def _inside(root: str, target: Path) -> bool:
    resolved = os.path.realpath(target)
    return resolved == root or resolved.startswith(root + os.sep)


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> int:
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - isreg() members always have data
        raise CorruptArchiveError(f"member {member.name!r}: no data")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        raise UnsafeArchiveError(f"member {member.name!r}: duplicate entry") from None
    written = 0
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                break
            out.write(chunk)
            written += len(chunk)
    if written != member.size:
        raise CorruptArchiveError(
            f"member {member.name!r}: truncated ({written} of {member.size} bytes)")
    return written


def extract_tar_stream(fileobj: BinaryIO, dest: Path, limits: TarLimits = TarLimits()) -> ExtractStats:
    """Extract a tar stream (gzip, zstd or uncompressed, see decompress.py) into the existing directory ``dest``.

    Reads ``fileobj`` strictly sequentially and to its end (so a wrapping
    hash reader sees every byte). Raises an :class:`ArchiveError` subclass
    describing the first problem; on error, ``dest`` may hold partial output
    and must be discarded by the caller.
    """
    dest = Path(dest)
    root = os.path.realpath(dest)
    stream_cap = limits.max_total_bytes + limits.max_members * _HEADER_ALLOWANCE + _STREAM_SLACK
    members = files = total_declared = written = 0
    fmt = TAR
    try:
        fmt, stream = tar_stream(fileobj)
        bounded = _BoundedReader(stream, stream_cap)
        with tarfile.open(fileobj=bounded, mode="r|", bufsize=_CHUNK) as tar:
            for member in tar:
                members += 1
                if members > limits.max_members:
                    raise ArchiveLimitError(f"archive has more than {limits.max_members} members")
                rel = _member_path(member.name)
                _check_type(member)
                if member.isreg():
                    total_declared += member.size
                    if total_declared > limits.max_total_bytes:
                        raise ArchiveLimitError(
                            f"archive content exceeds {limits.max_total_bytes} bytes uncompressed")
                if rel is None:
                    if member.isreg():
                        raise UnsafeArchiveError(f"member {member.name!r}: file without a name")
                    continue
                target = dest.joinpath(*rel.parts)
                # Defence in depth: nothing we create is a link, but check anyway.
                if not _inside(root, target.parent) or target.is_symlink():
                    raise UnsafeArchiveError(f"member {member.name!r}: resolves outside the target")
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True, mode=0o755)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
                written += _write_file(tar, member, target)
                files += 1
        # Read to the end of the gzip stream(s): verifies the CRC/length
        # trailer and lets the caller's hash reader see every byte.
        while bounded.read(_CHUNK):
            pass
    except ArchiveError:
        raise
    except CorruptStreamError as exc:
        raise CorruptArchiveError(str(exc)) from None
    except (EOFError, tarfile.ReadError, tarfile.TarError) as exc:
        if fmt == TAR and members == 0:  # not even one tar header: neither compressed nor a tar
            raise CorruptArchiveError(f"archive is truncated or not valid gzip, zstd or tar: {exc}") from exc
        raise CorruptArchiveError(f"archive ({fmt}) is truncated or not a valid tar: {exc}") from exc
    if members == 0:
        raise CorruptArchiveError("archive is empty")
    return ExtractStats(members=members, files=files, bytes_written=written)
