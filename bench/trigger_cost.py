"""Cost per item by trigger: SNS direct (one record per invocation) against the SQS buffer (batches as the Terraform
module sets them), the same number of items each, in the container under Lambda's CPU quota, one run.

    tools/bazel run //bench:trigger_cost [-- --items 1000 --rate 2] [--no-cpu-quota]

The existing local stack (tools/local: LocalStack, SnsTopic, SqsEventSource, drain) with the image's own handler at
the module's defaults (2048 MB, fp32) and the full-size generated DistilBERT model (random weights) from moto's S3.
After one warm-up invocation (the cold start, which both triggers pay alike, is left out), ITEMS are published at
RATE per second (tools/local/paced.py: a steady rate below what one environment sustains, so the latency is an
item's own wait, not a backlog's) to the SNS topic, then as many to the SNS -> SQS buffer queue (sqs_batch_size 10,
window 5 s). Per trigger: invocations, billed GB-seconds (each duration rounded up to 1 ms, x 2 GB) per 1,000
items, and publish -> `analyzed` latency (publisher's clock to the analyzed_at the function wrote) p50 / p99.
One execution environment drains both: on Lambda, SNS direct would run more environments at once when invocations
overlap; at this rate they rarely do. Writes the "Cost per item by trigger" section of bench/REPORT.md and
bench/results/trigger_cost.json.
"""

import argparse
import bisect
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench import report
from bench.progress import progress
from tools.local.billing import gb_seconds
from tools.local.delivery import SnsTopic
from tools.local.latency import percentile
from tools.local.module_defaults import MODULE_DEFAULTS
from tools.local.paced import PacedPublisher, drain_while
from tools.local.services import TABLE
from tools.local.stack import LocalStack
from tools.oci import runc_lambda
from tools.testing.events import make_item, sns_event
from tools.testing.moto_server import scan_items
from tools.testing.tiny_model import build_artifact

HERE = Path(__file__).resolve().parent
HEADLINES = (HERE / "headlines.txt").read_text().splitlines()
MEMORY_MB = 2048  # the module's memory_size default


def load() -> float:
    return round(os.getloadavg()[0], 2)


def run_trigger(stack: LocalStack, kind: str, items: list[dict], rate: float) -> dict:
    stack.seed(items)
    topic = SnsTopic() if kind == "sns" else None
    if kind == "sns":
        publish = topic.publish
    else:
        publish = lambda item: stack.buffer.send([(item, None)])  # noqa: E731 - the topic's subscription
    figures = {"load_before": load()}
    started = time.monotonic()
    publisher = PacedPublisher(publish, items, rate)
    invocations = drain_while(publisher, stack.invoke, topic=topic, source=stack.buffer if kind == "sqs" else None)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    stored = scan_items(stack.services.moto, TABLE)
    # Each item's latency in two parts: publish -> start of the invocation that analysed it (the SQS window, or a
    # wait for the one environment), and that start -> analyzed_at. One environment serves one invocation at a
    # time, so the invocation is the last one started at or before analyzed_at.
    starts = sorted(inv.result.record.started_at for inv in invocations)
    latencies, waits, inside = [], [], []
    for item, sent_at in zip(items, publisher.sent_at):
        row = stored.get((item["source_id"], item["timestamp"]), {})
        if row.get("status") == "analyzed":
            analyzed_at = datetime.fromisoformat(row["analyzed_at"].replace("Z", "+00:00")).timestamp()
            started = starts[max(0, bisect.bisect_right(starts, analyzed_at) - 1)]
            latencies.append((analyzed_at - sent_at) * 1000)
            waits.append((started - sent_at) * 1000)
            inside.append((analyzed_at - started) * 1000)
    durations = [inv.result.record.duration_ms or 0.0 for inv in invocations]
    per_thousand = 1000 / len(items)
    figures.update({
        "items": len(items), "analyzed": len(latencies), "invocations": len(invocations),
        "failed_invocations": sum(not inv.result.ok for inv in invocations),
        "records_per_invocation": round(sum(inv.records for inv in invocations) / len(invocations), 2),
        "billed_gb_s_per_1000": round(gb_seconds(durations, MEMORY_MB) * per_thousand, 2),
        "billed_ms_per_item": round(sum(inv.result.record.billed_ms or 0 for inv in invocations) / len(items), 1),
        "invocations_per_1000": round(len(invocations) * per_thousand),
        "latency_p50_ms": round(percentile(latencies, 0.5)), "latency_p99_ms": round(percentile(latencies, 0.99)),
        "before_invocation_p50_ms": round(percentile(waits, 0.5)),
        "before_invocation_p99_ms": round(percentile(waits, 0.99)),
        "in_invocation_p50_ms": round(percentile(inside, 0.5)), "in_invocation_p99_ms": round(percentile(inside, 0.99)),
        "invocation_p50_ms": round(percentile(durations, 0.5)), "invocation_p99_ms": round(percentile(durations, 0.99)),
        "busy_s": round(sum(durations) / 1000, 1),
        "load_after": load(),
    })
    return figures


def sum_busy(figures: dict) -> float:
    """The share of the phase's wall time the environment spent invoking."""
    return figures["busy_s"] / figures["wall_s"]


