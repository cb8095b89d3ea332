"""pytest plugin: a seeded local environment (moto S3 + DynamoDB, tiny model) that drives the real handler.

Loaded by `pytest_test(plugins = ["//lambdas/analysis/tests:fixtures"])`; it brings tools/testing's fixtures with it.
lambdas/shared's model-store tests use it too: they need the same seeded bucket and model.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lambdas.analysis import model_cache
from lambdas.shared import aws_clients
from tools.testing.events import FakeLambdaContext
from tools.testing.flaky_proxy import FlakyProxy
from tools.testing.moto_server import (
    MotoServer,
    create_bucket,
    create_queue,
    create_table,
    drain_queue,
    get_item,
    seed_pending,
    upload_model,
)

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so that pytest can rewrite its asserts
    from tools.testing.fixtures import TinyModel

pytest_plugins = ["tools.testing.fixtures"]

BUCKET = "models"
MODEL_KEY = "distilbert/v1.0.0/model.tar.gz"
MODEL_URI = f"s3://{BUCKET}/{MODEL_KEY}"
MODEL_VERSION = "v1.0.0"
TABLE = "sentiment-items"
REJECTS_QUEUE = "analysis-rejects"

# The function's own variables (lambdas/shared/settings.py and Powertools'), cleared so the developer's shell or CI
# cannot leak into a test.
FUNCTION_ENV = [
    "DYNAMODB_TABLE", "MODEL_S3_URI", "MODEL_PATH", "MODEL_VERSION", "MODEL_SHA256", "MODEL_DIR",
    "CONFIDENCE_THRESHOLD", "QUANTIZE_INT8", "INFERENCE_BATCH_SIZE", "MAX_TOKENS", "MAX_TEXT_CHARS",
    "MODEL_MAX_UNCOMPRESSED_BYTES", "MODEL_MAX_MEMBERS", "POWERTOOLS_DEV", "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_METRICS_NAMESPACE", "LAMBDA_TASK_ROOT", "REJECTS_QUEUE_URL", "STRICT_MODEL_VERSION",
    "MAX_RECORD_BYTES", "AWS_ENDPOINT_URL_SQS",
]


def _forget_clients_and_model() -> None:
    aws_clients.clear_cache()
    model_cache.clear()


@dataclass
class Pipeline:
    """A seeded local environment for the analysis Lambda."""

    server: MotoServer
    model: TinyModel
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    rejects_queue_url: str
    proxies: list[FlakyProxy] = field(default_factory=list)

    @property
    def model_dir(self) -> Path:
        return Path(os.environ["MODEL_DIR"])

    def set_env(self, **values: Any) -> None:
        """Set (or, with None, unset) variables; cached clients and model are dropped so the next call reads them."""
        for key, value in values.items():
            if value is None:
                self.monkeypatch.delenv(key, raising=False)
            else:
                self.monkeypatch.setenv(key, str(value))
        _forget_clients_and_model()

    def proxy(self, service: str = "dynamodb") -> FlakyProxy:
        """Route ``service`` through a fault-injecting proxy in front of moto."""
        proxy = FlakyProxy(self.server.endpoint).start()
        self.proxies.append(proxy)
        self.set_env(**{f"AWS_ENDPOINT_URL_{service.upper()}": proxy.endpoint})
        return proxy

    def seed(self, *items: dict[str, Any], status: str = "pending") -> None:
        seed_pending(self.server, TABLE, [{**i, "status": status} for i in items])

    def get(self, item: dict[str, Any]) -> dict[str, Any] | None:
        return get_item(self.server, TABLE, item["source_id"], item["timestamp"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """What the function sent to the rejects queue since the last call (taken off the queue)."""
        return drain_queue(self.server, self.rejects_queue_url)

    def invoke(self, event: Any) -> Any:
        from lambdas.analysis.handler import lambda_handler

        return lambda_handler(event, FakeLambdaContext())


@pytest.fixture
def pipeline(aws_env: MotoServer, tiny_model_artifact: TinyModel, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    for name in FUNCTION_ENV:
        monkeypatch.delenv(name, raising=False)
    create_bucket(aws_env, BUCKET)
    upload_model(aws_env, BUCKET, MODEL_KEY, tiny_model_artifact.tarball)
    create_table(aws_env, TABLE)
    rejects_queue_url = create_queue(aws_env, REJECTS_QUEUE)
    monkeypatch.setenv("REJECTS_QUEUE_URL", rejects_queue_url)
    monkeypatch.setenv("MODEL_S3_URI", MODEL_URI)
    monkeypatch.setenv("MODEL_VERSION", MODEL_VERSION)
    monkeypatch.setenv("DYNAMODB_TABLE", TABLE)
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    _forget_clients_and_model()
    pipe = Pipeline(aws_env, tiny_model_artifact, tmp_path, monkeypatch, rejects_queue_url)
    yield pipe
    for proxy in pipe.proxies:
        proxy.stop()
    _forget_clients_and_model()


@dataclass
class LogCapture:
    stream: io.StringIO

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


@pytest.fixture
def log_capture() -> Iterator[LogCapture]:
    """Capture the Powertools logger's JSON output (it holds its own stream)."""
    from lambdas.shared.observability import logger

    stream = io.StringIO()
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    try:
        yield LogCapture(stream)
    finally:
        for handler, old in zip(handlers, previous):
            handler.setStream(old)
