"""Conditional update pending -> analyzed; duplicates are not errors."""

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tools.testing.events import direct_event, make_item, sns_event, sqs_event


def _emf(capsys):
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_pending_item_gets_all_attributes(pipeline):
    item = make_item(1, "I love this great product", tags=["ai", "ml"])
    pipeline.seed(item)
    before = datetime.now(timezone.utc)
    summary = pipeline.invoke(sns_event(item))
    assert summary["analyzed"] == 1 and summary["duplicates"] == 0
    row = pipeline.get(item)
    assert row["status"] == "analyzed"
    assert row["sentiment"] == "positive"
    assert isinstance(row["score"], Decimal) and Decimal("0.6") <= row["score"] <= 1
    assert row["score"] == row["score"].quantize(Decimal("0.000001"))  # rounded to 6 places
    assert row["model_version"] == "v1.0.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["analyzed_at"])
    analyzed_at = datetime.fromisoformat(row["analyzed_at"])
    assert analyzed_at.tzinfo is not None and analyzed_at >= before.replace(microsecond=0)
    # Attributes written by ingestion are untouched.
    assert row["source_type"] == "newsapi"


def test_second_delivery_is_a_duplicate_not_an_error(pipeline, capsys, log_capture):
    item = make_item(1, "terrible awful disaster")
    pipeline.seed(item)
    first = pipeline.invoke(sns_event(item))
    row_after_first = pipeline.get(item)
    capsys.readouterr()
    second = pipeline.invoke(sns_event(item))  # SNS at-least-once: same message again
    assert first["analyzed"] == 1
    assert second == {**second, "analyzed": 0, "duplicates": 1, "rejected": [], "failed": []}
    assert pipeline.get(item) == row_after_first  # not overwritten
    emf = _emf(capsys)
    assert any(m.get("DuplicateDeliveries") == [1.0] and m.get("AnalysisErrors") == [0.0] for m in emf)
    assert any(r.get("message") == "Duplicate delivery skipped" for r in log_capture.records())


def test_duplicate_within_one_batch(pipeline):
    item = make_item(1, "good")
    pipeline.seed(item)
    summary = pipeline.invoke(sqs_event(item, item))
    assert (summary["analyzed"], summary["duplicates"], summary["batchItemFailures"]) == (1, 1, [])


@pytest.mark.parametrize("status", ["analyzed", "failed", "archived"])
def test_item_not_pending_counts_as_duplicate(pipeline, status):
    item = make_item(1, "good")
    pipeline.seed(item, status=status)
    summary = pipeline.invoke(direct_event(item))
    assert (summary["analyzed"], summary["duplicates"], summary["failed"]) == (0, 1, [])
    row = pipeline.get(item)
    assert row["status"] == status and "sentiment" not in row


def test_missing_item_is_reported_not_created(pipeline):
    seeded, missing = make_item(1, "good"), make_item(2, "bad")
    pipeline.seed(seeded)
    summary = pipeline.invoke(sqs_event(seeded, missing))
    assert summary["analyzed"] == 1 and summary["duplicates"] == 0
    assert len(summary["rejected"]) == 1 and "no item" in summary["rejected"][0]["reason"]
    assert summary["batchItemFailures"] == []  # retrying cannot create the item
    assert pipeline.get(missing) is None  # UpdateItem did not upsert it
