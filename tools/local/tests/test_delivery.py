"""Delivery as AWS does it: SNS invokes once per message with one record, the SQS event source in batches no larger
than the Terraform module's batch size, failures retried or redelivered, then parked."""

import json
import re
from pathlib import Path

import pytest

from tools.lambda_emulator import InvokeResult
from tools.local import run_local
from tools.local.delivery import SnsTopic, drain
from tools.local.module_defaults import MODULE_DEFAULTS
from tools.local.sqs_source import SqsEventSource
from tools.testing.events import make_item
from tools.testing.moto_server import drain_queue

VARIABLES = Path.cwd() / "infra/modules/analysis_lambda/variables.tf"  # runfiles root (data dependency)


def answer(payload: dict | None = None, failed: bool = False) -> InvokeResult:
    """An invocation's outcome as the emulator returns it (the record is not read here)."""
    body = {"errorType": "RuntimeError"} if failed else (payload or {})
    return InvokeResult("request", json.dumps(body).encode(), "application/json", "Unhandled" if failed else None,
                        record=None)


class Function:
    """Records the events it is invoked with; answers with RESPOND(event)."""

    def __init__(self, respond=lambda event: answer({"batchItemFailures": []})):
        self.events, self.respond = [], respond

    def __call__(self, event):
        self.events.append(event)
        return self.respond(event)


@pytest.fixture
def source(aws_env):
    # A short window and visibility keep the test quick; the batch size is the module's.
    return SqsEventSource.create(aws_env, visibility_s=1, window_s=0.2)


def test_module_defaults_are_the_terraform_module_defaults():
    text = VARIABLES.read_text()
    for name, value in MODULE_DEFAULTS.items():
        block = re.search(r'variable "%s" \{(.*?)\n\}' % name, text, re.S)
        assert block, f"variables.tf has no variable {name}"
        default = re.search(r"^\s*default\s*=\s*(\S+)\s*$", block.group(1), re.M)
        assert default and float(default.group(1)) == value, f"{name}: variables.tf says {default and default.group(1)}"


def test_sns_invokes_once_per_message_with_exactly_one_record():
    topic, function = SnsTopic(), Function()
    for n in range(5):
        topic.publish(make_item(n))
    invocations = drain(function, topic)
    assert [len(event["Records"]) for event in function.events] == [1] * 5
    assert [i.kind for i in invocations] == ["sns"] * 5


def test_a_failing_sns_invocation_is_retried_then_sent_to_the_on_failure_destination():
    topic, function = SnsTopic(retry_delay_s=0), Function(lambda event: answer(failed=True))
    topic.publish(make_item(1), "message-1")
    drain(function, topic)
    assert len(function.events) == 1 + MODULE_DEFAULTS["async_maximum_retry_attempts"]
    assert [d.message_id for d in topic.on_failure] == ["message-1"] and topic.outstanding == 0


def test_sqs_batches_never_exceed_the_module_batch_size_and_every_message_arrives_once(source):
    function = Function()
    source.send([(make_item(n), None) for n in range(25)])
    drain(function, source=source)
    sizes = [len(event["Records"]) for event in function.events]
    assert max(sizes) == MODULE_DEFAULTS["sqs_batch_size"] and sum(sizes) == 25
    bodies = [json.loads(json.loads(r["body"])["Message"]) for event in function.events for r in event["Records"]]
    assert sorted(b["source_id"] for b in bodies) == sorted(make_item(n)["source_id"] for n in range(25))
    assert source.outstanding() == 0


def test_records_named_in_batch_item_failures_come_back_and_the_others_do_not(source):
    def fail_first_record_once(event):
        record = event["Records"][0]
        once = record["attributes"]["ApproximateReceiveCount"] == "1"
        return answer({"batchItemFailures": [{"itemIdentifier": record["messageId"]}] if once else []})

    function = Function(fail_first_record_once)
    source.send([(make_item(n), None) for n in range(3)])
    drain(function, source=source)
    received = [r["messageId"] for event in function.events for r in event["Records"]]
    assert len(received) == 4 and len(set(received)) == 3
    assert function.events[-1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_message_that_keeps_failing_moves_to_the_dlq_after_max_receive_count(aws_env, source):
    function = Function(lambda event: answer(failed=True))
    source.send([(make_item(7), "sns-7")])
    drain(function, source=source)
    assert len(function.events) == MODULE_DEFAULTS["sqs_max_receive_count"]
    assert [body["MessageId"] for body in drain_queue(aws_env, source.dlq_url)] == ["sns-7"]


def test_the_local_run_delivers_sns_one_record_at_a_time_and_sqs_in_batches(source):
    function = Function()
    items = [make_item(n) for n in range(24)]
    invocations = run_local.deliver(function, source, items, poison=["{not json", "[]"])
    sns = [event for event, i in zip(function.events, invocations) if i.kind == "sns"]
    sqs = [event for event, i in zip(function.events, invocations) if i.kind == "sqs"]
    assert [len(event["Records"]) for event in sns] == [1] * 13
    assert max(len(event["Records"]) for event in sqs) <= MODULE_DEFAULTS["sqs_batch_size"]
    assert sum(len(event["Records"]) for event in sqs) == 13
