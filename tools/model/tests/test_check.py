"""The checks refuse what the function could not serve, and say what is missing."""

import io
import json
import shutil

import pytest

from tools.model import PublishError
from tools.model.archive import write_tar_gz
from tools.model.check import check_artifact, check_source
from tools.testing.tiny_model import build_model_dir


@pytest.fixture
def model_dir(tiny_model_artifact, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_artifact.model_dir, copy)
    return copy


def _edit_config(model_dir, **changes):
    path = model_dir / "config.json"
    config = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path.write_text(json.dumps(config))


def test_the_tiny_model_passes(model_dir):
    check_source(model_dir, allow_pickle=False)


def test_refuses_a_config_without_id2label(model_dir):
    _edit_config(model_dir, id2label=None, label2id=None)
    with pytest.raises(PublishError, match=r"config\.json has no id2label"):
        check_source(model_dir, allow_pickle=False)


def test_refuses_labels_that_are_not_sentiments(model_dir):
    _edit_config(model_dir, id2label={"0": "LABEL_0", "1": "POSITIVE"})
    with pytest.raises(PublishError, match=r"id2label has labels the function cannot write: LABEL_0 \(expected"):
        check_source(model_dir, allow_pickle=False)


def test_refuses_a_directory_without_tokenizer(model_dir):
    for name in ("vocab.txt", "tokenizer.json"):
        (model_dir / name).unlink(missing_ok=True)
    with pytest.raises(PublishError, match=r"no tokenizer \(expected one of tokenizer\.json, vocab\.txt\)"):
        check_source(model_dir, allow_pickle=False)


@pytest.mark.parametrize(("remove", "message"), [
    ("config.json", r"config\.json is missing"),
    ("model.safetensors", r"no weights file \(expected one of model\.safetensors"),
])
def test_refuses_a_directory_without_config_or_weights(model_dir, remove, message):
    (model_dir / remove).unlink()
    with pytest.raises(PublishError, match=message):
        check_source(model_dir, allow_pickle=False)


def test_refuses_a_missing_directory(tmp_path):
    with pytest.raises(PublishError, match=r"--from .*nowhere: no such directory"):
        check_source(tmp_path / "nowhere", allow_pickle=False)


def test_pickled_weights_only_with_allow_pickle(tmp_path):
    bin_dir = build_model_dir(tmp_path / "bin-model", weights="bin")
    only_pickled = r"pickled files: pytorch_model\.bin\. .*weights are only pickled.*--allow-pickle"
    with pytest.raises(PublishError, match=only_pickled):
        check_source(bin_dir, allow_pickle=False)
    check_source(bin_dir, allow_pickle=True)


def test_a_stray_pickle_beside_safetensors_is_named(model_dir):
    (model_dir / "training_args.bin").write_bytes(b"\x80\x04N.")
    with pytest.raises(PublishError, match=r"pickled files: training_args\.bin\. .*safetensors already"):
        check_source(model_dir, allow_pickle=False)


def test_artifact_is_loaded_and_run(tiny_model_artifact, tmp_path):
    tarball = tmp_path / "model.tar.gz"
    with open(tarball, "wb") as out:
        write_tar_gz(out, tiny_model_artifact.model_dir, top_dir="model")
    results = dict(check_artifact(tarball, "model"))
    assert results["I love this great product"].model_label == "positive"
    assert results["terrible awful disaster"].model_label == "negative"


def test_artifact_that_does_not_load_is_refused(tiny_model_artifact, tmp_path):
    tarball = tmp_path / "model.tar.gz"
    with open(tarball, "wb") as out:
        write_tar_gz(out, tiny_model_artifact.model_dir, top_dir="model",
                     extra_files={"model.safetensors": b"not safetensors"})
    with pytest.raises(PublishError, match="does not load as the function loads it: failed to load model"):
        check_artifact(tarball, "model")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(tarball.read_bytes()[:2000])
    with pytest.raises(PublishError, match="does not load as the function loads it: archive is truncated"):
        check_artifact(cut, "model")
