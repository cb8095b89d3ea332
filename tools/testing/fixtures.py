"""Shared pytest fixtures; test packages re-export them from their conftest.py.

Expensive things are session-scoped: the tiny model is generated once and
one moto server serves the whole session (state is reset per test through
moto's reset API). Everything writes below pytest's tmp dirs, which are
placed under ``$TEST_TMPDIR`` when running under Bazel.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Under Bazel: keep every temp file (pytest's tmp_path, HF caches) inside the
# per-test sandbox dir. Must run before pytest computes its basetemp.
if os.environ.get("TEST_TMPDIR"):
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", os.environ["TEST_TMPDIR"])
    tempfile.tempdir = os.environ["TEST_TMPDIR"]
    os.environ.setdefault("HF_HOME", os.path.join(os.environ["TEST_TMPDIR"], "hf_home"))
    os.environ.setdefault("XDG_CACHE_HOME", os.path.join(os.environ["TEST_TMPDIR"], "cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from tools.testing import tiny_model  # noqa: E402
from tools.testing.events import FakeLambdaContext  # noqa: E402
from tools.testing.flaky_proxy import FlakyProxy  # noqa: E402
from tools.testing.moto_server import (  # noqa: E402
    DEFAULT_REGION,
    DUMMY_CREDENTIALS,
    MotoServer,
    create_bucket,
    create_table,
    get_item,
    seed_pending,
    start_moto_server,
    upload_model,
)

__all__ = ["tiny_model_artifact", "moto_server", "aws_env", "pipeline", "log_capture",
           "Pipeline", "TinyModel", "LogCapture", "BUCKET", "MODEL_KEY", "MODEL_URI", "MODEL_VERSION", "TABLE"]

BUCKET = "models"
MODEL_KEY = "distilbert/v1.0.0/model.tar.gz"
MODEL_URI = f"s3://{BUCKET}/{MODEL_KEY}"
MODEL_VERSION = "v1.0.0"
TABLE = "sentiment-items"

# Every variable the code under test reads; cleared so the developer's shell
# (or CI) environment cannot leak into a test.
_MANAGED_ENV = [
    "DYNAMODB_TABLE", "MODEL_S3_URI", "MODEL_PATH", "MODEL_VERSION", "MODEL_SHA256", "MODEL_DIR",
    "CONFIDENCE_THRESHOLD", "QUANTIZE_INT8", "INFERENCE_BATCH_SIZE", "MAX_TOKENS", "MAX_TEXT_CHARS",
    "MODEL_MAX_UNCOMPRESSED_BYTES", "MODEL_MAX_MEMBERS", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "POWERTOOLS_DEV",
    "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_METRICS_NAMESPACE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "LAMBDA_TASK_ROOT",
]


@dataclass(frozen=True)
class TinyModel:
    model_dir: Path
    tarball: bytes
    sha256: str


# Module-level memo: each tests/ dir re-exports these fixtures from its own
# conftest.py, which makes pytest treat them as distinct session fixtures; the
# memo keeps a combined run at one model build and one moto server.
_memo: dict[str, Any] = {}


@pytest.fixture(scope="session")
def tiny_model_artifact(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    if "model" not in _memo:
        # If the handler module was imported (e.g. at collection), its
        # background torch/transformers import may be running. transformers'
        # lazy module is not safe to import from two threads at once, so let
        # it finish first.
        from lambdas.analysis import ml_import

        ml_import.wait()
        out = tmp_path_factory.mktemp("tiny-model")
        model_dir = tiny_model.build_model_dir(out / "model")
        data = tiny_model.tar_bytes(model_dir)
        _memo["model"] = TinyModel(model_dir=model_dir, tarball=data, sha256=hashlib.sha256(data).hexdigest())
    return _memo["model"]


@pytest.fixture(scope="session")
def moto_server() -> MotoServer:
    if "moto" not in _memo:
        server = start_moto_server("thread")
        atexit.register(server.stop)
        _memo["moto"] = server
    return _memo["moto"]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer, tmp_path: Path) -> MotoServer:
    """Clean env + fresh moto state + no cached clients/models."""
    from lambdas.analysis import model_cache
    from lambdas.shared import aws_clients

    for name in _MANAGED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", DEFAULT_REGION)
    monkeypatch.setenv("AWS_REGION", DEFAULT_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    moto_server.reset()
    aws_clients.clear_cache()
    model_cache.clear()
    yield moto_server
    aws_clients.clear_cache()
    model_cache.clear()


@dataclass
class Pipeline:
    """A seeded local environment for the analysis Lambda."""

    server: MotoServer
    model: TinyModel
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    proxies: list[FlakyProxy] = field(default_factory=list)

    @property
    def model_dir(self) -> Path:
        return Path(os.environ["MODEL_DIR"])

    def set_env(self, **values: Any) -> None:
        from lambdas.analysis import model_cache
        from lambdas.shared import aws_clients

        for key, value in values.items():
            if value is None:
                self.monkeypatch.delenv(key, raising=False)
            else:
                self.monkeypatch.setenv(key, str(value))
        aws_clients.clear_cache()
        model_cache.clear()

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

    def invoke(self, event: Any) -> Any:
        from lambdas.analysis.handler import lambda_handler

        return lambda_handler(event, FakeLambdaContext())


@pytest.fixture
def pipeline(aws_env: MotoServer, tiny_model_artifact: TinyModel, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    create_bucket(aws_env, BUCKET)
    upload_model(aws_env, BUCKET, MODEL_KEY, tiny_model_artifact.tarball)
    create_table(aws_env, TABLE)
    monkeypatch.setenv("MODEL_S3_URI", MODEL_URI)
    monkeypatch.setenv("MODEL_VERSION", MODEL_VERSION)
    monkeypatch.setenv("DYNAMODB_TABLE", TABLE)
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    pipe = Pipeline(aws_env, tiny_model_artifact, tmp_path, monkeypatch)
    yield pipe
    for proxy in pipe.proxies:
        proxy.stop()


@dataclass
class LogCapture:
    stream: io.StringIO

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        import json

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
