"""The README's main command: the whole feature on this machine, on embedded defaults.

    tools/bazel run //lambdas/analysis:local [-- --model DIR|TARBALL] [--batches 3] [--out DIR]

Builds nothing itself (Bazel built the image it is given), then: generates a full-size DistilBERT-architecture
model with RANDOM weights unless --model names a real one (its labels are then meaningless: it shows the
mechanics, not sentiment quality), uploads it as s3://sentiment-models/distilbert/v1.0.0/model.tar.gz to moto,
seeds the sentiment-items table with pending items from the shipped headlines, pushes the image to a local
registry and runs what it pulls back under runc behind the Runtime API emulator, publishes the items as SNS
events in a few batches, and prints the cold-start phases, per-invocation latency, the items with their new
sentiment/score/status, and the dashboard's path. Everything started is stopped on exit, also on Ctrl-C.
"""

import argparse
import os
import signal
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

from tools.local import dashboard
from tools.local.stack import MODEL_VERSION, LocalStack
from tools.testing.events import make_item, sns_event
from tools.testing.tiny_model import build_artifact

HEADLINES = Path(__file__).resolve().parents[2] / "bench/headlines.txt"
START = time.monotonic()


def say(message: str) -> None:
    print(f"[local {time.monotonic() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


def model_tarball(arg: str | None, work: Path) -> tuple[Path, str]:
    if arg is None:
        say("generating a full-size DistilBERT-architecture model with RANDOM weights (no real weights exist here)")
        return build_artifact(work / "model", full_size=True).tarball, "generated, random weights (labels meaningless)"
    path = Path(arg).resolve()
    if path.is_dir():
        tarball = work / "model.tar.gz"
        with tarfile.open(tarball, "w:gz") as tar:
            for child in sorted(path.iterdir()):
                tar.add(child, arcname=child.name)
        return tarball, f"packed from {path}"
    if path.is_file():
        return path, f"{path}"
    raise SystemExit(f"local: --model {arg}: no such file or directory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="OCI image layout (passed by the Bazel target)")
    parser.add_argument("--model", help="a real model directory or model.tar.gz (default: generated)")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--out", help="where the dashboard goes (default: a new temp dir)")
    args = parser.parse_args()
    # Ctrl-C and termination unwind through the context manager, which stops everything it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))

    headlines = [h for h in HEADLINES.read_text().splitlines() if h.strip()]
    items = [make_item(i, text, model_version=MODEL_VERSION) for i, text in enumerate(headlines)]
    # Next to the checkout (bazel-* is ignored by git) when run through Bazel, else a new temp dir.
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    out = Path(args.out) if args.out else (Path(workspace) / "bazel-local-run" if workspace
                                          else Path(tempfile.mkdtemp(prefix="analysis-local-")))
    with tempfile.TemporaryDirectory(prefix="analysis-local-work-") as tmp:
        work = Path(tmp)
        tarball, model_note = model_tarball(args.model, work)
        with LocalStack(Path(args.image), work / "stack", tarball, progress=say) as stack:
            stack.seed(items)
            say(f"seeded {len(items)} pending items in sentiment-items")
            size = -(-len(items) // args.batches)
            results = []
            for n in range(args.batches):
                batch = items[n * size:(n + 1) * size]
                say(f"publishing batch {n + 1}/{args.batches}: {len(batch)} SNS records")
                result = stack.invoke(sns_event(*batch))
                if not result.ok:
                    raise SystemExit(f"local: invocation failed: {result.payload.decode()[:2000]}")
                results.append((result, stack.emulator.invocations[-1]))
            rows = []
            for item in items:
                stored = stack.item(item["source_id"], item["timestamp"]) or {}
                rows.append({"source_id": item["source_id"], "text": item["text_for_analysis"],
                             "sentiment": stored.get("sentiment"), "score": stored.get("score"),
                             "status": stored.get("status")})
            loaded = [l for l in stack.container_log() if l.get("message") == "Model loaded successfully"]
            peak_mb = stack.peak_memory_bytes / 2**20
            outside = stack.files_written_outside_tmp()

    print(f"\nModel: {model_note}. Image: {stack.reference}")
    if loaded:
        phases = loaded[0]
        print("Cold start (first invocation), from the container's 'Model loaded successfully' log line:")
        print(f"  init (runtime start -> first next): {results[0][1].init_ms:.0f} ms")
        for key in ("download_extract_ms", "import_ms", "import_wait_ms", "model_init_ms", "load_time_ms"):
            print(f"  {key:<22} {phases.get(key)}")
    else:
        print("WARNING: no 'Model loaded successfully' line in the container log")
    print("Invocations:")
    for i, (result, record) in enumerate(results):
        summary = result.json()
        print(f"  #{i + 1}: {record.duration_ms:.0f} ms, cold={record.cold_start}, analyzed={summary.get('analyzed')}, "
              f"duplicates={summary.get('duplicates')}, rejected={len(summary.get('rejected', []))}")
    print(f"Peak memory of the container ({stack.peak_memory_source}): {peak_mb:.0f} MB "
          f"(memory limit {stack.memory_limit}); "
          f"files written outside /tmp: {len(outside)}")
    print(f"\n{'source_id':<26} {'sentiment':<9} {'score':<7} {'status':<9} text")
    for row in rows:
        print(f"{row['source_id']:<26} {str(row['sentiment']):<9} {str(row['score'])[:6]:<7} {str(row['status']):<9} "
              f"{row['text'][:60]}")
    counts = Counter(row["sentiment"] for row in rows)
    page = dashboard.write(out, counts, [record.duration_ms for _, record in results], rows,
                           [f"Model: {model_note}", f"Image: {stack.reference}", f"Peak memory: {peak_mb:.0f} MB"])
    print(f"\nDashboard: {page} (and {page.with_suffix('.png')})")
    analyzed = sum(1 for row in rows if row["status"] == "analyzed")
    say(f"done: {analyzed}/{len(rows)} items analyzed")
    if analyzed != len(rows):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("local: interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
