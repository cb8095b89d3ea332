"""The evaluate tool's figures on hand-built predictions whose accuracy, F1 and confusion are worked out here."""

import pytest

from tools.model import metrics

# 10 items: 4 positive, 3 neutral, 3 negative (true) against these predictions.
TRUTH = ["positive"] * 4 + ["neutral"] * 3 + ["negative"] * 3
PREDICTED = ["positive", "positive", "positive", "neutral",  # one positive turned neutral
             "neutral", "neutral", "negative",                 # one neutral called negative
             "negative", "negative", "positive"]               # one negative called positive


def test_accuracy_and_confusion():
    scores = metrics.score(TRUTH, PREDICTED)
    assert scores.n == 10
    assert scores.accuracy == pytest.approx(0.7)
    assert scores.confusion == {
        "positive": {"positive": 3, "neutral": 1, "negative": 0},
        "neutral": {"positive": 0, "neutral": 2, "negative": 1},
        "negative": {"positive": 1, "neutral": 0, "negative": 2},
    }


def test_per_class_and_macro_f1():
    scores = metrics.score(TRUTH, PREDICTED)
    # positive: tp 3, fp 1, fn 1 -> P 3/4, R 3/4 -> F1 0.75
    # neutral:  tp 2, fp 1, fn 1 -> P 2/3, R 2/3 -> F1 2/3
    # negative: tp 2, fp 1, fn 1 -> P 2/3, R 2/3 -> F1 2/3
    assert scores.f1 == pytest.approx({"positive": 0.75, "neutral": 2 / 3, "negative": 2 / 3})
    assert scores.macro_f1 == pytest.approx((0.75 + 2 / 3 + 2 / 3) / 3)


def test_a_class_never_predicted_scores_zero_f1():
    scores = metrics.score(["positive", "negative"], ["positive", "positive"])
    assert scores.f1["negative"] == 0.0
    assert scores.f1["neutral"] == 0.0  # absent on both sides: 0, as scikit-learn's zero_division=0
    assert scores.f1["positive"] == pytest.approx(2 / 3)  # tp 1, fp 1, fn 0


def test_perfect_predictions():
    scores = metrics.score(TRUTH, TRUTH)
    assert scores.accuracy == 1.0
    assert scores.f1 == {"positive": 1.0, "neutral": 1.0, "negative": 1.0}


def test_agreement():
    assert metrics.agreement(TRUTH, PREDICTED) == pytest.approx(0.7)
    with pytest.raises(ValueError):
        metrics.agreement(TRUTH, PREDICTED[:-1])


def test_rejects_unknown_labels_and_length_mismatch():
    with pytest.raises(ValueError, match="mixed"):
        metrics.score(["positive"], ["mixed"])
    with pytest.raises(ValueError):
        metrics.score(TRUTH, PREDICTED[:-1])
