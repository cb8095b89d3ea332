"""The README's main command: the whole feature on this machine, on embedded defaults.

    tools/bazel run //lambdas/analysis:local [-- --model DIR|TARBALL|random] [--out DIR] [--no-cpu-quota]

Builds nothing itself (Bazel built the image and the demo model it is given), then: takes the model — by default the
demo model (//tools/model:demo_model, a small DistilBERT trained here on lexicon-labelled text: its labels mean
something, but it is no production model), or --model: a real save_pretrained directory (packed as
//tools/model:publish packs it), a model.tar.gz, or `random` (a full-size DistilBERT-architecture model with random
weights: the size and cold start of the real thing, labels meaningless) — uploads it as
s3://sentiment-models/distilbert/v1.0.0/model.tar.gz to moto with publish's sha256 metadata and pins MODEL_SHA256 to
it, seeds the sentiment-items table with pending items from the shipped headlines, pushes the image to a local
registry and runs what it pulls back under runc behind the Runtime API emulator, and delivers the items as AWS
would (delivery.py): half published to SNS (one record per invocation), half through the SNS -> SQS buffer queue
(batches shaped by the Terraform module's batch size and window), with a poison record on each path. It prints the
cold-start phases, the invocations per path with their latency, the items with their new sentiment/score/status,
the dead-lettered records with their reasons, and the dashboard's path. Everything started is stopped on exit,
also on Ctrl-C. The container gets Lambda's CPU for its memory (2048 MB: 1.158 vCPUs as a CFS quota);
--no-cpu-quota lifts it.
"""

import argparse
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.lambda_emulator import InvokeResult
from tools.local import dashboard
from tools.local.delivery import Invocation, SnsTopic, drain
from tools.local.latency import percentile
from tools.local.sqs_source import SqsEventSource
from tools.local.stack import MODEL_VERSION, LocalStack
from tools.model import publish
from tools.oci import runc_lambda
from tools.testing.events import make_item, poison_messages
from tools.testing.tiny_model import build_artifact

HEADLINES = Path(__file__).resolve().parents[2] / "bench/headlines.txt"
START = time.monotonic()


