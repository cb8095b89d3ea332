"""//tools/rejects:redrive replays dead-lettered records into the real handler after a fix, idempotently."""

import json

from tools.rejects.redrive import redrive
from tools.testing.events import direct_event, make_item, sns_record, sqs_record


def _letters_in_queue(pipeline):
    """Visible or not (a message being replayed, or left after a failed replay, is hidden for a while)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = pipeline.server.client("sqs").get_queue_attributes(QueueUrl=pipeline.rejects_queue_url,
                                                                    AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_fixed_records_are_analysed_duplicates_counted_poison_dead_lettered_again(pipeline):
    fixed, done, poison = make_item(1, "great news"), make_item(2, "good"), make_item(3, "")
    # `fixed` and `done` are rejected because their items do not exist yet; `poison` because its text is empty.
    pipeline.invoke({"Records": [sns_record(fixed)]})
    pipeline.invoke({"Records": [sqs_record(done, message_id="d")]})
    pipeline.invoke(direct_event(poison))
    assert _letters_in_queue(pipeline) == 3
    pipeline.seed(fixed, done)  # the fix
    pipeline.invoke(direct_event(done))  # analysed meanwhile by a later delivery

    lines = []
    counts = redrive(pipeline.server.client("sqs"), pipeline.rejects_queue_url, pipeline.invoke, report=lines.append)

    assert counts == {"analyzed": 1, "duplicate": 1, "rejected again": 1}, lines
    assert pipeline.get(fixed)["status"] == "analyzed" and pipeline.get(done)["status"] == "analyzed"
    (again,) = pipeline.dead_letters()  # the old letters are gone; poison was dead-lettered anew
    assert again["event_kind"] == "direct" and "text_for_analysis" in again["reason"]


def test_unreplayable_and_failed_replays_stay_in_the_queue(pipeline):
    item = make_item(1, "great news")
    pipeline.invoke(direct_event(item))  # rejected: no such item
    sqs = pipeline.server.client("sqs")
    sqs.send_message(QueueUrl=pipeline.rejects_queue_url, MessageBody=json.dumps({
        "record_id": "x", "reason": "too big", "event_kind": "sqs", "source_arn": None,
        "rejected_at": "2026-11-27T00:00:00.000Z", "raw": '{"body": "tru', "raw_truncated": True}))

    def broken(event):
        raise ConnectionError("function unreachable")

    counts = redrive(sqs, pipeline.rejects_queue_url, broken, report=lambda line: None)
    assert counts == {"retry": 1, "not replayable": 1}
    assert _letters_in_queue(pipeline) == 2
