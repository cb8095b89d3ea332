"""Event parsing: envelope detection, record ids, per-record rejection."""

import json

import pytest

from lambdas.shared.events import AnalysisItem, EventParser, ParsedEvent, Rejected
from tools.testing.events import direct_event, make_item, sns_event, sns_record, sqs_event, sqs_record

PARSER = EventParser(model_version="v1.0.0", max_text_chars=100)


def test_sns_event_parses_items_with_message_ids():
    item = make_item(1, "good news")
    record = sns_record(item, message_id="msg-1")
    parsed = PARSER.parse({"Records": [record]})
    assert parsed.kind == "sns"
    assert parsed.records[0].record_id == "msg-1"
    assert parsed.records[0].item == AnalysisItem(**item)


@pytest.mark.parametrize("wrap_sns", [True, False])
def test_sqs_body_as_sns_envelope_or_bare(wrap_sns):
    item = make_item(2, "bad news")
    record = sqs_record(item, wrap_sns=wrap_sns, message_id="sqs-1")
    parsed = PARSER.parse({"Records": [record]})
    assert parsed.kind == "sqs"
    assert parsed.records[0].record_id == "sqs-1"
    assert parsed.records[0].item is not None
    assert parsed.records[0].item.text_for_analysis == "bad news"


def test_direct_items_accept_dicts_json_strings_and_utf8_bytes():
    a, b, c = make_item(1), make_item(2), make_item(3, "caf\u00e9 good")
    parsed = PARSER.parse(direct_event(a, json.dumps(b), json.dumps(c).encode()))
    assert parsed.kind == "direct"
    assert [r.record_id for r in parsed.records] == ["items[0]", "items[1]", "items[2]"]
    assert all(r.item is not None for r in parsed.records)
    assert parsed.records[2].item.text_for_analysis == "caf\u00e9 good"


def test_extra_fields_are_ignored_and_timestamp_kept_verbatim():
    item = make_item(1, extra="x", timestamp="2025-01-15T10:00:00+02:00")
    parsed = PARSER.parse(direct_event(item))
    assert parsed.records[0].item.timestamp == "2025-01-15T10:00:00+02:00"


@pytest.mark.parametrize("event, field", [
    ("not a dict", "event"),
    ({"foo": 1}, "event"),
    ({"Records": "x"}, "Records"),
    ({"items": {"a": 1}}, "items"),
])
def test_unusable_events_are_one_rejection(event, field):
    parsed = PARSER.parse(event)
    assert len(parsed.records) == 1
    assert isinstance(parsed.records[0].result, Rejected)
    assert parsed.records[0].result.reason.startswith(field)


def test_bad_record_does_not_affect_neighbours():
    good1, good2 = make_item(1), make_item(2)
    parsed = PARSER.parse(sns_event(good1, "{not json", good2))
    assert [r.item is not None for r in parsed.records] == [True, False, True]
    assert "Records[1].Sns.Message" in parsed.records[1].result.reason


def test_invalid_utf8_bytes_rejected_with_field():
    parsed = PARSER.parse(direct_event(b'{"source_id": "\xff\xfe"}'))
    assert parsed.records[0].result.reason.startswith("items[0]: not valid UTF-8")


def test_sqs_kind_wins_for_partial_batch_reporting():
    parsed = PARSER.parse({"Records": [{"foo": 1}, sqs_record(make_item(1))]})
    assert parsed.kind == "sqs"
    assert "unrecognized record shape" in parsed.records[0].result.reason


def test_sqs_event_builder_default_is_bare():
    parsed = PARSER.parse(sqs_event(make_item(1)))
    assert parsed.records[0].item is not None


def test_a_record_that_raises_anything_is_rejected_not_raised(monkeypatch):
    good, bad = make_item(1), make_item(2, "boom")
    original = AnalysisItem.model_validate

    def explode(payload, **kwargs):
        if payload.get("text_for_analysis") == "boom":
            raise KeyError("nobody foresaw this")
        return original(payload, **kwargs)

    monkeypatch.setattr(AnalysisItem, "model_validate", explode)
    parsed = PARSER.parse(sns_event(good, bad))
    assert parsed.records[0].item is not None
    assert parsed.records[1].result.reason.startswith("Records[1]: could not be parsed (KeyError")


@pytest.mark.parametrize("depth, rejected", [(31, False), (33, True), (5000, True)])
def test_json_nesting_is_bounded(depth, rejected):
    message = '{"source_id": "a#1", "nest": ' + '{"a": ' * (depth - 1) + "1" + "}" * depth
    parsed = PARSER.parse({"Records": [sns_record(message)]})
    reason = getattr(parsed.records[0].result, "reason", "")
    assert ("nested deeper than 32" in reason) is rejected, reason


def test_record_size_is_bounded():
    parser = EventParser(model_version="v1.0.0", max_text_chars=100, max_record_bytes=2048)
    parsed = parser.parse(sns_event(make_item(1, padding="x" * 3000)))
    assert "more than the 2048 a record may have" in parsed.records[0].result.reason


def test_warmup_ping_has_no_records():
    assert PARSER.parse({"warmup": True}) == ParsedEvent("warmup", [])


def test_records_keep_raw_form_and_source_arn():
    record = sqs_record(make_item(1), message_id="m")
    parsed = PARSER.parse({"Records": [record]})
    assert parsed.records[0].raw is record and parsed.records[0].source_arn == record["eventSourceARN"]


def test_model_version_is_checked_only_when_strict():
    item = make_item(1, model_version="v0")
    assert PARSER.parse(direct_event(item)).records[0].item is not None
    strict = EventParser(model_version="v1.0.0", max_text_chars=100, strict_model_version=True)
    assert "unknown model version" in strict.parse(direct_event(item)).records[0].result.reason
