"""safe_tar on local streams: layouts that must work, and the hashing contract."""

import gzip
import hashlib
import io
import tarfile

import pytest
from backports.zstd import compress as zstd_compress

from lambdas.shared.safe_tar import (
    ArchiveLimitError,
    CorruptArchiveError,
    TarLimits,
    UnsafeArchiveError,
    extract_tar_stream,
)
from tools.testing.hostile_tars import _file, _info, build_tar


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.total = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.total += len(chunk)
        return chunk


def test_dot_prefixed_names_and_nested_dirs(tmp_path):
    data = build_tar([
        (_info("./", tarfile.DIRTYPE), None),
        _file("./config.json", b"{}"),
        (_info("./sub", tarfile.DIRTYPE), None),
        _file("./sub/deep/file.txt", b"hello"),
    ])
    stats = extract_tar_stream(io.BytesIO(data), tmp_path)
    assert (tmp_path / "config.json").read_bytes() == b"{}"
    assert (tmp_path / "sub" / "deep" / "file.txt").read_bytes() == b"hello"
    assert stats.files == 2 and stats.bytes_written == 7
    # Archive permissions are not trusted: files are 0644.
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o644


def test_whole_stream_is_consumed_so_the_hash_covers_every_byte(tmp_path):
    data = build_tar([_file("a.txt", b"x" * 1000)])
    stream = _Counting(data)
    extract_tar_stream(stream, tmp_path)
    assert stream.total == len(data)
    assert hashlib.sha256(stream.getvalue()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_even_internal_symlinks_are_rejected(tmp_path):
    data = build_tar([_file("real.json", b"{}"), (_info("config.json", tarfile.SYMTYPE, linkname="real.json"), None)])
    with pytest.raises(UnsafeArchiveError, match="symlink"):
        extract_tar_stream(io.BytesIO(data), tmp_path)


def _raw_tar(members):
    return build_tar(members, compress=False)


def test_concatenated_gzip_members_and_zero_padding_are_accepted(tmp_path):
    raw = _raw_tar([_file("a.txt", b"a" * 5000), _file("b.txt", b"b" * 5000)])
    half = len(raw) // 2
    data = gzip.compress(raw[:half]) + gzip.compress(raw[half:]) + b"\0" * 1024
    extract_tar_stream(io.BytesIO(data), tmp_path)
    assert (tmp_path / "b.txt").read_bytes() == b"b" * 5000


def test_trailing_garbage_after_gzip_is_rejected(tmp_path):
    data = build_tar([_file("a.txt", b"a")]) + b"GARBAGE"
    with pytest.raises(CorruptArchiveError, match="not valid gzip"):
        extract_tar_stream(io.BytesIO(data), tmp_path)


def test_gzip_trailer_crc_is_verified(tmp_path):
    data = bytearray(build_tar([_file("a.txt", b"a" * 100)]))
    data[-8] ^= 0xFF  # CRC-32 field of the gzip trailer
    with pytest.raises(CorruptArchiveError, match="not valid gzip"):
        extract_tar_stream(io.BytesIO(bytes(data)), tmp_path)


def test_zstd_and_plain_tar_are_read_like_gzip(tmp_path):
    raw = _raw_tar([_file("a.txt", b"a" * 5000), _file("b.txt", b"b" * 5000)])
    half = len(raw) // 2
    for name, data in {"zstd": zstd_compress(raw), "zstd_two_frames": zstd_compress(raw[:half]) + zstd_compress(
            raw[half:]), "tar": raw}.items():
        stream = _Counting(data)
        stats = extract_tar_stream(stream, tmp_path / name)
        assert stats.files == 2 and (tmp_path / name / "b.txt").read_bytes() == b"b" * 5000, name
        assert stream.total == len(data), name  # read to the end: the hash covers every byte


def test_truncated_zstd_is_rejected(tmp_path):
    data = zstd_compress(_raw_tar([_file("a.txt", bytes(range(256)) * 400)]))
    with pytest.raises(CorruptArchiveError, match="truncated"):
        extract_tar_stream(io.BytesIO(data[:-20]), tmp_path)


def test_corrupt_zstd_is_rejected(tmp_path):
    from backports.zstd import CompressionParameter, compress

    data = bytearray(compress(_raw_tar([_file("a.txt", b"a" * 5000)]),
                              options={CompressionParameter.checksum_flag: 1}))
    data[-2] ^= 0xFF  # the frame's content checksum
    with pytest.raises(CorruptArchiveError, match="not valid zstd"):
        extract_tar_stream(io.BytesIO(bytes(data)), tmp_path)


def test_zstd_bomb_is_bounded(tmp_path):
    # A few KB that decompress to a 64 MiB member: rejected by the limits before it is all decoded or written.
    data = zstd_compress(_raw_tar([_file("zeros", bytes(64 << 20))]))
    assert len(data) < 100_000
    with pytest.raises(ArchiveLimitError):
        extract_tar_stream(io.BytesIO(data), tmp_path, TarLimits(max_total_bytes=1 << 20, max_members=10))


def test_garbage_is_neither_format(tmp_path):
    with pytest.raises(CorruptArchiveError, match="not valid gzip, zstd or tar"):
        extract_tar_stream(io.BytesIO(b"this is not an archive at all" * 10), tmp_path)


def test_empty_stream_is_truncated(tmp_path):
    with pytest.raises(CorruptArchiveError, match="truncated"):
        extract_tar_stream(io.BytesIO(b""), tmp_path)


def test_limits_are_exact(tmp_path):
    data = build_tar([_file("a", b"x" * 100), _file("b", b"y" * 100)])
    for name in ("ok", "too_big", "too_many"):
        (tmp_path / name).mkdir()
    stats = extract_tar_stream(io.BytesIO(data), tmp_path / "ok", TarLimits(max_total_bytes=200, max_members=2))
    assert stats.members == 2
    with pytest.raises(ArchiveLimitError, match="exceeds 199 bytes"):
        extract_tar_stream(io.BytesIO(data), tmp_path / "too_big", TarLimits(max_total_bytes=199, max_members=2))
    with pytest.raises(ArchiveLimitError, match="more than 1 members"):
        extract_tar_stream(io.BytesIO(data), tmp_path / "too_many", TarLimits(max_total_bytes=200, max_members=1))
