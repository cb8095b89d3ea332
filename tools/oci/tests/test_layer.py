"""layer.py: pigz and nothing else compresses a layer (gzip's bytes differ, so would the digest), and the same tree
gives the same bytes."""

import gzip
import json
import os
import shutil
import tarfile

import pytest

from tools.oci import layer


def _path_with_only(tmp_path, *tools):
    """A PATH directory holding just TOOLS (symlinks to the real ones)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        assert real, f"{tool} not on PATH: run this test through tools/bazel, whose sysroot has it"
        (bin_dir / tool).symlink_to(real)
    return str(bin_dir)


def test_no_pigz_is_an_error_naming_pigz_not_a_gzip_fallback(tmp_path, monkeypatch):
    # gzip is there and would work: the old code fell back to it silently, giving another digest.
    monkeypatch.setenv("PATH", _path_with_only(tmp_path, "gzip"))
    blob, descriptor = tmp_path / "blob.tar.gz", tmp_path / "descriptor.json"
    with pytest.raises(RuntimeError) as raised:
        with layer.gzip_blob(blob, descriptor) as writer:
            writer.write(b"never compressed")
    message = str(raised.value)
    assert "pigz" in message and "tools/bazel" in message and "sysroot" in message
    assert not blob.exists() and not descriptor.exists()


def test_write_layer_needs_pigz_too(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    (root / "file.txt").write_text("hello\n")
    monkeypatch.setenv("PATH", _path_with_only(tmp_path, "gzip"))
    with pytest.raises(RuntimeError, match="pigz"):
        layer.write_layer(root, tmp_path / "blob.tar.gz", tmp_path / "descriptor.json")


def _tree(root):
    (root / "app").mkdir(parents=True)
    (root / "app/main.py").write_text("print('hi')\n")
    (root / "app/run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "app/run.sh", 0o700)
    (root / "app/link").symlink_to("main.py")


def test_same_tree_same_bytes_with_pigz_headers(tmp_path):
    digests = []
    for name in ("one", "two"):
        root = tmp_path / name
        _tree(root)
        os.utime(root / "app/main.py", (1, 1) if name == "one" else (2_000_000_000, 2_000_000_000))
        blob, descriptor = tmp_path / f"{name}.tar.gz", tmp_path / f"{name}.json"
        layer.write_layer(root, blob, descriptor)
        digests.append(json.loads(descriptor.read_text())["digest"])
        data = blob.read_bytes()
        assert data[:2] == b"\x1f\x8b"
        assert data[3] & 0x08 == 0, "a file name in the gzip header (pigz -n leaves none)"
        assert data[4:8] == b"\0\0\0\0", "a timestamp in the gzip header (pigz -n leaves none)"
        with tarfile.open(fileobj=gzip.open(blob)) as tar:
            members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["app", "app/link", "app/main.py", "app/run.sh"]
        assert {m.mtime for m in members.values()} == {layer.EPOCH}
        assert members["app/run.sh"].mode == 0o755 and members["app/main.py"].mode == 0o644
    assert digests[0] == digests[1]
