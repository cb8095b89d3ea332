"""Writes a staged directory tree as a reproducible, gzip-compressed OCI layer plus its descriptor.

Reproducible means: entries sorted by path, every mtime the same fixed value, owner root:root (unless a path
says otherwise), modes normalised, PAX format without access/change times, and gzip without file name or
timestamp (pigz -n). The same tree gives the same bytes, hence the same digest, on any machine.
"""

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
# 2000-01-01T00:00:00Z: fixed, and late enough that no tool mistakes it for "unset".
EPOCH = 946684800


class _HashingWriter:
    """File-like sink that hashes and counts what passes through on its way to another stream."""

    def __init__(self, sink):
        self.sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def flush(self) -> None:
        self.sink.flush()


def _normalised_mode(path: str, st: os.stat_result, modes: dict[str, int]) -> int:
    if path in modes:
        return modes[path]
    if stat.S_ISDIR(st.st_mode):
        return 0o755
    return 0o755 if st.st_mode & 0o111 else 0o644


def _entries(root: Path) -> list[str]:
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            paths.append(name if rel == "." else f"{rel}/{name}")
    return sorted(paths)


PIGZ_MISSING = (
    "layer: no pigz at {pigz!r}. Layers are compressed with pigz only: gzip, or another pigz version, gives different "
    "bytes and so a different digest. The rules pass the pigz toolchain's binary (//tools/oci/toolchains; by default "
    "the Debian sysroot's /usr/bin/pigz, tools/sysroot/packages.txt): build through tools/bazel, which runs Bazel "
    "inside that sysroot, rather than a host Bazel."
)


def _compressor(pigz: str | None) -> list[str]:
    """pigz -n (no name, no timestamp), or an error: never another compressor, whose bytes would differ.

    PIGZ is the program the toolchain names; it is checked to be pigz, so a toolchain pointing at gzip fails here
    instead of shipping gzip's bytes.
    """
    if not pigz or shutil.which(pigz) is None:
        raise RuntimeError(PIGZ_MISSING.format(pigz=pigz))
    version = subprocess.run([pigz, "--version"], capture_output=True, text=True, env=_pigz_environment())
    said = version.stdout + version.stderr
    if not said.startswith("pigz "):
        raise RuntimeError(f"layer: {pigz} is not pigz (its --version says {said[:60]!r}); layers are compressed "
                           "with pigz only")
    return [pigz, "-n", "-6", "-c"]


def _pigz_environment() -> dict[str, str]:
    """This process's environment without PIGZ, which pigz reads as extra options (e.g. PIGZ=-9: other bytes)."""
    return {key: value for key, value in os.environ.items() if key != "PIGZ"}


def add_output_arguments(parser) -> None:
    """--out, --descriptor and --pigz, which every layer tool takes."""
    parser.add_argument("--out", type=Path, required=True, help="the layer blob (.tar.gz) to write")
    parser.add_argument("--descriptor", type=Path, required=True, help="the descriptor JSON to write")
    parser.add_argument("--pigz", required=True, help="the pigz binary (the rules pass the pigz toolchain's)")


@contextlib.contextmanager
def gzip_blob(blob_out: Path, descriptor_out: Path, pigz: str | None, **extra):
    """Yields a writer for a layer's uncompressed tar stream; on exit BLOB_OUT holds it compressed by PIGZ
    (pigz -n: no name, no timestamp) and DESCRIPTOR_OUT its descriptor: mediaType, digest, size, diff_id,
    uncompressed_size and EXTRA.
    """
    compressor = _compressor(pigz)
    with open(blob_out, "wb") as out:
        proc = subprocess.Popen(compressor, stdin=subprocess.PIPE, stdout=out, env=_pigz_environment())
        writer = _HashingWriter(proc.stdin)
        yield writer
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError(f"layer: pigz failed with exit code {proc.returncode}")

    blob_sha = hashlib.sha256()
    with open(blob_out, "rb") as blob:
        for chunk in iter(lambda: blob.read(1 << 20), b""):
            blob_sha.update(chunk)
    descriptor = {
        "mediaType": LAYER_MEDIA_TYPE,
        "digest": f"sha256:{blob_sha.hexdigest()}",
        "size": blob_out.stat().st_size,
        "diff_id": f"sha256:{writer.sha256.hexdigest()}",
        "uncompressed_size": writer.size,
        **extra,
    }
    descriptor_out.write_text(json.dumps(descriptor, indent=2, sort_keys=True) + "\n")


def write_layer(root: Path, blob_out: Path, descriptor_out: Path, pigz: str | None,
                modes: dict[str, int] | None = None, owners: dict[str, tuple[int, int]] | None = None) -> None:
    """Tars ROOT's contents (paths relative to it become absolute in the image) into BLOB_OUT, compressed by PIGZ.

    modes/owners override the normalised mode or the root:root owner of given relative paths (e.g. "tmp").
    Writes the descriptor (see gzip_blob) with the entry count.
    """
    modes = modes or {}
    owners = owners or {}
    entries = _entries(root)
    with gzip_blob(blob_out, descriptor_out, pigz, entries=len(entries)) as writer:
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for rel in entries:
                full = root / rel
                st = full.lstat()
                info = tarfile.TarInfo(rel)
                info.mtime = EPOCH
                info.uid, info.gid = owners.get(rel, (0, 0))
                info.uname = info.gname = "root" if info.uid == 0 else ""
                info.mode = _normalised_mode(rel, st, modes)
                if stat.S_ISLNK(st.st_mode):
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(full)
                    info.mode = 0o777
                    tar.addfile(info)
                elif stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    info.size = st.st_size
                    with open(full, "rb") as data:
                        tar.addfile(info, data)
                else:
                    raise ValueError(f"layer: {rel} is neither file, directory nor symlink; refusing to pack it")


def compile_bytecode(directory: Path, stage_root: Path) -> None:
    """Precompiles every .py under DIRECTORY for this interpreter (the image's), with hash-based .pyc.

    The image's root file system is read-only in Lambda, so byte code that is not shipped is recompiled on every
    cold start. Hash-based (unchecked) .pyc carry no timestamps, so they are reproducible; co_filename is the
    path inside the image, so tracebacks point at real files.
    """
    import compileall
    import py_compile

    # The result is not checked: some packages ship .py files that are not valid for this Python (templates,
    # py2 leftovers); those stay source-only, exactly as pip leaves them.
    compileall.compile_dir(
        str(directory),
        quiet=2,
        stripdir=str(stage_root),
        prependdir="/",
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        workers=0,
    )
