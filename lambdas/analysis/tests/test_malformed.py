"""Malformed records are rejected one by one, naming the field, and dead-lettered as they arrived; the good records
of the same event are still analysed and written. What the function does not need is not required."""

import copy
import json

import pytest

from tools.testing.events import direct_event, make_item, sns_record, sqs_record


def _without(field):
    def build(item):
        item = dict(item)
        del item[field]
        return item
    return build


def _with(**values):
    return lambda item: {**item, **values}


def _sns_with(mutate):
    """A complete SNS record whose envelope is then broken by ``mutate``."""
    def build(item):
        record = sns_record(item)
        mutate(record)
        return record
    return build


def _sqs_with(mutate, wrap_sns=False):
    def build(item):
        record = sqs_record(item, wrap_sns=wrap_sns)
        mutate(record)
        return record
    return build


def _sqs_envelope_message(value):
    def mutate(record):
        body = json.loads(record["body"])
        body["Message"] = value
        record["body"] = json.dumps(body)
    return mutate


# (case id, event kind, builder(item) -> bad payload/record, expected field in reason)
# For kind "sns-item"/"sqs-item"/"direct-item" the builder returns the item
# payload (dict, or str for a raw message); for "sns"/"sqs"/"direct" it
# returns the whole record / list element.
CASES = [
    ("not_json", "sns-item", lambda i: "{this is not json", "Sns.Message"),
    ("json_array", "sns-item", lambda i: json.dumps([i]), "Sns.Message"),
    ("json_null", "sns-item", lambda i: "null", "Sns.Message"),
    ("missing_source_id", "sns-item", _without("source_id"), "source_id"),
    ("missing_text", "sns-item", _without("text_for_analysis"), "text_for_analysis"),
    ("missing_model_version", "sns-item", _without("model_version"), "model_version"),
    ("missing_timestamp", "sns-item", _without("timestamp"), "timestamp"),
    ("text_is_number", "sns-item", _with(text_for_analysis=42), "text_for_analysis"),
    ("text_empty", "sns-item", _with(text_for_analysis=""), "text_for_analysis"),
    ("text_whitespace", "sns-item", _with(text_for_analysis=" \n\t "), "text_for_analysis"),
    ("text_too_long", "sns-item", _with(text_for_analysis="good " * 4001), "text_for_analysis"),
    ("text_lone_surrogate", "sns-item", _with(text_for_analysis="good \ud800 news"), "text_for_analysis"),
    ("tags_not_list", "sns-item", _with(matched_tags="ai"), "matched_tags"),
    ("tag_not_string", "sns-item", _with(matched_tags=["ai", 7]), "matched_tags.1"),
    ("timestamp_not_iso", "sns-item", _with(timestamp="yesterday"), "timestamp"),
    ("timestamp_number", "sns-item", _with(timestamp=1736935200), "timestamp"),
    ("source_id_empty", "sns-item", _with(source_id=""), "source_id"),
    ("source_id_null", "sns-item", _with(source_id=None), "source_id"),
    ("source_id_surrogate", "sns-item", _with(source_id="newsapi#\udcff"), "source_id"),
    ("source_type_list", "sns-item", _with(source_type=["newsapi"]), "source_type"),
    ("sns_missing_message", "sns", _sns_with(lambda r: r["Sns"].pop("Message")), "Sns.Message"),
    ("sns_message_not_string", "sns", _sns_with(lambda r: r["Sns"].__setitem__("Message", 5)), "Sns.Message"),
    ("sns_missing_envelope", "sns", _sns_with(lambda r: r.pop("Sns")), "Sns"),
    ("record_not_object", "sns", lambda i: "just a string", "Records[1]"),
    ("record_unknown_shape", "sns", lambda i: {"hello": "world"}, "Records[1]"),
    ("sqs_body_not_json", "sqs", _sqs_with(lambda r: r.__setitem__("body", "<xml/>")), "body"),
    ("sqs_envelope_message_not_json", "sqs",
     _sqs_with(_sqs_envelope_message("nope"), wrap_sns=True), "body.Message"),
    ("sqs_envelope_item_missing_text", "sqs",
     _sqs_with(_sqs_envelope_message(json.dumps({"source_id": "x#1"})), wrap_sns=True),
     "body.Message.text_for_analysis"),
    ("direct_not_object", "direct", lambda i: 12345, "items[1]"),
    ("direct_invalid_utf8_bytes", "direct", lambda i: b'{"text_for_analysis": "\xc3\x28"}', "items[1]"),
    ("direct_missing_text", "direct-item", _without("text_for_analysis"), "items[1].text_for_analysis"),
    # Bounds: a poison record is that record's rejection, never a RecursionError out of the parser.
    ("json_nested_5000_deep", "sns-item", lambda i: '{"a":' * 5000 + "1" + "}" * 5000, "nested deeper than 32"),
    ("json_nested_40_deep", "sqs", _sqs_with(lambda r: r.__setitem__("body", '{"a":' * 40 + "1" + "}" * 40)),
     "nested deeper than 32"),
    ("message_over_256_kib", "sns-item", _with(padding="x" * 300_000), "more than the 262144"),
    ("sqs_missing_message_id", "sqs", _sqs_with(lambda r: r.pop("messageId")), "messageId"),
    ("sqs_body_not_string", "sqs", _sqs_with(lambda r: r.__setitem__("body", {"a": 1})), "body"),
]


