"""LocalStack: a start that fails part-way stops everything it had started (moto, docker-registry), last first."""

import functools
import types

import pytest

from tools.local import services as services_module
from tools.local import stack as stack_module
from tools.oci import local_registry
from tools.oci.local_registry import LocalRegistry
from tools.testing import moto_server
from tools.testing.processes import alive


@pytest.fixture
def started(monkeypatch):
    """The processes the stack starts: moto's and docker-registry's, recorded as they start. The container check
    is waived: these tests fail the start before any container, and must run where runc cannot."""
    processes = {}
    real_start_moto = moto_server.start_moto_server

    def start_moto(*args, **kwargs):
        server = real_start_moto(*args, **kwargs)
        processes["moto"] = server._process
        return server

    real_popen = local_registry.subprocess.Popen

    def popen(command, *args, **kwargs):  # subprocess.Popen itself, so everyone's: keep docker-registry's only
        process = real_popen(command, *args, **kwargs)
        if command[0] == "docker-registry":
            processes["registry"] = process
        return process

    monkeypatch.setattr(services_module.moto_server, "start_moto_server", start_moto)
    monkeypatch.setattr(local_registry.subprocess, "Popen", popen)
    monkeypatch.setattr(services_module.runc_lambda, "host_can_run_containers", lambda: None)
    return processes


def _model(tmp_path):
    tarball = tmp_path / "model.tar.gz"
    tarball.write_bytes(b"not a model; never loaded")
    return tarball


def test_a_failed_push_stops_the_registry_and_moto(tmp_path, started):
    # No image at that path: the push fails after moto and the registry are up.
    stack = stack_module.LocalStack(tmp_path / "no-such-image", tmp_path / "work", _model(tmp_path))
    with pytest.raises(RuntimeError, match="push failed"):
        with stack:
            pytest.fail("started without an image")
    assert set(started) == {"moto", "registry"}
    for name, process in started.items():
        assert process.returncode is not None and not alive(process.pid), f"{name} outlived the failed start"


def test_a_registry_that_fails_to_come_up_stops_itself_and_moto(tmp_path, started, monkeypatch):
    def never_answers(*args, **kwargs):
        raise OSError("no answer (test)")

    # local_registry's own view of urllib only: moto's readiness check (and boto3) keep the real one.
    monkeypatch.setattr(local_registry, "urllib", types.SimpleNamespace(request=types.SimpleNamespace(
        urlopen=never_answers)))
    monkeypatch.setattr(services_module, "LocalRegistry", functools.partial(LocalRegistry, ready_timeout=1))
    stack = stack_module.LocalStack(tmp_path / "no-such-image", tmp_path / "work", _model(tmp_path))
    with pytest.raises(RuntimeError, match="did not answer"):
        with stack:
            pytest.fail("started without a registry")
    assert set(started) == {"moto", "registry"}
    for name, process in started.items():
        assert process.returncode is not None and not alive(process.pid), f"{name} outlived the failed start"