def say(message: str) -> None:
    print(f"[local {time.monotonic() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


DEMO_NOTE = "demo model trained on lexicon-labelled text (//tools/model:demo_model; not a production model)"


def model_tarball(arg: str | None, demo: str | None, work: Path) -> tuple[Path, str]:
    if arg is None:
        if demo is None:
            raise SystemExit("local: no --model and no --demo-model (the Bazel target passes the demo model)")
        say(f"model: {DEMO_NOTE}")
        return Path(demo).resolve(), DEMO_NOTE
    if arg == "random":
        say("generating a full-size DistilBERT-architecture model with RANDOM weights (labels meaningless)")
        return build_artifact(work / "model", full_size=True).tarball, "generated, random weights (labels meaningless)"
    path = Path(os.environ.get("BUILD_WORKING_DIRECTORY", "."), arg).resolve()  # relative to the caller
    if path.is_dir():
        tarball = work / "model.tar.gz"
        say(f"packing {path} as //tools/model:publish does (top-level model/, publish.json)")
        publish.pack(path, tarball)
        return tarball, f"packed from {path}"
    if path.is_file():
        return path, f"{path}"
    raise SystemExit(f"local: --model {arg}: no such file or directory")


def deliver(invoke: Callable[[dict], InvokeResult], buffer: SqsEventSource, items: list[dict],
            poison: list[Any]) -> list[Invocation]:
    """The first half of ITEMS and of POISON through SNS (an invocation each), the rest through the buffer queue
    (batches); returns every invocation, retries included."""
    topic = SnsTopic()
    for message in items[:len(items) // 2] + poison[:len(poison) // 2]:
        topic.publish(message)
    buffer.send([(message, None) for message in items[len(items) // 2:] + poison[len(poison) // 2:]])
    return drain(invoke, topic, buffer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="OCI image layout (passed by the Bazel target)")
    parser.add_argument("--model", help="a model directory, a model.tar.gz, or `random` (default: the demo model)")
    parser.add_argument("--demo-model", help="the demo model's tarball (passed by the Bazel target)")
    parser.add_argument("--out", help="where the dashboard goes (default: a new temp dir)")
    runc_lambda.add_cpu_quota_flag(parser)
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
        tarball, model_note = model_tarball(args.model, args.demo_model, work)
        with LocalStack(Path(args.image), work / "stack", tarball, progress=say, cpus=args.cpus) as stack:
            stack.seed(items)
            say(f"seeded {len(items)} pending items in sentiment-items")
            poison = [message for message, _ in poison_messages().values()]
            say(f"delivering {len(items)} items and {len(poison)} poison records: half through SNS (one record per "
                f"invocation), half through the SQS buffer queue (batches of at most {stack.buffer.batch_size})")
            invocations = deliver(stack.invoke, stack.buffer, items, poison)
            failed = [i.result for i in invocations if not i.result.ok]
            if failed:
                say(f"{len(failed)} invocation(s) failed (retried as AWS would); the first: "
                    f"{failed[0].payload.decode()[:2000]}")
            dead_letters = stack.rejects()
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
        print(f"Cold start (first invocation; CPU {stack.cpu_limit}), from the container's 'Model loaded "
              "successfully' log line:")
        print(f"  init (runtime start -> first next): {invocations[0].result.record.init_ms:.0f} ms")
        for key in ("download_extract_ms", "import_ms", "import_wait_ms", "model_init_ms", "load_time_ms"):
            print(f"  {key:<22} {phases.get(key)}")
    else:
        print("WARNING: no 'Model loaded successfully' line in the container log")
    print("Invocations (as AWS delivers: SNS one record each, SQS in batches):")
    for kind in ("sns", "sqs"):
        mine = [i for i in invocations if i.kind == kind]
        durations = [i.result.record.duration_ms for i in mine if i.result.record.duration_ms is not None]
        summaries = [i.result.json() for i in mine if i.result.ok]
        rejected = sum(len(s.get("rejected", [])) for s in summaries)
        print(f"  {kind}: {len(mine)} invocations of {sum(i.records for i in mine)} records (at most "
              f"{max((i.records for i in mine), default=0)} per invocation); analyzed "
              f"{sum(s.get('analyzed', 0) for s in summaries)}, rejected {rejected}; duration p50 "
              f"{percentile(durations, 0.5):.0f} ms, p99 {percentile(durations, 0.99):.0f} ms")
    first = invocations[0].result.record
    print(f"  first invocation: {first.duration_ms:.0f} ms, cold={first.cold_start}")
    print(f"Dead-lettered to the rejects queue: {len(dead_letters)}")
    for letter in dead_letters:
        print(f"  {letter['event_kind']} record {letter['record_id']}: {letter['reason'][:110]}")
    print(f"Peak memory of the container ({stack.peak_memory_source}): {peak_mb:.0f} MB "
          f"(memory limit {stack.memory_limit}; CPU {stack.cpu_limit}); "
          f"files written outside /tmp: {len(outside)}")
    print(f"\n{'source_id':<26} {'sentiment':<9} {'score':<7} {'status':<9} text")
    for row in rows:
        print(f"{row['source_id']:<26} {str(row['sentiment']):<9} {str(row['score'])[:6]:<7} {str(row['status']):<9} "
              f"{row['text'][:60]}")
    counts = Counter(row["sentiment"] for row in rows)
    page = dashboard.write(out, counts, [i.result.record.duration_ms for i in invocations], rows,
                           [f"Model: {model_note}", f"Image: {stack.reference}", f"Peak memory: {peak_mb:.0f} MB"],
                           cold_starts=[i.result.record.cold_start for i in invocations])
    print(f"\nDashboard: {page} (and {page.with_suffix('.png')})")
    analyzed = sum(1 for row in rows if row["status"] == "analyzed")
    say(f"done: {analyzed}/{len(rows)} items analyzed, {len(dead_letters)}/{len(poison)} poison records dead-lettered")
    if analyzed != len(rows) or len(dead_letters) != len(poison):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("local: interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
