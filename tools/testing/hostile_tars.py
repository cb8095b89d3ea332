"""Malicious / broken model tarballs for the extraction tests.

Each case is a valid model archive with one thing wrong (usually appended
after the genuine model files, so partial extraction really happens before
the rejection and the cleanup is exercised too).
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Member = tuple[tarfile.TarInfo, bytes | None]


def _info(name: str, type_: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = type_
    info.size = size
    info.linkname = linkname
    info.mode = 0o644
    return info


def _file(name: str, data: bytes) -> Member:
    return _info(name, size=len(data)), data


def model_members(model_dir: Path, prefix: str = "") -> list[Member]:
    out = []
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        out.append(_file(prefix + path.relative_to(model_dir).as_posix(), path.read_bytes()))
    return out


def build_tar(members: list[Member], *, compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    data = raw.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


@dataclass(frozen=True)
class HostileCase:
    name: str
    build: Callable[[Path], bytes]
    expected: str  # substring of the error message
    env: dict[str, str] = field(default_factory=dict)  # settings overrides
    wrong_sha256: bool = False  # configure MODEL_SHA256 to a wrong value
    wrong_metadata_sha256: bool = False  # upload with a wrong sha256 user metadata


def _with(extra: list[Member]) -> Callable[[Path], bytes]:
    return lambda model_dir: build_tar(model_members(model_dir) + extra)


def _truncated(model_dir: Path) -> bytes:
    data = build_tar(model_members(model_dir))
    return data[: len(data) // 2]


def _corrupt(model_dir: Path) -> bytes:
    data = bytearray(build_tar(model_members(model_dir)))
    mid = len(data) // 2
    for i in range(mid, mid + 64):
        data[i] ^= 0xA5
    return bytes(data)


def _missing_config(model_dir: Path) -> bytes:
    return build_tar([m for m in model_members(model_dir) if m[0].name != "config.json"])


def _two_top_dirs(model_dir: Path) -> bytes:
    members = model_members(model_dir, "a/")
    return build_tar(members + [_file("b/readme.txt", b"x")])


def _zero_bomb(model_dir: Path) -> bytes:
    # 64 MiB of zeros: an "empty" tar whose decompressed stream is huge.
    return gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=1, mtime=0)


CASES: list[HostileCase] = [
    HostileCase("traversal", _with([_file("../evil.txt", b"x")]), "path traversal"),
    HostileCase("nested_traversal", _with([_file("sub/../../evil.txt", b"x")]), "path traversal"),
    HostileCase("absolute_path", _with([_file("/tmp/evil-absolute.txt", b"x")]), "absolute path"),
    HostileCase("symlink_escape", _with([(_info("escape", tarfile.SYMTYPE, linkname="../../../etc/passwd"), None)]),
                "symlink"),
    HostileCase("symlink_absolute", _with([(_info("abs", tarfile.SYMTYPE, linkname="/etc/passwd"), None)]),
                "symlink"),
    HostileCase("hardlink_escape", _with([(_info("hard", tarfile.LNKTYPE, linkname="../outside.txt"), None)]),
                "hardlink"),
    HostileCase("char_device", _with([(_info("null", tarfile.CHRTYPE), None)]), "device"),
    HostileCase("block_device", _with([(_info("sda", tarfile.BLKTYPE), None)]), "device"),
    HostileCase("fifo", _with([(_info("pipe", tarfile.FIFOTYPE), None)]), "FIFO"),
    HostileCase("oversize_total", _with([_file("big.bin", b"\0" * (2 * 1024 * 1024))]),
                "exceeds", env={"MODEL_MAX_UNCOMPRESSED_BYTES": str(1024 * 1024)}),
    HostileCase("too_many_members", _with([_file(f"f{i}.txt", b"x") for i in range(40)]),
                "more than 20 members", env={"MODEL_MAX_MEMBERS": "20"}),
    HostileCase("zero_bomb", _zero_bomb, "exceeds", env={"MODEL_MAX_UNCOMPRESSED_BYTES": str(1024 * 1024),
                                                         "MODEL_MAX_MEMBERS": "10"}),
    HostileCase("duplicate_member", _with([_file("config.json", b"{}")]), "duplicate entry"),
    HostileCase("truncated_gzip", _truncated, "truncated"),
    HostileCase("corrupt_gzip", _corrupt, "rejected: archive"),
    HostileCase("not_a_tar_inside_gzip", lambda d: gzip.compress(b"this is not a tar" * 100), "not a valid tar"),
    HostileCase("random_bytes", lambda d: b"this is not an archive at all" * 10, "not valid gzip"),
    HostileCase("missing_config_json", _missing_config, "config.json not found"),
    HostileCase("two_top_level_dirs", _two_top_dirs, "config.json not found"),
    HostileCase("wrong_checksum_env", lambda d: build_tar(model_members(d)), "checksum mismatch",
                wrong_sha256=True),
    HostileCase("wrong_checksum_metadata", lambda d: build_tar(model_members(d)), "checksum mismatch",
                wrong_metadata_sha256=True),
]
