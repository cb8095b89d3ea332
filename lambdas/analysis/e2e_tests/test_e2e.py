"""End to end, as in production but on loopback: the built image, pushed and pulled back, under runc behind the
Runtime API emulator, against moto's S3, DynamoDB and SQS, with a generated tiny DistilBERT packed like production.
Events arrive as AWS delivers them (tools/local/delivery.py): SNS one record per invocation, the SQS buffer queue in
batches shaped by the Terraform module's settings."""

import os
from pathlib import Path

import pytest

from tools.local.delivery import SnsTopic, drain
from tools.local.module_defaults import MODULE_DEFAULTS
from tools.local.stack import MODEL_VERSION, LocalStack
from tools.oci.runc_lambda import FROM_CGROUP, FROM_PROCESSES
from tools.testing.events import make_item, poison_messages
from tools.testing.tiny_model import build_artifact

IMAGE = Path(os.environ["IMAGE_LAYOUT"]).resolve()
TEXTS = ["Stocks rally as inflation cools", "Factory closure leaves workers without jobs",
         "Local bakery wins national award", "Storm cancels hundreds of flights", "New park opens downtown"]
VIA_SNS = [make_item(i, text, model_version=MODEL_VERSION) for i, text in enumerate(TEXTS)]
VIA_SQS = [make_item(100 + i, f"{text}, again", model_version=MODEL_VERSION) for i, text in enumerate(TEXTS * 3)]
POISON = poison_messages()
POISON_VIA_SNS, POISON_VIA_SQS = ["empty text"], ["JSON nested 5000 deep", "text not a string"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    artifact = build_artifact(work / "model")
    with LocalStack(IMAGE, work / "stack", artifact.tarball, timeout_s=120, progress=print) as stack:
        stack.seed(VIA_SNS + VIA_SQS)
        topic = SnsTopic()
        for message in VIA_SNS + [POISON[name][0] for name in POISON_VIA_SNS]:
            topic.publish(message)
        stack.buffer.send([(message, None) for message in VIA_SQS + [POISON[name][0] for name in POISON_VIA_SQS]])
        first = drain(stack.invoke, topic, stack.buffer)
        after_first = {i["source_id"]: stack.item(i["source_id"], i["timestamp"]) for i in VIA_SNS + VIA_SQS}
        topic.publish(VIA_SNS[0])  # SNS delivers at least once: the same item again
        duplicate = drain(stack.invoke, topic)
        yield {"stack": stack, "first": first, "after_first": after_first, "duplicate": duplicate,
               "after_duplicate": stack.item(VIA_SNS[0]["source_id"], VIA_SNS[0]["timestamp"]),
               "rejects": stack.rejects(), "log": stack.container_log(),
               "outside_tmp": stack.files_written_outside_tmp(), "records": list(stack.emulator.invocations)}


def test_every_invocation_succeeds_the_first_time(run):
    assert [i.result.payload for i in run["first"] if not i.result.ok] == []


def test_sns_invokes_with_one_record_and_sqs_in_batches_of_at_most_the_module_batch_size(run):
    sns = [i for i in run["first"] if i.kind == "sns"]
    sqs = [i for i in run["first"] if i.kind == "sqs"]
    assert [i.records for i in sns] == [1] * (len(VIA_SNS) + len(POISON_VIA_SNS))
    assert sum(i.records for i in sqs) == len(VIA_SQS) + len(POISON_VIA_SQS)
    assert max(i.records for i in sqs) == MODULE_DEFAULTS["sqs_batch_size"]  # a full batch, never more


def test_every_good_record_is_analyzed_and_written(run):
    assert sum(i.result.json()["analyzed"] for i in run["first"]) == len(VIA_SNS) + len(VIA_SQS)
    for item in VIA_SNS + VIA_SQS:
        stored = run["after_first"][item["source_id"]]
        assert stored["status"] == "analyzed", stored
        assert stored["sentiment"] in {"positive", "negative", "neutral"}
        assert 0.0 <= float(stored["score"]) <= 1.0
        assert stored["model_version"] == MODEL_VERSION
        assert stored["analyzed_at"]


def test_poison_records_are_rejected_while_their_batch_succeeds(run):
    batch = next(i for i in run["first"] if i.kind == "sqs" and i.result.json()["rejected"])
    summary = batch.result.json()
    assert summary["batchItemFailures"] == []  # nothing to retry: a rejection is final
    assert summary["analyzed"] == batch.records - len(summary["rejected"])


def test_each_poison_record_lands_in_the_rejects_queue_with_its_reason(run):
    letters = run["rejects"]
    assert len(letters) == len(POISON)
    for name, kind in [(n, "sns") for n in POISON_VIA_SNS] + [(n, "sqs") for n in POISON_VIA_SQS]:
        fragment = POISON[name][1]
        matching = [letter for letter in letters if fragment in letter["reason"] and letter["event_kind"] == kind]
        assert matching, f"{name}: no dead letter from {kind} whose reason mentions {fragment!r}: {letters}"
        assert matching[0]["raw"] and matching[0]["rejected_at"]


def test_duplicate_delivery_is_skipped_and_the_item_updated_exactly_once(run):
    [again] = run["duplicate"]
    summary = again.result.json()
    assert summary["duplicates"] == 1 and summary["analyzed"] == 0
    first_write = run["after_first"][VIA_SNS[0]["source_id"]]
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
              f"memory limit {stack.memory_limit}; CPU {stack.cpu_limit}")
    assert stack.peak_memory_source in (FROM_CGROUP, FROM_PROCESSES)
    assert 0 < stack.peak_memory_bytes < 2048 * 2**20


def test_nothing_is_written_outside_tmp(run):
    assert run["outside_tmp"] == []
