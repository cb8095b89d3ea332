"""Run moto's server on a loopback port and seed it (no pytest dependency).

Tests and the local runner talk to it over real HTTP through the normal
boto3 clients (``AWS_ENDPOINT_URL``), i.e. the same code path as in AWS -
no in-process ``mock_aws`` patching.

Two modes:
* ``thread`` (default): moto's ThreadedMotoServer inside this process on an
  OS-assigned port (binding port 0 - no race for a free port).
* ``subprocess``: ``python -m moto.server`` in a child process (isolated,
  e.g. for a local runner); the port is picked by binding port 0 first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from tools.loopback import LOOPBACK, free_port

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
DEFAULT_REGION = "us-east-1"


@dataclass
class MotoServer:
    endpoint: str
    _thread_server: Any = None
    _process: subprocess.Popen | None = None
    region: str = DEFAULT_REGION
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client pointed at this server (dummy credentials)."""
        if service not in self._clients:
            self._clients[service] = boto3.session.Session().client(
                service, region_name=self.region, endpoint_url=self.endpoint,
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        return self._clients[service]

    def reset(self) -> None:
        """Drop all moto state (buckets, tables...)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def stop(self) -> None:
        if self._thread_server is not None:
            self._thread_server.stop()
            self._thread_server = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_until_up(endpoint: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"moto server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as resp:
                resp.read()
                return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"moto server at {endpoint} did not come up within {timeout}s: {last}")


def start_moto_server(mode: str = "thread", timeout: float = 30.0) -> MotoServer:
    if mode == "thread":
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # per-request access lines
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        _wait_until_up(endpoint, timeout)
        return MotoServer(endpoint=endpoint, _thread_server=server)
    if mode == "subprocess":
        port = free_port()
        env = {**os.environ, **DUMMY_CREDENTIALS}
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        endpoint = f"http://{LOOPBACK}:{port}"
        try:
            _wait_until_up(endpoint, timeout, process)
        except Exception:
            process.kill()
            process.wait()
            raise
        return MotoServer(endpoint=endpoint, _process=process)
    raise ValueError(f"unknown mode {mode!r}")


# -- seeding helpers -----------------------------------------------------------

def create_bucket(server: MotoServer, bucket: str) -> None:
    server.client("s3").create_bucket(Bucket=bucket)


def upload_model(server: MotoServer, bucket: str, key: str, data: bytes,
                 sha256_metadata: str | None = None) -> None:
    extra = {"Metadata": {"sha256": sha256_metadata}} if sha256_metadata else {}
    server.client("s3").put_object(Bucket=bucket, Key=key, Body=data, **extra)


def create_table(server: MotoServer, table: str) -> None:
    """The items table: source_id (HASH) + timestamp (RANGE), on-demand."""
    ddb = server.client("dynamodb")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "source_id", "KeyType": "HASH"},
                   {"AttributeName": "timestamp", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "source_id", "AttributeType": "S"},
                              {"AttributeName": "timestamp", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})


def seed_pending(server: MotoServer, table: str, items: Iterable[Mapping[str, Any]]) -> None:
    """Insert items as the ingestion Lambda would: status = pending (25 to a BatchWriteItem: thousands take a
    second, not a minute)."""
    ddb = server.client("dynamodb")
    puts = [{"PutRequest": {"Item": {
        "source_id": {"S": item["source_id"]},
        "timestamp": {"S": item["timestamp"]},
        "source_type": {"S": item.get("source_type", "newsapi")},
        "status": {"S": item.get("status", "pending")},
    }}} for item in items]
    for start in range(0, len(puts), 25):
        requests = {table: puts[start:start + 25]}
        while requests:
            requests = ddb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}


def get_item(server: MotoServer, table: str, source_id: str, timestamp: str) -> dict[str, Any] | None:
    """Fetch one item, deserialized to plain Python (numbers as Decimal)."""
    from boto3.dynamodb.types import TypeDeserializer

    resp = server.client("dynamodb").get_item(
        TableName=table, Key={"source_id": {"S": source_id}, "timestamp": {"S": timestamp}},
        ConsistentRead=True)
    raw = resp.get("Item")
    if raw is None:
        return None
    deser = TypeDeserializer()
    return {k: deser.deserialize(v) for k, v in raw.items()}


def scan_items(server: MotoServer, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of a source_id/timestamp table, deserialized, by key (a consistent scan, all pages)."""
    from boto3.dynamodb.types import TypeDeserializer

    deser, items = TypeDeserializer(), {}
    for page in server.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for raw in page["Items"]:
            item = {k: deser.deserialize(v) for k, v in raw.items()}
            items[(item["source_id"], item["timestamp"])] = item
    return items


if __name__ == "__main__":  # manual use: print an endpoint and keep serving
    srv = start_moto_server("thread")
    print(srv.endpoint, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


def create_queue(server: MotoServer, name: str) -> str:
    """A standard SQS queue (the function's rejects queue, an event source); returns its URL."""
    return server.client("sqs").create_queue(QueueName=name)["QueueUrl"]


def drain_queue(server: MotoServer, queue_url: str) -> list[dict[str, Any]]:
    """Every message now in the queue, bodies parsed as JSON, deleted as they are read."""
    sqs, bodies = server.client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
