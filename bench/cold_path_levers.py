"""The cold path's levers one by one, inside the image under Lambda's CPU quota: what each step costs in CPU.

    tools/bazel run //bench:cold_path_levers [-- --no-cpu-quota]

Under ~1.16 vCPUs the download's CPU work (decompress, hash, write) and the torch/transformers import compete for
one CPU, so each lever is worth the CPU time it saves. bench/lever_probe.py times each step in a container of the
image (read-only root, tmpfs /tmp, 2048 MB cgroup, the quota) on a full-size model packed in each format; the
end-to-end effect is //bench:cold_start's. Writes its section of bench/REPORT.md and results/cold_path_levers.json.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from bench import report
from tools.model.archive import FORMATS, write_archive
from tools.oci import runc_lambda
from tools.testing.tiny_model import build_model_dir

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    runc_lambda.add_cpu_quota_flag(parser)
    args = parser.parse_args()
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", HERE.parent))
    reason = runc_lambda.host_can_run_containers()
    if reason:
        raise SystemExit(reason)
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-levers-") as tmp:
        work = Path(tmp)
        print("bench: generating a full-size DistilBERT-architecture model (random weights)", file=sys.stderr)
        model_dir = build_model_dir(work / "model", full_size=True)
        artifacts = work / "artifacts"
        artifacts.mkdir()
        for fmt in FORMATS:
            with open(artifacts / f"model.{fmt}", "wb") as out:
                write_archive(out, model_dir, fmt, top_dir="model")
        bundle = runc_lambda.unpack(Path(args.image), work)
        runc_lambda.configure(bundle, args=["/usr/bin/python3.11", "/opt/bench/lever_probe.py", "/opt/artifacts"],
                              env={"PYTHONPATH": "/var/task"}, tmp_mb=1024,
                              mounts=[(str(HERE), "/opt/bench", True), (str(artifacts), "/opt/artifacts", True)],
                              cpus=args.cpus)
        cpu_limit = runc_lambda.cpu_limit(bundle).split(", cgroup")[0]
        result = runc_lambda.run(bundle, timeout=900)
    lines = [line for line in result.stdout.splitlines() if line.startswith("LEVERS ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"bench: probe failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                         f"{result.stderr[-3000:]}")
    figures = json.loads(lines[-1].removeprefix("LEVERS "))
    figures.update({"cpu_limit": cpu_limit, "load_1min_before": load_before,
                    "load_1min_after": round(os.getloadavg()[0], 2)})
    sizes = ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in figures["bytes"].items())
    section = "\n".join([
        "Command: `tools/bazel run //bench:cold_path_levers`: each step of the cold path alone, in a container of the "
        f"image (2048 MB cgroup, CPU {cpu_limit}), on a full-size model with random weights ({sizes}), read from "
        "memory; minimum of 3 runs (imports: 3 fresh interpreters). CPU time is what competes with the import under "
        f"the quota. 1-minute load average {load_before} before, {figures['load_1min_after']} after.", "",
        "| step | CPU | wall |", "| --- | --- | --- |",
        *[f"| {name} | {v['cpu_ms']} ms | {v['wall_ms']} ms |" for name, v in figures["steps"].items()],
    ])
    print(section)
    report.write(workspace, "cold_path_levers", "Cold path levers, step by step", section, figures)


if __name__ == "__main__":
    main()
