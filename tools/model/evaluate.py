"""Evaluate a sentiment model on labelled text through the handler's own SentimentModel, fp32 and int8.

    tools/bazel run //tools/model:evaluate -- --model DIR|TARBALL --data FILE.tsv [--json OUT]

FILE.tsv: one item per line, ``label<TAB>text``, labels positive / negative / neutral. Each item is labelled as
the Lambda labels it (lambdas/analysis/sentiment.py: id2label[argmax] lower-cased, ``neutral`` below the
confidence threshold, the handler's default 0.6 unless --threshold). Prints, for fp32 and for int8 (dynamic
quantization, QUANTIZE_INT8): accuracy, macro-F1, the confusion matrix, the share turned ``neutral`` by the
threshold and the per-item latency (one item per call, as an SNS invocation of one record); then the label
agreement between the two and int8's accuracy drop.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdas.shared.model_store import validate_model_dir
from lambdas.shared.safe_tar import extract_tar_stream
from lambdas.shared.settings import Settings
from tools.model import metrics

DEFAULT_THRESHOLD = Settings.model_fields["confidence_threshold"].default
PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class Item:
    label: str
    text: str


def read_tsv(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in metrics.LABELS or not text.strip():
            raise SystemExit(f"evaluate: {path}:{number}: expected label<TAB>text with a label in "
                             f"{', '.join(metrics.LABELS)}")
        items.append(Item(label, text))
    if not items:
        raise SystemExit(f"evaluate: {path}: no items")
    return items


def model_dir(path: Path, scratch: Path) -> Path:
    """A model directory as given, or a model.tar.gz unpacked as the Lambda unpacks it (safe_tar)."""
    if path.is_dir():
        return path
    with open(path, "rb") as fh:
        extract_tar_stream(fh, scratch)
    # Files at the tar root or under one top-level directory, as the handler accepts.
    root = scratch if (scratch / "config.json").is_file() else next(
        (p.parent for p in sorted(scratch.glob("*/config.json"))), scratch)
    validate_model_dir(root)
    return root


def summarise(items: Sequence[Item], predictions: Sequence, latencies_ms: Sequence[float]) -> dict:
    """Figures of one run: predictions are lambdas.analysis.sentiment.Prediction (label, score, model_label)."""
    labels = [p.label for p in predictions]
    scores = metrics.score([i.label for i in items], labels)
    by_threshold = sum(1 for p in predictions if p.label == "neutral" and p.model_label != "neutral")
    return {**scores.as_dict(), "labels": labels, "scores": [round(p.score, 6) for p in predictions],
            "neutral_by_threshold": by_threshold / len(predictions),
            "latency_ms": {"median": statistics.median(latencies_ms),
                           "p95": statistics.quantiles(latencies_ms, n=20)[-1] if len(latencies_ms) > 1
                           else latencies_ms[0]}}


def run(directory: Path, items: Sequence[Item], precision: str, threshold: float) -> dict:
    from lambdas.analysis.sentiment import SentimentModel

    model = SentimentModel.load(directory, quantize_int8=precision == "int8")
    predictions = model.predict([i.text for i in items], threshold=threshold)
    latencies = []
    model.predict([items[0].text], threshold=threshold)  # warm-up: the first call pays one-off allocations
    for item in items:
        started = time.perf_counter()
        model.predict([item.text], batch_size=1, threshold=threshold)
        latencies.append((time.perf_counter() - started) * 1000)
    return summarise(items, predictions, latencies)


def compare(runs: dict[str, dict]) -> dict:
    fp32, int8 = runs["fp32"], runs["int8"]
    return {"agreement": metrics.agreement(fp32["labels"], int8["labels"]),
            "accuracy_drop": fp32["accuracy"] - int8["accuracy"]}


def evaluate(model: Path, items: Sequence[Item], threshold: float = DEFAULT_THRESHOLD) -> dict:
    with tempfile.TemporaryDirectory(prefix="evaluate-model-") as scratch:
        directory = model_dir(model, Path(scratch))
        runs = {precision: run(directory, items, precision, threshold) for precision in PRECISIONS}
    return {"threshold": threshold, "n": len(items), **runs, **compare(runs)}


def confusion_table(confusion: dict[str, dict[str, int]]) -> str:
    head = "| true \\ predicted | " + " | ".join(metrics.LABELS) + " |\n| --- |" + " --- |" * len(metrics.LABELS)
    rows = [f"| {t} | " + " | ".join(str(confusion[t][p]) for p in metrics.LABELS) + " |" for t in metrics.LABELS]
    return "\n".join([head, *rows])


def report(result: dict) -> str:
    """Markdown: the figures table, both confusion matrices, agreement and accuracy drop."""
    lines = ["| | fp32 | int8 |", "| --- | --- | --- |"]
    rows = [("accuracy (`neutral` by the threshold rule)", lambda r: f"{r['accuracy']:.1%}"),
            ("macro-F1", lambda r: f"{r['macro_f1']:.3f}"),
            ("F1 positive / neutral / negative",
             lambda r: " / ".join(f"{r['f1'][label]:.2f}" for label in metrics.LABELS)),
            (f"turned `neutral` by the threshold ({result['threshold']})",
             lambda r: f"{r['neutral_by_threshold']:.1%}"),
            ("latency per item, one item per call (median / p95)",
             lambda r: f"{r['latency_ms']['median']:.2f} / {r['latency_ms']['p95']:.2f} ms")]
    lines += [f"| {name} | {fmt(result['fp32'])} | {fmt(result['int8'])} |" for name, fmt in rows]
    parts = ["\n".join(lines)]
    for precision in PRECISIONS:
        parts.append(f"Confusion matrix, {precision}:\n\n{confusion_table(result[precision]['confusion'])}")
    parts.append(f"fp32 vs int8 label agreement: **{result['agreement']:.1%}**; accuracy drop with int8: "
                 f"**{result['accuracy_drop'] * 100:+.1f} points** ({result['n']} items).")
    return "\n\n".join(parts)


def resolve(path: str) -> Path:
    # `bazel run` starts in the runfiles tree; relative paths mean the caller's directory.
    return Path(os.environ.get("BUILD_WORKING_DIRECTORY", ".")) / path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model directory or model.tar.gz")
    parser.add_argument("--data", required=True, help="TSV: label<TAB>text")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--json", help="also write every figure (and each item's label and score) here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = evaluate(resolve(args.model), read_tsv(resolve(args.data)), args.threshold)
    print(report(result))
    if args.json:
        resolve(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
