"""Cold path by phase and warm latency per item, ours against a naive baseline measured in the same run.

    tools/bazel run //bench:inference_latency [-- --sizes tiny,full --repeats 5]

Models are generated DistilBERT-architecture models (random weights for `full`: full size, not a real model),
packed exactly like production's model.tar.gz and served by moto's S3 server on loopback.
- cold: a fresh process per run, from process start to the first prediction. Ours: streamed download+extract
  overlapped with the torch/transformers import (lambdas/analysis/model_cache.py). Naive: download_file to disk,
  untar, pipeline().
- warm: per-item latency at batch 1, 8 and 32, fp32 and int8, for the handler's SentimentModel.predict, for a
  bare forward pass (tokenizer + model, nothing else) and for the naive pipeline() called per item.
Prints a table and writes bench/results/inference_latency.json and the section of bench/REPORT.md.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from tools.testing import moto_server
from tools.testing.tiny_model import build_artifact

HERE = Path(__file__).resolve().parent
PROBE = HERE / "cold_path_probe.py"
HEADLINES = (HERE / "headlines.txt").read_text().splitlines()
BUCKET, KEY = "bench-models", "distilbert/v1.0.0/model.tar.gz"
BATCHES = (1, 8, 32)


def cold_runs(kind: str, env: dict, work: Path, repeats: int) -> list[dict]:
    runs = []
    for i in range(repeats):
        run_env = {**env, "MODEL_DIR": str(work / f"{kind}-{i}")}
        result = subprocess.run([sys.executable, str(PROBE), kind], env=run_env, capture_output=True, text=True,
                                timeout=600)
        lines = [l for l in result.stdout.splitlines() if l.startswith("COLD-PATH ")]
        if result.returncode != 0 or not lines:
            raise SystemExit(f"cold path probe ({kind}) failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        runs.append(json.loads(lines[-1].removeprefix("COLD-PATH ")))
    return runs


def median_of(runs: list[dict]) -> dict:
    return {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0] if isinstance(runs[0][k], float)}


def per_item_ms(fn, n: int, repeats: int) -> float:
    fn()  # warm-up: first call pays one-off allocations
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000 / n)
    return round(statistics.median(samples), 2)


def warm(model_dir: Path, repeats: int) -> dict:
    import torch
    from transformers import pipeline

    from lambdas.analysis.sentiment import SentimentModel

    texts = (HEADLINES * 4)[:32]
    figures = {}
    for precision in ("fp32", "int8"):
        model = SentimentModel.load(model_dir, quantize_int8=precision == "int8")
        tokenizer, bare = model._tokenizer, model._model  # the same objects the handler uses

        def forward(batch):
            with torch.inference_mode():
                enc = tokenizer(batch, padding=True, truncation=True, max_length=model.max_length,
                                return_tensors="pt")
                bare(**enc)

        for n in BATCHES:
            batch = texts[:n]
            figures[f"{precision}_batch{n}_ours_ms"] = per_item_ms(lambda: model.predict(batch, batch_size=n), n, repeats)
            figures[f"{precision}_batch{n}_bare_forward_ms"] = per_item_ms(lambda: forward(batch), n, repeats)
    classifier = pipeline("text-classification", model=str(model_dir), device=-1)
    figures["naive_pipeline_per_item_ms"] = per_item_ms(lambda: [classifier(t) for t in texts[:8]], 8, repeats)
    return figures


def report_section(results: dict) -> str:
    lines = ["Command: `tools/bazel run //bench:inference_latency` (in-process, no container, so no CPU quota: "
             "the host's CPUs).", "",
             f"Machine: {results['machine']}. Models are generated (random weights), packed like production.",
             "In process, Python runs from Bazel's runfiles with one sys.path entry per wheel (~50), which makes the",
             "torch/transformers import slower than in the image (one site-packages): the container figures are in",
             "'Cold start in the container'.", ""]
    for size, data in results["models"].items():
        cold_ours, cold_naive = data["cold_ours"], data["cold_naive"]
        lines += [f"### {size} model ({data['tarball_mb']:.0f} MB tarball), cold start, median of {data['repeats']} "
                  "fresh processes", "",
                  "| | ours | naive baseline |", "| --- | --- | --- |"]
        lines.append(f"| download+extract (streamed, overlapped with import) | {cold_ours['download_extract_ms']:.0f} ms "
                     f"| download {cold_naive['download_ms']:.0f} ms + extract {cold_naive['extract_ms']:.0f} ms |")
        lines.append(f"| torch+transformers import | {cold_ours['import_ms']:.0f} ms (waited {cold_ours['import_wait_ms']:.0f} ms) "
                     f"| {cold_naive['import_ms']:.0f} ms |")
        lines.append(f"| weights load | {cold_ours['load_ms']:.0f} ms | {cold_naive['load_ms']:.0f} ms |")
        lines.append(f"| process start → first prediction | **{cold_ours['first_prediction_ms']:.0f} ms** "
                     f"| {cold_naive['first_prediction_ms']:.0f} ms |")
        lines.append(f"| speed-up | {cold_naive['first_prediction_ms'] / cold_ours['first_prediction_ms']:.2f}× | |")
        lines.append(f"| peak RSS | {cold_ours['peak_rss_mb']:.0f} MB | {cold_naive['peak_rss_mb']:.0f} MB |")
        w = data["warm"]
        lines += ["", f"Warm latency per item ({size}), median of {data['repeats']}:", "",
                  "| batch | ours fp32 | bare forward fp32 | ours int8 | bare forward int8 |", "| --- | --- | --- | --- | --- |"]
        for n in BATCHES:
            lines.append(f"| {n} | {w[f'fp32_batch{n}_ours_ms']} ms | {w[f'fp32_batch{n}_bare_forward_ms']} ms "
                         f"| {w[f'int8_batch{n}_ours_ms']} ms | {w[f'int8_batch{n}_bare_forward_ms']} ms |")
        lines += ["", f"Naive `pipeline()` one item at a time: {w['naive_pipeline_per_item_ms']} ms/item.", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,full")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", HERE.parent))

    results = {"machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
               "models": {}}
    server = moto_server.start_moto_server()
    try:
        moto_server.create_bucket(server, BUCKET)
        rejects_queue_url = moto_server.create_queue(server, "bench-rejects")
        with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
            work = Path(tmp)
            for size in args.sizes.split(","):
                print(f"bench: generating the {size} model", file=sys.stderr)
                artifact = build_artifact(work / size, full_size=size == "full")
                moto_server.upload_model(server, BUCKET, f"{size}/{KEY}", artifact.tarball.read_bytes())
                env = {**os.environ, "MODEL_S3_URI": f"s3://{BUCKET}/{size}/{KEY}", "MODEL_VERSION": "v1.0.0",
                       "REJECTS_QUEUE_URL": rejects_queue_url,
                       "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                       "POWERTOOLS_METRICS_NAMESPACE": "Bench", "POWERTOOLS_TRACE_DISABLED": "1",
                       "PYTHONPATH": os.pathsep.join(sys.path)}
                print(f"bench: cold starts ({size})", file=sys.stderr)
                data = {
                    "tarball_mb": artifact.tarball.stat().st_size / 1e6,
                    "repeats": args.repeats,
                    "cold_ours": median_of(cold_runs("ours", env, work, args.repeats)),
                    "cold_naive": median_of(cold_runs("naive", env, work, args.repeats)),
                }
                print(f"bench: warm latency ({size})", file=sys.stderr)
                data["warm"] = warm(artifact.model_dir, max(args.repeats, 5))
                results["models"][size] = data
    finally:
        server.stop()

    section = report_section(results)
    print(section)
    report.write(workspace, "inference_latency", "Inference: cold path and warm latency, in process", section, results)


if __name__ == "__main__":
    main()
