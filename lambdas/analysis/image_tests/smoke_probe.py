"""Runs INSIDE the image (under runc): imports, environment and one forward pass, reported as one JSON line.

Every check is recorded rather than raised, so one broken library does not hide the others; the test on the
host asserts on the report and prints it whole on failure.
"""

import importlib
import json
import os
import resource
import sys
import time
import traceback

MODULES = [
    "torch", "transformers", "tokenizers", "safetensors", "boto3", "pydantic", "aws_xray_sdk",
    "aws_lambda_powertools", "awslambdaric", "lambdas.analysis.handler",
]

report = {"imports": {}, "checks": {}}


def check(name, fn):
    try:
        report["checks"][name] = {"ok": True, "value": fn()}
    except Exception as exc:  # noqa: BLE001 - every failure is reported, with its traceback
        report["checks"][name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                  "traceback": traceback.format_exc(limit=3)}


for module in MODULES:
    try:
        importlib.import_module(module)
        report["imports"][module] = "ok"
    except Exception as exc:  # noqa: BLE001
        report["imports"][module] = f"{type(exc).__name__}: {exc}"


def writable(path):
    probe = os.path.join(path, ".smoke-write-probe")
    try:
        with open(probe, "w") as handle:
            handle.write("x")
        os.remove(probe)
        return True
    except OSError:
        return False


def forward_pass():
    # Importing the handler started the background torch/transformers import; transformers is not safe to
    # import from two threads at once, so let that import finish first.
    from lambdas.analysis import ml_import

    ml_import.wait()
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=64, dim=32, n_layers=2, n_heads=2, hidden_dim=64, num_labels=2)
    DistilBertForSequenceClassification(config).save_pretrained("/tmp/smoke-model")
    model = DistilBertForSequenceClassification.from_pretrained("/tmp/smoke-model").eval()
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([[1, 5, 7, 2]])).logits
    return [round(float(v), 6) for v in logits[0]]


def cgroup_cpu():
    """The container's own CFS quota and throttling count: runc mounts its cgroup at /sys/fs/cgroup (v1: cpu/)."""
    for quota_file, stat_file in (("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.stat"),
                                  ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu.stat")):
        if os.path.exists(quota_file):
            with open(quota_file) as handle:
                quota = handle.read().split()
            with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us" if quota_file.endswith("_us") else quota_file) as handle:
                period = handle.read().split()[-1]
            with open(stat_file) as handle:
                stat = dict(line.split() for line in handle if line.strip())
            quota_us = None if quota[0] in ("-1", "max") else int(quota[0])
            return {"quota_us": quota_us, "period_us": int(period), "nr_throttled": int(stat.get("nr_throttled", 0))}
    return None


def busy_cpu(spinners=3, seconds=2.0, attempts=4):
    """More busy processes than any quota below their number allows: their CPU time against the wall time, and
    whether the kernel throttled the cgroup. Repeats (up to ATTEMPTS) while nothing was throttled yet, so a host
    busy with other work (which leaves the container less than its quota) does not hide the quota."""
    for attempt in range(attempts):
        before = cgroup_cpu()
        used_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        children = []
        for _ in range(spinners):
            pid = os.fork()
            if pid == 0:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    pass
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        wall = time.monotonic() - started
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = cgroup_cpu()
        throttled = (after["nr_throttled"] - before["nr_throttled"]) if after and before else None
        result = {"cpu_s": round(used.ru_utime + used.ru_stime - used_before.ru_utime - used_before.ru_stime, 3),
                  "wall_s": round(wall, 3), "nr_throttled": throttled, "cgroup": after, "attempts": attempt + 1}
        if throttled:
            break
    return result


check("python", lambda: sys.version.split()[0])
check("cuda", lambda: __import__("torch").version.cuda)
check("uid", os.getuid)
check("task_root_writable", lambda: writable("/var/task"))
check("root_writable", lambda: writable("/"))
check("tmp_writable", lambda: writable("/tmp"))
check("forward_pass", forward_pass)
check("busy_cpu", busy_cpu)
print("SMOKE-REPORT " + json.dumps(report))
