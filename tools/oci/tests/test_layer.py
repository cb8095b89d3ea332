"""layer.py: the pigz it is given and nothing else compresses a layer (gzip's bytes differ, so would the digest), and
the same tree gives the same bytes."""

import gzip
import json
import os
import shutil
import tarfile

import pytest

from tools.oci import layer

# The pigz toolchain's binary ($(PIGZ) from //tools/oci/toolchains:variables, see BUILD.bazel).
PIGZ = os.environ["OCI_PIGZ"]


def _gzip_and_pigz_on_path():
    """Both would work from PATH, yet layer.py may take neither: only the pigz it is given (the old code looked pigz
    up on PATH and fell back to gzip silently, giving another digest)."""
    gzip_bin = shutil.which("gzip")
    assert gzip_bin and shutil.which("pigz"), "run this test through tools/bazel, whose sysroot has gzip and pigz"
    return gzip_bin


@pytest.mark.parametrize("pigz", [None, "", "/nonexistent/pigz"])
def test_no_pigz_is_an_error_naming_pigz_not_a_gzip_fallback(tmp_path, pigz):
    _gzip_and_pigz_on_path()
    blob, descriptor = tmp_path / "blob.tar.gz", tmp_path / "descriptor.json"
    with pytest.raises(RuntimeError) as raised:
        with layer.gzip_blob(blob, descriptor, pigz) as writer:
            writer.write(b"never compressed")
    message = str(raised.value)
    assert "pigz" in message and "tools/bazel" in message and "sysroot" in message and "toolchain" in message
    assert not blob.exists() and not descriptor.exists()


def test_a_pigz_toolchain_pointing_at_gzip_is_refused(tmp_path):
    gzip_bin = _gzip_and_pigz_on_path()
    with pytest.raises(RuntimeError, match="is not pigz"):
        with layer.gzip_blob(tmp_path / "blob.tar.gz", tmp_path / "descriptor.json", gzip_bin) as writer:
            writer.write(b"never compressed")


def test_write_layer_needs_pigz_too(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "file.txt").write_text("hello\n")
    _gzip_and_pigz_on_path()
    with pytest.raises(RuntimeError, match="pigz"):
        layer.write_layer(root, tmp_path / "blob.tar.gz", tmp_path / "descriptor.json", None)


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
        layer.write_layer(root, blob, descriptor, PIGZ)
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


def test_pigz_options_from_the_environment_are_ignored(tmp_path, monkeypatch):
    # pigz reads $PIGZ as options before its command line's; PIGZ=--zlib (which -n -6 -c does not undo) would write
    # zlib instead of gzip, other bytes from the same recipe.
    root = tmp_path / "root"
    _tree(root)
    descriptors = []
    for options in (None, "--zlib"):
        if options:
            monkeypatch.setenv("PIGZ", options)
        descriptor = tmp_path / f"{options}.json"
        layer.write_layer(root, tmp_path / f"{options}.tar.gz", descriptor, PIGZ)
        descriptors.append(json.loads(descriptor.read_text()))
    assert descriptors[0] == descriptors[1]
