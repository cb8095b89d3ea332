"""LocalRegistry: nothing outlives a failed start (the registry process is stopped before the error propagates)."""

import socket
import types

import pytest

from tools.oci import local_registry
from tools.oci.local_registry import LocalRegistry
from tools.testing.processes import alive


class _Recorder:
    """Records every LocalRegistry's process as it is started (the caller never gets the object on failure)."""

    def __init__(self, monkeypatch):
        self.processes = []
        real_popen = local_registry.subprocess.Popen

        def popen(command, *args, **kwargs):  # subprocess.Popen itself: keep docker-registry's only
            process = real_popen(command, *args, **kwargs)
            if command[0] == "docker-registry":
                self.processes.append(process)
            return process

        monkeypatch.setattr(local_registry.subprocess, "Popen", popen)


def test_a_registry_that_never_answers_is_stopped(tmp_path, monkeypatch):
    recorder = _Recorder(monkeypatch)

    def never_answers(*args, **kwargs):
        raise OSError("no answer (test)")

    # local_registry's own view of urllib only: moto's readiness check (and boto3) keep the real one.
    monkeypatch.setattr(local_registry, "urllib", types.SimpleNamespace(request=types.SimpleNamespace(
        urlopen=never_answers)))
    registry = LocalRegistry(tmp_path, ready_timeout=1)
    with pytest.raises(RuntimeError, match="did not answer"):
        registry.__enter__()
    [process] = recorder.processes
    assert process.returncode is not None, "the registry process outlived the failed start"
    assert not alive(process.pid)
    assert registry.log.closed


def test_a_registry_whose_port_is_taken_is_gone(tmp_path, monkeypatch):
    recorder = _Recorder(monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # The port answers (the socket's backlog accepts) but never speaks HTTP, and the registry cannot bind it.
        with pytest.raises(RuntimeError):
            with LocalRegistry(tmp_path, port=port, ready_timeout=5):
                pytest.fail("started on a taken port")
    [process] = recorder.processes
    assert process.returncode is not None
    assert not alive(process.pid)


def test_a_started_registry_answers_and_is_stopped_on_exit(tmp_path, monkeypatch):
    recorder = _Recorder(monkeypatch)
    with LocalRegistry(tmp_path) as registry:
        assert registry.process.poll() is None
        assert registry.blob_digests() == {}
    [process] = recorder.processes
    assert process.returncode is not None and not alive(process.pid)
    assert registry.log.closed
