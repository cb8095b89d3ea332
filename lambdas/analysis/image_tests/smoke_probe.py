"""Runs INSIDE the image (under runc): imports, environment and one forward pass, reported as one JSON line.

Every check is recorded rather than raised, so one broken library does not hide the others; the test on the
host asserts on the report and prints it whole on failure.
"""

import importlib
import json
import os
import sys
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


check("python", lambda: sys.version.split()[0])
check("cuda", lambda: __import__("torch").version.cuda)
check("uid", os.getuid)
check("task_root_writable", lambda: writable("/var/task"))
check("root_writable", lambda: writable("/"))
check("tmp_writable", lambda: writable("/tmp"))
check("forward_pass", forward_pass)
print("SMOKE-REPORT " + json.dumps(report))
