"""End to end, as in production but on loopback: the built image, pushed and pulled back, under runc behind the
Runtime API emulator, against moto's S3 and DynamoDB, with a generated tiny DistilBERT packed like production."""

import os
from pathlib import Path

import pytest

from tools.local.stack import MODEL_VERSION, LocalStack
from tools.oci.runc_lambda import FROM_CGROUP, FROM_PROCESSES
from tools.testing.events import make_item, sns_event
from tools.testing.tiny_model import build_artifact

IMAGE = Path(os.environ["IMAGE_LAYOUT"]).resolve()
GOOD = [make_item(i, text, model_version=MODEL_VERSION) for i, text in enumerate([
    "Stocks rally as inflation cools", "Factory closure leaves workers without jobs",
    "Local bakery wins national award", "Storm cancels hundreds of flights", "New park opens downtown",
])]
POISON = {**make_item(99, "no matter"), "text_for_analysis": 12345}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    artifact = build_artifact(work / "model")
    with LocalStack(IMAGE, work / "stack", artifact.tarball, timeout_s=120, progress=print) as stack:
        stack.seed(GOOD + [POISON])
        first = stack.invoke(sns_event(*GOOD, POISON))
        after_first = {i["source_id"]: stack.item(i["source_id"], i["timestamp"]) for i in GOOD}
        duplicate = stack.invoke(sns_event(GOOD[0]))
        after_duplicate = stack.item(GOOD[0]["source_id"], GOOD[0]["timestamp"])
        yield {"stack": stack, "first": first, "after_first": after_first, "duplicate": duplicate,
               "after_duplicate": after_duplicate, "log": stack.container_log(),
               "outside_tmp": stack.files_written_outside_tmp(), "records": list(stack.emulator.invocations)}


def test_every_good_record_is_analyzed_and_written(run):
    assert run["first"].ok, run["first"].payload
    summary = run["first"].json()
    assert summary["analyzed"] == len(GOOD)
    for item in GOOD:
        stored = run["after_first"][item["source_id"]]
        assert stored["status"] == "analyzed", stored
        assert stored["sentiment"] in {"positive", "negative", "neutral"}
        assert 0.0 <= float(stored["score"]) <= 1.0
        assert stored["model_version"] == MODEL_VERSION
        assert stored["analyzed_at"]


def test_poison_record_is_rejected_with_its_reason_while_the_batch_succeeds(run):
    rejected = run["first"].json()["rejected"]
    assert len(rejected) == 1
    assert "text_for_analysis" in rejected[0]["reason"]


def test_duplicate_delivery_is_skipped_and_the_item_updated_exactly_once(run):
    summary = run["duplicate"].json()
    assert summary["duplicates"] == 1 and summary["analyzed"] == 0
    first_write = run["after_first"][GOOD[0]["source_id"]]
    assert run["after_duplicate"]["analyzed_at"] == first_write["analyzed_at"]


def test_model_loaded_successfully_is_logged_by_the_container(run):
    loaded = [line for line in run["log"] if line.get("message") == "Model loaded successfully"]
    assert len(loaded) == 1, "the model loads once per container"
    assert loaded[0]["model_version"] == MODEL_VERSION
    assert loaded[0]["load_time_ms"] > 0


def test_first_invocation_is_cold_and_the_next_one_warm(run):
    first, second = run["records"][:2]
    assert first.cold_start and first.init_ms is not None
    assert not second.cold_start


def test_container_peak_memory_is_reported_and_under_2048_mb(run, capsys):
    stack = run["stack"]
    with capsys.disabled():  # in test.log even when the test passes
        print(f"\ncontainer peak memory: {stack.peak_memory_bytes / 2**20:.0f} MB (from {stack.peak_memory_source}); "
              f"memory limit {stack.memory_limit}")
    assert stack.peak_memory_source in (FROM_CGROUP, FROM_PROCESSES)
    assert 0 < stack.peak_memory_bytes < 2048 * 2**20


def test_nothing_is_written_outside_tmp(run):
    assert run["outside_tmp"] == []
