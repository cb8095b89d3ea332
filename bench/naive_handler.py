"""The naive baseline the cold-start benchmark measures in the same image: what a first version would do.

download_file to /tmp, untar, pipeline(), one item at a time, fp32, an unconditional UpdateItem. Mounted into
the container at /opt/bench by bench/cold_start.py; never part of the image.
"""

import os
import tarfile
import time
from decimal import Decimal

import boto3

_classifier = None


def _load():
    global _classifier
    if _classifier is None:
        started = time.perf_counter()
        bucket, key = os.environ["MODEL_S3_URI"].removeprefix("s3://").split("/", 1)
        os.makedirs("/tmp/naive", exist_ok=True)
        boto3.client("s3").download_file(bucket, key, "/tmp/naive/model.tar.gz")
        with tarfile.open("/tmp/naive/model.tar.gz") as tar:
            tar.extractall("/tmp/naive/model")
        from transformers import pipeline

        _classifier = pipeline("text-classification", model="/tmp/naive/model", device=-1)
        print(f"naive model ready in {(time.perf_counter() - started) * 1000:.0f} ms", flush=True)
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
