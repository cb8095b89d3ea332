"""publish.json's torch/transformers versions against the running ones: a mismatch is served, with a warning."""

import json

import pytest

from lambdas.analysis import ml_import, provenance
from lambdas.analysis.tests.fixtures import BUCKET, MODEL_KEY
from tools.testing.events import direct_event, make_item
from tools.testing.moto_server import upload_model
from tools.testing.tiny_model import tar_bytes

MISMATCH = "Model was published with other library versions"


def _running() -> dict[str, str]:
    mods, _ = ml_import.wait()
    return provenance.library_versions(mods.torch, mods.transformers)


def _serve(pipeline, publish_json: bytes | None) -> None:
    """Publish the tiny model with this publish.json (None: without one) and analyse one item with it."""
    extra = {provenance.MANIFEST_NAME: publish_json} if publish_json is not None else None
    upload_model(pipeline.server, BUCKET, MODEL_KEY, tar_bytes(pipeline.model.model_dir, top_dir="model",
                                                               extra_files=extra))
    item = make_item(1, "I love this great product")
    pipeline.seed(item)
    assert pipeline.invoke(direct_event(item))["analyzed"] == 1, "the model must be served either way"


def _manifest(**versions: str) -> bytes:
    return json.dumps(provenance.manifest({**_running(), **versions}, {}, "test")).encode()


def test_other_versions_are_served_with_a_structured_warning(pipeline, log_capture):
    _serve(pipeline, _manifest(torch="1.13.1+cu117"))
    (warning,) = [r for r in log_capture.records() if r.get("message") == MISMATCH]
    running = _running()
    assert warning["level"] == "WARNING"
    assert warning["differing"] == ["torch"]
    assert warning["recorded_versions"] == {"torch": "1.13.1+cu117", "transformers": running["transformers"]}
    assert warning["running_versions"] == running
    assert warning["model_dir"] == str(pipeline.model_dir)


@pytest.mark.parametrize("case", ["same versions", "no publish.json"])
def test_matching_or_unrecorded_versions_log_no_warning(pipeline, log_capture, case):
    _serve(pipeline, _manifest() if case == "same versions" else None)
    assert (pipeline.model_dir / provenance.MANIFEST_NAME).exists() == (case == "same versions")
    assert not [r for r in log_capture.records() if r.get("level") == "WARNING"]


def test_an_unreadable_publish_json_is_a_warning_not_a_failure(pipeline, log_capture):
    _serve(pipeline, b"not json")
    (warning,) = [r for r in log_capture.records() if r.get("message") == "Model's publish.json is unreadable"]
    assert warning["level"] == "WARNING" and "Expecting value" in warning["error"]