def section(results: dict) -> str:
    sns, sqs = results["sns"], results["sqs"]
    rows = [
        ("invocations", "invocations", "{}"),
        ("records per invocation (mean)", "records_per_invocation", "{}"),
        ("items analyzed", "analyzed", "{}"),
        ("failed invocations", "failed_invocations", "{}"),
        ("invocation duration p50", "invocation_p50_ms", "{} ms"),
        ("invocation duration p99", "invocation_p99_ms", "{} ms"),
        ("billed duration per item", "billed_ms_per_item", "{} ms"),
        ("**billed GB-seconds per 1,000 items**", "billed_gb_s_per_1000", "**{}**"),
        ("publish → `analyzed` p50", "latency_p50_ms", "{} ms"),
        ("publish → `analyzed` p99", "latency_p99_ms", "{} ms"),
        ("of which publish → its invocation's start, p50 / p99", "before_invocation", None),
        ("of which invocation start → `analyzed`, p50 / p99", "in_invocation", None),
        ("wall time", "wall_s", "{} s"),
        ("1-minute load average, before → after", None, None),
    ]
    lines = [
        "Command: `tools/bazel run //bench:trigger_cost`: the image under runc behind the Runtime API emulator "
        f"({MEMORY_MB} MB, CPU {results['cpu_limit']}), the function's handler at the module's defaults (fp32), "
        f"full-size DistilBERT-architecture model with random weights ({results['tarball_mb']} MB tarball); warm (one "
        f"cold start before, not counted). {results['items']} items per trigger, published at {results['rate']}/s to "
        "the local stack's SNS topic (one record per invocation), then as many through the SNS → SQS buffer "
        f"(batch {results['sqs_batch_size']}, window {results['sqs_window_s']} s, as the module sets them); one "
        "execution environment. Billed = each duration rounded up to 1 ms × 2 GB; request charges are per invocation.",
        "", f"Machine: {results['cpus']} CPUs shared with other work.", "",
        "| | SNS direct (module default today) | SQS buffer (`enable_sqs_buffer`) |", "| --- | --- | --- |",
    ]
    for label, key, fmt in rows:
        if fmt is None and key is not None:
            lines.append(f"| {label} | {sns[key + '_p50_ms']} / {sns[key + '_p99_ms']} ms "
                         f"| {sqs[key + '_p50_ms']} / {sqs[key + '_p99_ms']} ms |")
        elif key is None:
            lines.append(f"| {label} | {sns['load_before']} → {sns['load_after']} | {sqs['load_before']} → "
                         f"{sqs['load_after']} |")
        else:
            lines.append(f"| {label} | {fmt.format(sns[key])} | {fmt.format(sqs[key])} |")
    ratio = sns["billed_gb_s_per_1000"] / sqs["billed_gb_s_per_1000"]
    lines += ["", f"SNS direct bills {ratio:.2f}× the GB-seconds of the SQS buffer and makes "
              f"{sns['invocations'] / sqs['invocations']:.1f}× its invocations; the buffer's publish → `analyzed` "
              "against SNS direct's: p50 "
              f"{sqs['latency_p50_ms'] - sns['latency_p50_ms']:+} ms, p99 {sqs['latency_p99_ms'] - sns['latency_p99_ms']:+} ms "
              "(the batching window is the wait: at this rate a batch of 10 fills in "
              f"{results['sqs_batch_size'] / results['rate']:.1f} s). Busy share of the one environment (invocation "
              f"time / wall time): SNS {sum_busy(sns):.0%}, SQS {sum_busy(sqs):.0%}; near 100 % the SNS latency is a "
              "queue that Lambda would not have (it runs more environments at once, each new one a cold start): "
              "there, SNS direct's publish → `analyzed` is about its invocation start → `analyzed` "
              f"({sns['in_invocation_p50_ms']} / {sns['in_invocation_p99_ms']} ms p50 / p99), while the SQS "
              "buffer's wait for its batch to fill stays."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--items", type=int, default=1000, help="items per trigger")
    parser.add_argument("--rate", type=float, default=2.0, help="items published per second")
    runc_lambda.add_cpu_quota_flag(parser)
    args = parser.parse_args()
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", HERE.parent))
    started = time.monotonic()
    say = progress("trigger")

    results = {"cpus": os.cpu_count(), "items": args.items, "rate": args.rate,
               "sqs_batch_size": MODULE_DEFAULTS["sqs_batch_size"],
               "sqs_window_s": MODULE_DEFAULTS["sqs_maximum_batching_window_in_seconds"]}
    with tempfile.TemporaryDirectory(prefix="bench-trigger-") as tmp:
        work = Path(tmp)
        say("generating a full-size DistilBERT-architecture model (random weights)")
        artifact = build_artifact(work / "model", full_size=True)
        results["tarball_mb"] = round(artifact.tarball.stat().st_size / 1e6)
        with LocalStack(Path(args.image), work / "stack", artifact.tarball, progress=say, cpus=args.cpus,
                        memory_mb=MEMORY_MB) as stack:
            results["cpu_limit"] = stack.cpu_limit.split(", cgroup")[0]
            warm_up = make_item(10**6, HEADLINES[0])
            stack.seed([warm_up])
            if not stack.invoke(sns_event(warm_up)).ok:
                raise SystemExit("bench: the warm-up invocation failed")
            for offset, kind in enumerate(("sns", "sqs")):
                items = [make_item(offset * args.items + n, HEADLINES[n % len(HEADLINES)]) for n in range(args.items)]
                say(f"{kind}: {args.items} items at {args.rate}/s")
                results[kind] = run_trigger(stack, kind, items, args.rate)
                say(f"{kind}: {results[kind]}")
    results["wall_s"] = round(time.monotonic() - started)
    text = section(results)
    print(text)
    # The unconstrained run has a section of its own, beside the quota's.
    lifted = args.cpus is None
    report.write(workspace, "trigger_cost" + "_unconstrained" * lifted,
                 "Cost per item by trigger" + ", no CPU quota" * lifted, text, results)


if __name__ == "__main__":
    main()
