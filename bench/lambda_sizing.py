"""Warm throughput per vCPU, per-item cost at the module's SQS batch size, peak memory under the longest batch, and
what 1,024 MB instead of 2,048 MB costs: the image in the container under Lambda's CPU quota, one run.

    tools/bazel run //bench:lambda_sizing [-- --memory 2048,1024 --repeats 9 --cost-invocations 5 --threads 1,2]
                                          [--no-cpu-quota]

One fresh container per (memory, precision): 2048 and 1024 MB (CFS quota memory/1769 vCPUs: 1.158 and 0.579),
fp32 and int8 (QUANTIZE_INT8), the full-size generated DistilBERT model (random weights, ~250 MB tarball) from moto's
S3. The function's own handler runs, behind bench/lambda_probe.py (mounted, not in the image), in this order:
  1. cold start: one SNS record (container start -> first result: runtime init + first invocation);
  2. cost: COST_INVOCATIONS SQS batches of the module's sqs_batch_size (10) headlines: billed ms and GB-s per item;
  3. throughput: the probe times SentimentModel.predict against the bare forward pass of the same torch model, same
     process, batch 1/8/32 (bench/lambda_probe.py);
  4. memory: one 32-record batch (INFERENCE_BATCH_SIZE) of 20,000-character texts (MAX_TEXT_CHARS, the contract's
     longest): the container cgroup's peak memory over its whole life, cold start included.
Writes two sections of bench/REPORT.md: "Warm throughput per vCPU in the container" (results/warm_throughput.json)
and "Memory and the 1,024 MB option" (results/memory_peak.json).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.progress import progress
from bench.sizing_report import memory_section, throughput_section
from tools.local.billing import gb_seconds
from tools.local.environment import ExecutionEnvironment
from tools.local.module_defaults import MODULE_DEFAULTS
from tools.local.services import Services
from tools.oci import runc_lambda
from tools.testing.events import make_item, sns_event, sqs_event
from tools.testing.tiny_model import build_artifact

HERE = Path(__file__).resolve().parent
HEADLINES = (HERE / "headlines.txt").read_text().splitlines()
LONGEST_TEXT = 20_000  # Settings.max_text_chars' default: the event contract's longest text
LONG_BATCH = 32  # Settings.batch_size's default (INFERENCE_BATCH_SIZE): one padded batch of the longest texts
PHASES = ("download_extract_ms", "import_ms", "import_wait_ms", "model_init_ms", "load_time_ms")


def long_text(n: int) -> str:
    """LONGEST_TEXT characters of headlines, starting at a different one for each N (no two records alike)."""
    words = " ".join(HEADLINES[n % len(HEADLINES):] + HEADLINES[:n % len(HEADLINES)])
    return ((words + " ") * (LONGEST_TEXT // len(words) + 1))[:LONGEST_TEXT]


def load() -> float:
    return round(os.getloadavg()[0], 2)


class Numbering:
    """Item numbers no other step of the run has used (each item is written once)."""

    def __init__(self):
        self.next = 0

    def take(self, count: int) -> range:
        self.next += count
        return range(self.next - count, self.next)


def invoke_ok(env: ExecutionEnvironment, event: dict, what: str):
    result = env.invoke(event)
    if not result.ok:
        raise SystemExit(f"bench: {what} failed in {env.name}: {result.payload.decode()[:2000]}")
    return result, env.emulator.invocations[-1]


def measure(services: Services, memory_mb: int, precision: str, cpus, args, numbers: Numbering, say) -> dict:
    name = f"{precision}-{memory_mb}"
    env = ExecutionEnvironment(
        services, name, memory_mb=memory_mb, timeout_s=900, progress=say, cpus=cpus,
        handler="lambda_probe.lambda_handler", mounts=[(str(HERE), "/opt/bench", True)],
        extra_env={"PYTHONPATH": "/var/task:/opt/bench", "QUANTIZE_INT8": str(precision == "int8").lower()})
    # The quota the figures per vCPU divide by: Lambda's for this memory, or the whole machine when lifted.
    vcpus = runc_lambda.lambda_cpus(memory_mb) if cpus is not None else os.cpu_count()
    figures = {"memory_mb": memory_mb, "precision": precision, "vcpus": round(vcpus, 3), "load_before": load()}
    with env:
        figures["cpu_limit"] = env.cpu_limit.split(", cgroup")[0]
        say(f"{name}: cold start")
        item = make_item(numbers.take(1)[0], HEADLINES[0])
        services.seed([item])
        _, record = invoke_ok(env, sns_event(item), "cold start")
        loaded = [l for l in env.container_log() if l.get("message") == "Model loaded successfully"][-1]
        figures["cold"] = {"init_ms": round(record.init_ms), "first_invocation_ms": round(record.duration_ms),
                           "start_to_first_result_ms": round(record.init_ms + record.duration_ms),
                           **{k: loaded[k] for k in PHASES}}

        batch_size = MODULE_DEFAULTS["sqs_batch_size"]
        say(f"{name}: {args.cost_invocations} SQS batches of {batch_size}")
        durations = []
        for _ in range(args.cost_invocations):
            items = [make_item(n, HEADLINES[n % len(HEADLINES)]) for n in numbers.take(batch_size)]
            services.seed(items)
            result, record = invoke_ok(env, sqs_event(*items, wrap_sns=True), "SQS batch")
            if result.json().get("analyzed") != batch_size:
                raise SystemExit(f"bench: SQS batch analysed {result.json()} in {env.name}")
            durations.append(record.duration_ms)
        durations.sort()
        median_ms = durations[len(durations) // 2]
        figures["cost"] = {"batch_size": batch_size, "invocations": len(durations), "durations_ms": durations,
                           "median_ms": round(median_ms, 1), "ms_per_item": round(median_ms / batch_size, 1),
                           "gb_s_per_item": gb_seconds([median_ms], memory_mb) / batch_size}

        say(f"{name}: warm throughput, ours vs the bare forward pass")
        result, _ = invoke_ok(env, {"bench": "throughput", "batches": [1, 8, 32], "repeats": args.repeats,
                                     "other_threads": [int(t) for t in args.threads.split(",") if t]},
                              "throughput probe")
        figures["throughput"] = result.json()

        say(f"{name}: {LONG_BATCH} records of {LONGEST_TEXT} characters")
        figures["peak_before_long_batch_mb"] = round(env.peak_memory_bytes / 2**20)
        items = [make_item(n, long_text(n)) for n in numbers.take(LONG_BATCH)]
        services.seed(items)
        result = env.invoke(sqs_event(*items, wrap_sns=True))
        record = env.emulator.invocations[-1]
        figures["long_batch"] = {"ok": result.ok and result.json().get("analyzed") == LONG_BATCH,
                                 "duration_ms": round(record.duration_ms or 0), "status": record.status,
                                 "error": None if result.ok else result.payload.decode()[:500]}
        if figures["long_batch"]["ok"]:  # the same process: its peak RSS now covers the long batch
            figures["after_long_batch"] = invoke_ok(env, {"bench": "memory"}, "memory probe")[0].json()
        figures["peak_memory_mb"] = round(env.peak_memory_bytes / 2**20)
        figures["peak_memory_source"] = env.peak_memory_source
        figures["memory_limit"] = env.memory_limit.split(", cgroup")[0]
    figures["load_after"] = load()
    say(f"{name}: cold {figures['cold']['start_to_first_result_ms']} ms, peak {figures['peak_memory_mb']} MB")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--memory", default="2048,1024", help="function memory sizes in MB, comma-separated")
    parser.add_argument("--precisions", default="fp32,int8")
    # 9, not 5: on this shared machine, under a CFS quota, single calls vary by tens of percent.
    parser.add_argument("--repeats", type=int, default=9, help="timed calls per batch size (median)")
    parser.add_argument("--cost-invocations", type=int, default=5, help="SQS batches timed for the per-item cost")
    parser.add_argument("--threads", default="1,2", help="torch thread counts to time ours at as well ('' for none)")
    runc_lambda.add_cpu_quota_flag(parser)
    args = parser.parse_args()
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", HERE.parent))
    started = time.monotonic()
    say = progress("sizing")

    results = {"cpus": os.cpu_count(), "load_before": load(), "repeats": args.repeats, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-sizing-") as tmp:
        work = Path(tmp)
        say("generating a full-size DistilBERT-architecture model (random weights)")
        artifact = build_artifact(work / "model", full_size=True)
        results["tarball_mb"] = round(artifact.tarball.stat().st_size / 1e6)
        numbers = Numbering()
        with Services(Path(args.image), work / "stack", artifact.tarball, progress=say) as services:
            for memory_mb in (int(m) for m in args.memory.split(",")):
                for precision in args.precisions.split(","):
                    results["runs"].append(measure(services, memory_mb, precision, args.cpus, args, numbers, say))
    results["load_after"] = load()
    results["wall_s"] = round(time.monotonic() - started)

    throughput, memory = throughput_section(results), memory_section(results)
    print(throughput + "\n" + memory)
    # The unconstrained run has sections of its own, beside the quota's.
    suffix, title_suffix = ("_unconstrained", ", no CPU quota") if args.cpus is None else ("", "")
    report.write(workspace, "warm_throughput" + suffix, "Warm throughput per vCPU in the container" + title_suffix,
                 throughput, results)
    report.write(workspace, "memory_peak" + suffix, "Memory and the 1,024 MB option" + title_suffix, memory, results)


if __name__ == "__main__":
    main()
