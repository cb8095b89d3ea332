"""The soak: two containers of the real image under faults, 5,000 items and more, and the invariant over all of them.

    tools/bazel run //bench:soak [-- --short]

tools/soak/soak.py does the work (FULL here; the test //lambdas/analysis/e2e_tests:soak_test runs SHORT): SNS
single-record invocations and SQS batches, duplicates, out-of-order and simultaneous deliveries, poison records,
DynamoDB throttling and 500s, S3 errors and a truncated model download, one container SIGKILLed mid-batch and
replaced. It compares the throughput under faults with a baseline of the same warm containers without faults,
measured in the same run, and writes its section of bench/REPORT.md and bench/results/soak.json. --short runs the
test's size and writes nothing. Exits 1 when the invariant does not hold.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from tools.soak.markdown import section
from tools.soak.soak import FULL, SHORT, run

HERE = Path(__file__).resolve().parent
START = time.monotonic()


def say(message: str) -> None:
    print(f"[soak {time.monotonic() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--model", required=True, help="the tiny model's tarball (passed by the Bazel target)")
    parser.add_argument("--short", action="store_true", help="the test's size; prints, writes no report")
    args = parser.parse_args()
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", HERE.parent))
    load_before = os.getloadavg()[0]  # the machine is shared: the figures mean more next to its load
    quiet = ("START ", "END ", "REPORT ")  # the emulator's per-invocation lines: thousands of them
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        result = run(Path(args.image), Path(args.model), Path(tmp), SHORT if args.short else FULL,
                     progress=lambda message: None if message.startswith(quiet) else say(message))
    figures = result.figures()
    figures["wall_s"] = round(time.monotonic() - START, 1)
    figures["machine"] = {"cpus": os.cpu_count(), "load_average_before": round(load_before, 2),
                          "load_average_after": round(os.getloadavg()[0], 2)}
    text = section(figures)
    print(text)
    if not args.short:
        report.write(workspace, "soak", "Soak: two containers under faults", text, figures)
    if not result.verdict.ok:
        print(json.dumps(figures["invariant"], indent=2), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
