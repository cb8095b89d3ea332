"""run_local's choice of model: the demo model by default, a directory packed as publish packs it, a clear error."""

import tarfile

import pytest

from tools.local import run_local


def test_without_model_the_demo_tarball_is_used_and_named(tmp_path):
    demo = tmp_path / "demo.tar.gz"
    demo.write_bytes(b"demo")
    tarball, note = run_local.model_tarball(None, str(demo), tmp_path)
    assert tarball == demo and "demo model trained on lexicon-labelled text" in note


def test_without_model_or_demo_model_it_says_what_is_missing(tmp_path):
    with pytest.raises(SystemExit, match="no --model and no --demo-model"):
        run_local.model_tarball(None, None, tmp_path)


def test_a_directory_is_packed_under_model_with_publish_json(tiny_model_artifact, tmp_path):
    tarball, note = run_local.model_tarball(str(tiny_model_artifact.model_dir), "unused", tmp_path)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert {n.split("/")[0] for n in names} == {"model"} and "model/publish.json" in names, names
    assert str(tiny_model_artifact.model_dir) in note


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(SystemExit, match=r"--model .*nowhere: no such file or directory"):
        run_local.model_tarball(str(tmp_path / "nowhere"), "unused", tmp_path)
