"""Pack a model directory as a reproducible ``.tar.gz`` (or ``.tar.zst`` / ``.tar``): the same directory gives the
same bytes on any machine.

Why not ``tar -czf``: GNU tar records each file's mtime, owner and mode and gzip records the archive's name and
time, so two packs of one directory differ and a checksum pinned in the deployment (MODEL_SHA256) would mean
nothing. Here members are sorted, mtimes are 0, owners are root/root without names, modes are 0644 (files) and 0755
(directories), and the gzip header carries neither a name nor a time (Python's gzip always writes OS = unknown).
The compressed bytes then depend only on the content and on zlib, which the pinned sysroot fixes (zstd: on the
locked backports.zstd wheel, which bundles its libzstd).

Why other formats beside the compatible ``.tar.gz``: the function decompresses on its cold path, on Lambda's ~1.16
vCPUs and in competition with the torch import. Float weights hardly compress (a full DistilBERT: 268 MB of
safetensors, 248 MB gzipped), so a ``.tar.zst`` (decoded several times faster than gzip) or a plain ``.tar`` (nothing
to decode, 8 % more bytes to download) saves that CPU; the function tells the format by the first bytes.

Files and directories whose name starts with "." are left out: they are not part of a Hugging Face model but
download state (huggingface_hub's ``.cache/``), VCS files or the function's own completion marker, and would
make the same model pack differently. File symlinks (a hub cache's snapshot links to its blobs) are packed as the
regular files they point to: the function's extractor refuses links.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from backports.zstd import CompressionParameter, ZstdFile  # the standard library's compression.zstd from 3.14 on

# gzip's and `tar -czf`'s own level: 9 takes about twice as long on float weights for a few per cent.
COMPRESS_LEVEL = 6
# zstd's default level; higher levels gain little on float weights and decode no faster.
ZSTD_LEVEL = 3
# Artifact formats by file suffix: the compression each one writes (None: a plain tar).
FORMATS = {"tar.gz": "gzip", "tar.zst": "zstd", "tar": None}
# The Content-Type an artifact of each format is uploaded with.
CONTENT_TYPES = {"tar.gz": "application/gzip", "tar.zst": "application/zstd", "tar": "application/x-tar"}


def model_files(model_dir: Path) -> list[str]:
    """The files of model_dir that are packed, as sorted POSIX paths relative to it (see the module docstring)."""
    found = []
    for path in Path(model_dir).rglob("*"):
        rel = path.relative_to(model_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found.append(rel.as_posix())
    return sorted(found)


def _directories(names: list[str]) -> set[str]:
    return {"/".join(name.split("/")[:i]) for name in names for i in range(1, name.count("/") + 1)}


def write_tar_gz(out: BinaryIO, model_dir: Path, *, top_dir: str | None = None,
                 extra_files: Mapping[str, bytes] | None = None) -> None:
    """Write model_dir's files as a .tar.gz to out, at the root or under top_dir.

    extra_files (name -> content) are added beside them and replace a file of the same name (publish.json).
    """
    write_archive(out, model_dir, "tar.gz", top_dir=top_dir, extra_files=extra_files)


@contextlib.contextmanager
def _compressed(out: BinaryIO, fmt: str):
    """OUT wrapped in FMT's compressor (FORMATS), closed (trailer written) on leaving the block."""
    compression = FORMATS[fmt]
    if compression is None:
        yield out
    elif compression == "gzip":
        # filename="" keeps the output file's name out of the gzip header; mtime=0 keeps the time out.
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=COMPRESS_LEVEL) as gz:
            yield gz
    else:
        # The content checksum lets the function's reader detect corruption, as gzip's CRC-32 does.
        with ZstdFile(out, mode="wb", options={CompressionParameter.compression_level: ZSTD_LEVEL,
                                               CompressionParameter.checksum_flag: 1}) as zst:
            yield zst


def write_archive(out: BinaryIO, model_dir: Path, fmt: str, *, top_dir: str | None = None,
                  extra_files: Mapping[str, bytes] | None = None) -> None:
    """write_tar_gz() in format FMT (a key of FORMATS): the same tar, compressed with gzip, zstd or nothing."""
    extra = dict(extra_files or {})
    sources: dict[str, Path | bytes] = {name: Path(model_dir, name) for name in model_files(model_dir)
                                        if name not in extra}
    sources.update(extra)
    prefix = f"{top_dir}/" if top_dir else ""
    names = sorted(prefix + name for name in sources)
    directories = _directories(names)
    with _compressed(out, fmt) as stream, tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(names + list(directories)):
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if name in directories:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            info.mode = 0o644
            source = sources[name[len(prefix):]]
            if isinstance(source, bytes):
                info.size = len(source)
                tar.addfile(info, io.BytesIO(source))
                continue
            info.size = source.stat().st_size
            with open(source, "rb") as fh:
                tar.addfile(info, fh)


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
