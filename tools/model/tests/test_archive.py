"""Packing: the same directory gives the same bytes wherever it lies and whatever its files' times and modes."""

import gzip
import io
import os
import shutil
import tarfile

from tools.model.archive import write_tar_gz


def _pack(model_dir, **kwargs) -> bytes:
    out = io.BytesIO()
    write_tar_gz(out, model_dir, top_dir="model", **kwargs)
    return out.getvalue()


def _pack_to_file(model_dir, path) -> bytes:
    with open(path, "wb") as out:  # a named file: GzipFile would put its name in the header unless told not to
        write_tar_gz(out, model_dir, top_dir="model")
    return path.read_bytes()


def test_same_directory_same_bytes_wherever_it_lies(tiny_model_artifact, tmp_path):
    first = _pack_to_file(tiny_model_artifact.model_dir, tmp_path / "a.tar.gz")
    # Another checkout on another machine: other path, file times, permissions and creation order.
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(tiny_model_artifact.model_dir, copy)
    for path in copy.iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
        path.chmod(0o600)
    second = _pack_to_file(copy, tmp_path / "other-name.tar.gz")
    assert first == second
    assert first[3] == 0, "gzip FLG: no file name, no comment, no extra field"
    assert first[4:8] == b"\0\0\0\0", "gzip MTIME: zero"


def test_layout_is_one_model_directory_with_fixed_metadata(tiny_model_artifact):
    with tarfile.open(fileobj=io.BytesIO(_pack(tiny_model_artifact.model_dir)), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[0] == "model" and members[0].isdir() and members[0].mode == 0o755
    files = members[1:]
    assert all(m.name.startswith("model/") and m.isreg() and m.mode == 0o644 for m in files), names
    assert {"model/config.json", "model/model.safetensors", "model/vocab.txt"} <= set(names)
    assert all((m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "") for m in members)


def test_hidden_entries_are_left_out_links_followed_extra_files_replace(tiny_model_artifact, tmp_path):
    model_dir = tmp_path / "m"
    shutil.copytree(tiny_model_artifact.model_dir, model_dir)
    (model_dir / ".cache" / "huggingface").mkdir(parents=True)
    (model_dir / ".cache" / "huggingface" / "download.lock").write_text("state")
    (model_dir / ".model-store.json").write_text("{}")
    (model_dir / "publish.json").write_text('{"old": true}')
    (model_dir / "sub").mkdir()
    (model_dir / "sub" / "notes.txt").symlink_to(model_dir / "config.json")
    data = _pack(model_dir, extra_files={"publish.json": b'{"new": true}'})
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
        assert tar.extractfile("model/publish.json").read() == b'{"new": true}'
        link = tar.getmember("model/sub/notes.txt")
        assert link.isreg() and tar.extractfile(link).read() == (model_dir / "config.json").read_bytes()
        assert tar.getmember("model/sub").isdir()
    assert not [n for n in names if "/." in n], names
    assert names.count("model/publish.json") == 1


def test_zstd_and_plain_tar_hold_the_same_tar_and_are_reproducible(tiny_model_artifact, tmp_path):
    from backports.zstd import decompress

    from tools.model.archive import write_archive

    def pack(fmt, model_dir):
        out = io.BytesIO()
        write_archive(out, model_dir, fmt, top_dir="model")
        return out.getvalue()

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_artifact.model_dir, copy)
    for path in copy.iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    plain = pack("tar", tiny_model_artifact.model_dir)
    assert plain == pack("tar", copy)
    assert pack("tar.zst", tiny_model_artifact.model_dir) == pack("tar.zst", copy)
    # One tar, three encodings: what the function extracts does not depend on the format chosen.
    assert decompress(pack("tar.zst", copy)) == plain
    assert gzip.decompress(_pack(copy)) == plain
