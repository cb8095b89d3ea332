"""A rejected record is never dropped: when its dead letter cannot be sent, the event source delivers it again."""

import pytest

from lambdas.analysis.batch import RecordsFailedError
from tools.testing.events import direct_event, make_item, sns_record, sqs_record
from tools.testing.flaky_proxy import target_is

SEND = "AmazonSQS.SendMessage"


def _queue_down(pipeline):
    proxy = pipeline.proxy("sqs")
    pipeline.set_env(AWS_MAX_ATTEMPTS="2")
    proxy.add_rule(target_is(SEND), 500, b'{"__type": "InternalError", "message": "down"}')
    return proxy


def test_sqs_rejection_not_dead_lettered_is_retried_by_the_queue(pipeline):
    good, poison = make_item(1, "good news"), make_item(2, "")
    pipeline.seed(good)
    _queue_down(pipeline)
    summary = pipeline.invoke({"Records": [sqs_record(good, message_id="good"), sqs_record(poison, message_id="p")]})
    assert summary["analyzed"] == 1
    assert summary["batchItemFailures"] == [{"itemIdentifier": "p"}]
    assert summary["undelivered"][0]["reason"].startswith("dead-letter send failed")


@pytest.mark.parametrize("event_of", [lambda a, b: {"Records": [sns_record(a), sns_record(b)]},
                                      lambda a, b: direct_event(a, b)], ids=["sns", "direct"])
def test_sns_rejection_not_dead_lettered_fails_the_invocation_after_the_rest(pipeline, event_of):
    good, poison = make_item(1, "good news"), make_item(2, "")
    pipeline.seed(good)
    _queue_down(pipeline)
    with pytest.raises(RecordsFailedError, match="dead-letter send failed"):
        pipeline.invoke(event_of(good, poison))
    assert pipeline.get(good)["status"] == "analyzed"  # written before the invocation failed


def test_dead_letter_carries_kind_source_and_time(pipeline):
    poison = make_item(2, "")
    pipeline.invoke({"Records": [sqs_record(poison, message_id="p")]})
    (letter,) = pipeline.dead_letters()
    assert letter["event_kind"] == "sqs" and letter["record_id"] == "p"
    assert letter["source_arn"].startswith("arn:aws:sqs:")
    assert letter["rejected_at"].endswith("Z") and letter["raw_truncated"] is False