def _event(kind, good, bad_payload):
    if kind == "sns-item":
        return {"Records": [sns_record(good[0]), sns_record(bad_payload), sns_record(good[1])]}
    if kind == "sns":
        return {"Records": [sns_record(good[0]), bad_payload, sns_record(good[1])]}
    if kind == "sqs":
        return {"Records": [sqs_record(good[0]), bad_payload, sqs_record(good[1], wrap_sns=True)]}
    if kind in ("direct", "direct-item"):
        return direct_event(good[0], bad_payload, good[1])
    raise AssertionError(kind)


@pytest.mark.parametrize("case_id, kind, build, field", CASES, ids=[c[0] for c in CASES])
def test_malformed_record_rejected_others_written(pipeline, capsys, case_id, kind, build, field):
    good = [make_item(1, "I love this great product"), make_item(2, "terrible awful disaster")]
    bad_source = make_item(3, "fine text")
    pipeline.seed(*good, bad_source)
    event = _event(kind, good, build(copy.deepcopy(bad_source)))

    summary = pipeline.invoke(event)

    assert summary["analyzed"] == 2, summary
    assert len(summary["rejected"]) == 1, summary
    reason = summary["rejected"][0]["reason"]
    assert field in reason, reason
    assert summary["failed"] == []
    if kind == "sqs":
        assert summary["batchItemFailures"] == []  # poison is not retried
    for item in good:
        row = pipeline.get(item)
        assert row["status"] == "analyzed" and row["sentiment"] in {"positive", "negative", "neutral"}
    assert pipeline.get(bad_source)["status"] == "pending"  # nothing written for it
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(m.get("AnalysisErrors") == [1.0] and m.get("RecordsDeadLettered") == [1.0] for m in emf), emf
    # Not only a log line: the record is in the rejects queue, as it arrived, with the same reason.
    (letter,) = pipeline.dead_letters()
    assert letter["reason"] == reason and letter["record_id"] == summary["rejected"][0]["id"]
    assert letter["event_kind"] == {"sns-item": "sns", "direct-item": "direct"}.get(kind, kind)
    raw_record = [r for r in (event.get("Records") or event["items"])][1]
    assert letter["raw_truncated"] or json.loads(letter["raw"]) == _as_json(raw_record)


def _as_json(raw):
    """What a raw record is after a trip through JSON (bytes arrive as text)."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "backslashreplace")
    return json.loads(json.dumps(raw))


def test_at_least_twenty_cases():
    assert len(CASES) >= 20


def test_rejection_is_logged_with_reason(pipeline, log_capture):
    item = make_item(1, "good")
    pipeline.invoke(direct_event({**item, "matched_tags": "oops"}))
    rejected = [r for r in log_capture.records() if r.get("message") == "Record rejected"]
    assert len(rejected) == 1
    assert rejected[0]["record_id"] == "items[0]"
    assert "matched_tags" in rejected[0]["reason"]


def test_text_that_breaks_inference_is_isolated(pipeline, monkeypatch):
    from lambdas.analysis.sentiment import SentimentModel

    original = SentimentModel.predict

    def fragile_predict(self, texts, **kwargs):
        if any("POISON" in t for t in texts):
            raise RuntimeError("tokenizer exploded")
        return original(self, texts, **kwargs)

    monkeypatch.setattr(SentimentModel, "predict", fragile_predict)
    good, poison = make_item(1, "I love this great product"), make_item(2, "POISON text")
    pipeline.seed(good, poison)
    summary = pipeline.invoke(direct_event(good, poison))
    assert summary["analyzed"] == 1
    assert [r["id"] for r in summary["rejected"]] == ["items[1]"]
    assert summary["rejected"][0]["reason"].startswith("text_for_analysis: inference failed")
    assert pipeline.get(good)["status"] == "analyzed" and pipeline.get(poison)["status"] == "pending"


def test_unrecognised_event_is_rejected_not_raised(pipeline):
    summary = pipeline.invoke({"detail-type": "Scheduled Event"})
    assert summary["analyzed"] == 0
    assert summary["rejected"][0]["reason"].startswith("event:")
