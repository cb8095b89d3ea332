"""Cold start of the real image under runc with Lambda's limits, ours against a naive baseline, same run.

    tools/bazel run //bench:cold_start [-- --repeats 3] [--no-cpu-quota]

Both run in the same image, container and limits (2048 MB cgroup with Lambda's CPU for it, a 1.158-vCPU CFS quota
that --no-cpu-quota lifts; read-only root, tmpfs /tmp) behind the
Runtime API emulator, against moto's S3 holding a full-size DistilBERT-architecture model with random weights
(~250 MB tarball). Each cold start is a new container. "Container start -> first result" is the emulator's init
(runtime start to its first `next`) plus the first invocation's duration (one SNS record: fetch, load, infer, write).
The naive baseline (bench/naive_handler.py, mounted, not in the image) uses download_file, untar, pipeline().
Also reports the container's peak memory (its cgroup's, or its processes' RSS where no cgroup can be made) and writes its section of bench/REPORT.md.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench import report
from tools.local.stack import LocalStack
from tools.oci import runc_lambda
from tools.testing.events import make_item, sns_event
from tools.testing.tiny_model import build_artifact

HERE = Path(__file__).resolve().parent
PHASES = ("download_extract_ms", "import_ms", "import_wait_ms", "model_init_ms", "load_time_ms")


def measure(stack: LocalStack, repeats: int, phases: bool) -> dict:
    runs = []
    for i in range(repeats):
        if i:
            stack.cold_restart()
        item = make_item(1000 + i, "Markets rally as inflation cools")
        stack.seed([item])
        result = stack.invoke(sns_event(item))
        if not result.ok:
            raise SystemExit(f"bench: invocation failed: {result.payload.decode()[:2000]}")
        record = stack.emulator.invocations[-1]
        run = {"init_ms": record.init_ms, "first_invocation_ms": record.duration_ms,
               "start_to_first_result_ms": record.init_ms + record.duration_ms}
        if phases:
            loaded = [l for l in stack.container_log() if l.get("message") == "Model loaded successfully"][-1]
            run.update({k: loaded[k] for k in PHASES})
        runs.append(run)
        print(f"bench: cold start {i + 1}/{repeats}: {run['start_to_first_result_ms']:.0f} ms", file=sys.stderr)
    figures = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
    figures["runs"] = runs
    figures["peak_memory_mb"] = round(stack.peak_memory_bytes / 2**20)
    figures["peak_memory_source"] = stack.peak_memory_source
    figures["cpu_limit"] = stack.cpu_limit.split(", cgroup")[0]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cpu-quota", action="store_true", help="lift Lambda's CPU quota (memory / 1769 vCPUs)")
    args = parser.parse_args()
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", HERE.parent))
    say = lambda message: print(f"bench: {message}", file=sys.stderr)  # noqa: E731

    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        work = Path(tmp)
        say("generating a full-size DistilBERT-architecture model (random weights)")
        artifact = build_artifact(work / "model", full_size=True)
        results = {"tarball_mb": round(artifact.tarball.stat().st_size / 1e6), "repeats": args.repeats}
        cpus = None if args.no_cpu_quota else runc_lambda.LAMBDA_CPUS
        with LocalStack(Path(args.image), work / "ours", artifact.tarball, progress=say, cpus=cpus) as stack:
            results["ours"] = measure(stack, args.repeats, phases=True)
        naive = dict(handler="naive_handler.lambda_handler", mounts=[(str(HERE), "/opt/bench", True)],
                     extra_env={"PYTHONPATH": "/var/task:/opt/bench"})
        with LocalStack(Path(args.image), work / "naive", artifact.tarball, progress=say, cpus=cpus, **naive) as stack:
            results["naive"] = measure(stack, args.repeats, phases=False)

    ours, naive_ = results["ours"], results["naive"]
    speedup = naive_["start_to_first_result_ms"] / ours["start_to_first_result_ms"]
    section = "\n".join([
        "Command: `tools/bazel run //bench:cold_start`: the image under runc (2048 MB cgroup, read-only root, tmpfs",
        f"/tmp; CPU {ours['cpu_limit']}) behind the Runtime API emulator, full-size model with random weights ({results['tarball_mb']} MB "
        f"tarball) from moto's S3 on loopback, median of {args.repeats} fresh containers each.", "",
        "| container start → first result | ours | naive baseline | goal |", "| --- | --- | --- | --- |",
        f"| runtime init (python start → first `next`) | {ours['init_ms']:.0f} ms | {naive_['init_ms']:.0f} ms | |",
        f"| first invocation (fetch, load, infer, write) | {ours['first_invocation_ms']:.0f} ms "
        f"| {naive_['first_invocation_ms']:.0f} ms | |",
        f"| **total** | **{ours['start_to_first_result_ms']:.0f} ms** | {naive_['start_to_first_result_ms']:.0f} ms "
        f"| ≤ 3500 ms, ≥ 2× faster (NFR-001: < 10 s) |",
        f"| speed-up | {speedup:.2f}× | | |",
        f"| peak memory of the container ({ours['peak_memory_source']}) | {ours['peak_memory_mb']} MB | {naive_['peak_memory_mb']} MB "
        "| < 900 MB (limit 2048 MB) |", "",
        "Our phases (from the container's `Model loaded successfully` line, median): "
        + ", ".join(f"{k} {ours[k]:.0f} ms" for k in PHASES) + ".",
        "download_extract overlaps import: the import runs in a background thread from handler import on.",
    ])
    print(section)
    report.write(workspace, "cold_start", "Cold start in the container", section, results)


if __name__ == "__main__":
    main()
