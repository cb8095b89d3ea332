"""Classification figures for labelled sentiment: accuracy, per-class and macro F1, confusion matrix.

Three formulas over a few hundred labels: written here rather than pulling scikit-learn (and SciPy) into the
tools' wheel set. F1 of a class that is never predicted nor present is 0, as scikit-learn's zero_division=0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    macro_f1: float
    f1: dict[str, float]
    confusion: dict[str, dict[str, int]]  # confusion[true label][predicted label] = count

    def as_dict(self) -> dict:
        return {"n": self.n, "accuracy": self.accuracy, "macro_f1": self.macro_f1, "f1": self.f1,
                "confusion": self.confusion}


def f1(tp: int, fp: int, fn: int) -> float:
    # 2PR/(P+R) simplifies to 2tp/(2tp+fp+fn), which is also defined (0) when P or R is.
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def score(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = LABELS) -> Scores:
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    if not truth:
        raise ValueError("nothing to score")
    unknown = (set(truth) | set(predicted)) - set(labels)
    if unknown:
        raise ValueError(f"labels outside {list(labels)}: {sorted(unknown)}")
    confusion = {t: {p: 0 for p in labels} for t in labels}
    for t, p in zip(truth, predicted):
        confusion[t][p] += 1
    per_class = {}
    for label in labels:
        tp = confusion[label][label]
        fp = sum(confusion[t][label] for t in labels) - tp
        fn = sum(confusion[label].values()) - tp
        per_class[label] = f1(tp, fp, fn)
    correct = sum(confusion[label][label] for label in labels)
    return Scores(len(truth), correct / len(truth), sum(per_class.values()) / len(labels), per_class, confusion)


def agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of items given the same label by two runs."""
    if len(a) != len(b) or not a:
        raise ValueError("agreement needs two equally long, non-empty label lists")
    return sum(x == y for x, y in zip(a, b)) / len(a)
