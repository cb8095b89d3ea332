"""The evaluate tool's per-run summary and report on hand-built predictions (no model is loaded)."""

import pytest

from lambdas.analysis.sentiment import Prediction
from tools.model import evaluate

ITEMS = [evaluate.Item(label, f"text {i}") for i, label in enumerate(["positive", "negative", "neutral", "neutral"])]
# What SentimentModel.predict returns at threshold 0.6: the third item is turned neutral by the threshold (its
# model said positive at 0.55); the fourth is a confident negative, so wrong.
PREDICTIONS = [Prediction("positive", 0.9, "positive"), Prediction("negative", 0.8, "negative"),
               Prediction("neutral", 0.55, "positive"), Prediction("negative", 0.7, "negative")]


def test_summary_counts_threshold_neutrals_as_neutral():
    summary = evaluate.summarise(ITEMS, PREDICTIONS, [2.0, 4.0, 6.0, 8.0])
    assert summary["accuracy"] == pytest.approx(0.75)
    assert summary["confusion"]["neutral"] == {"positive": 0, "neutral": 1, "negative": 1}
    assert summary["neutral_by_threshold"] == pytest.approx(0.25)
    assert summary["labels"] == ["positive", "negative", "neutral", "negative"]
    assert summary["latency_ms"]["median"] == pytest.approx(5.0)
    # negative: tp 1, fp 1, fn 0 -> 2/3; neutral: tp 1, fn 1 -> 2/3; positive: 1
    assert summary["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_compare_and_report():
    fp32 = evaluate.summarise(ITEMS, PREDICTIONS, [1.0, 1.0])
    int8 = evaluate.summarise(ITEMS, PREDICTIONS[:3] + [Prediction("neutral", 0.58, "negative")], [1.0, 1.0])
    result = {"threshold": 0.6, "n": 4, "fp32": fp32, "int8": int8, **evaluate.compare({"fp32": fp32, "int8": int8})}
    assert result["agreement"] == pytest.approx(0.75)
    assert result["accuracy_drop"] == pytest.approx(0.75 - 1.0)  # int8 got the fourth right: a negative drop
    text = evaluate.report(result)
    assert "| accuracy (`neutral` by the threshold rule) | 75.0% | 100.0% |" in text
    assert "| neutral | 0 | 1 | 1 |" in text  # fp32's confusion row for the true neutrals
    assert "agreement: **75.0%**" in text


def test_read_tsv_rejects_unknown_labels(tmp_path):
    data = tmp_path / "eval.tsv"
    data.write_text("positive\tgood news\nmixed\tsomething\n")
    with pytest.raises(SystemExit, match="eval.tsv:2"):
        evaluate.read_tsv(data)
