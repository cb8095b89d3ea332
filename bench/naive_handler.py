"""The naive baseline the cold-start benchmark measures in the same image: what a first version would do.

download_file to /tmp, untar, pipeline(), one item at a time, fp32, an unconditional UpdateItem. Mounted into
the container at /opt/bench by bench/cold_start.py; never part of the image.
"""

import os
import tarfile
import time
from decimal import Decimal
from pathlib import Path

import boto3

_classifier = None


def load(model_s3_uri: str, workdir: Path) -> tuple[object, dict]:
    """download_file, untar, pipeline(), one after another; returns the classifier and each phase's ms.

    Shared with bench/cold_path_probe.py, which times the same baseline in a plain process.
    """
    bucket, key = model_s3_uri.removeprefix("s3://").split("/", 1)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    boto3.client("s3").download_file(bucket, key, str(workdir / "model.tar.gz"))
    downloaded = time.perf_counter()
    with tarfile.open(workdir / "model.tar.gz") as tar:
        tar.extractall(workdir / "model")  # the baseline trusts its input (Python 3.11.2 has no extraction filter)
    extracted = time.perf_counter()
    from transformers import pipeline

    imported = time.perf_counter()
    classifier = pipeline("text-classification", model=str(workdir / "model"), device=-1)
    ready = time.perf_counter()
    return classifier, {"download_ms": (downloaded - started) * 1000, "extract_ms": (extracted - downloaded) * 1000,
                        "import_ms": (imported - extracted) * 1000, "load_ms": (ready - imported) * 1000}


def _load():
    global _classifier
    if _classifier is None:
        _classifier, phases = load(os.environ["MODEL_S3_URI"], Path("/tmp/naive"))
        print(f"naive model ready in {sum(phases.values()):.0f} ms", flush=True)
    return _classifier


def lambda_handler(event, context):
    import json

    classifier = _load()
    table = boto3.resource("dynamodb").Table(os.environ["DYNAMODB_TABLE"])
    analyzed = 0
    for record in event["Records"]:
        item = json.loads(record["Sns"]["Message"])
        result = classifier(item["text_for_analysis"])[0]
        table.update_item(
            Key={"source_id": item["source_id"], "timestamp": item["timestamp"]},
            UpdateExpression="SET sentiment = :s, score = :c, #st = :a",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={":s": result["label"].lower(), ":c": Decimal(str(round(result["score"], 4))),
                                       ":a": "analyzed"},
        )
        analyzed += 1
    return {"analyzed": analyzed}
