"""pytest plugin with the fixtures that know nothing of the application: a tiny model, a moto server, AWS env.

Loaded by `pytest_test(plugins = ["//tools/testing:fixtures"])` (or by a plugin that lists it in its own
`pytest_plugins`), so each fixture exists once per run: session fixtures really are built once. Application-aware
fixtures (the seeded pipeline that drives the real handler) live next to the handler's tests:
lambdas/analysis/tests/fixtures.py.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Under Bazel, every cache the model libraries write goes inside the test's own temp dir. A plugin module is
# imported before collection, so this runs before anything imports huggingface_hub.
if os.environ.get("TEST_TMPDIR"):
    tempfile.tempdir = os.environ["TEST_TMPDIR"]
    os.environ.setdefault("HF_HOME", os.path.join(os.environ["TEST_TMPDIR"], "hf_home"))
    os.environ.setdefault("XDG_CACHE_HOME", os.path.join(os.environ["TEST_TMPDIR"], "cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from tools.testing import tiny_model  # noqa: E402
from tools.testing.moto_server import DEFAULT_REGION, DUMMY_CREDENTIALS, MotoServer, start_moto_server  # noqa: E402

# AWS variables that a developer's shell or CI could leak into a test; cleared by aws_env.
AWS_ENV = [
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
]


@dataclass(frozen=True)
class TinyModel:
    model_dir: Path
    tarball: bytes
    sha256: str


@pytest.fixture(scope="session")
def tiny_model_artifact(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    # transformers' lazy module is not safe to import from two threads at once. If the code under test was imported
    # at collection, its background torch/transformers import may still be running: let it finish first. (Looked up
    # by name, so tools/ does not depend on the application.)
    ml_import = sys.modules.get("lambdas.analysis.ml_import")
    if ml_import is not None:
        ml_import.wait()
    out = tmp_path_factory.mktemp("tiny-model")
    model_dir = tiny_model.build_model_dir(out / "model")
    data = tiny_model.tar_bytes(model_dir)
    return TinyModel(model_dir=model_dir, tarball=data, sha256=hashlib.sha256(data).hexdigest())


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = start_moto_server("thread")
    yield server
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer, tmp_path: Path) -> MotoServer:
    """A clean AWS environment pointing at a freshly reset moto server, with dummy credentials."""
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", DEFAULT_REGION)
    monkeypatch.setenv("AWS_REGION", DEFAULT_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    moto_server.reset()
    return moto_server
