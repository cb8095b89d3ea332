"""The whole Analysis Lambda on one machine, on loopback ports, with no AWS account and no Docker engine.

    with LocalStack(image_layout, workdir, model_tarball, progress=print) as stack:
        stack.seed(items)                                   # pending items in DynamoDB
        drain(stack.invoke, topic, stack.buffer)            # delivered as AWS delivers (delivery.py)
        stack.item(source_id, timestamp), stack.rejects()   # read back

One execution environment (environment.py: the Runtime API emulator and the container under runc) over the shared
services (services.py: moto's server, the registry the image goes through, the unpacked image). Several environments
over one Services are what the soak runs (tools/soak).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from tools.lambda_emulator import InvokeResult
from tools.local.environment import HANDLER, ExecutionEnvironment
from tools.local.services import MODEL_VERSION, REJECTS_QUEUE, Services

__all__ = ["HANDLER", "MODEL_VERSION", "REJECTS_QUEUE", "LocalStack"]


class LocalStack:
    def __init__(self, image_layout: Path, workdir: Path, model_tarball: Path, *, progress=lambda message: None,
                 **environment: Any):
        """ENVIRONMENT: ExecutionEnvironment's options (memory_mb, timeout_s, tmp_mb, handler, mounts, extra_env,
        cpus)."""
        self.services = Services(image_layout, workdir, model_tarball, progress=progress)
        self._environment = dict(environment, progress=progress)
        self._exits = contextlib.ExitStack()

    def __enter__(self) -> LocalStack:
        with contextlib.ExitStack() as starting:  # a failed start stops what it started, last first
            starting.enter_context(self.services)
            self.environment = starting.enter_context(
                ExecutionEnvironment(self.services, "function", **self._environment))
            self._exits = starting.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._exits.close()

    # --- the environment's ---
    @property
    def emulator(self):
        return self.environment.emulator

    @property
    def peak_memory_bytes(self) -> int:
        return self.environment.peak_memory_bytes

    @property
    def peak_memory_source(self) -> str | None:
        return self.environment.peak_memory_source

    @property
    def memory_limit(self) -> str | None:
        return self.environment.memory_limit

    @property
    def cpu_limit(self) -> str | None:
        return self.environment.cpu_limit

    def invoke(self, event: dict) -> InvokeResult:
        return self.environment.invoke(event)

    def cold_restart(self) -> None:
        self.environment.cold_restart()

    def container_log(self) -> list[dict]:
        return self.environment.container_log()

    def files_written_outside_tmp(self) -> list[str]:
        return self.environment.files_written_outside_tmp()

    # --- the services' ---
    @property
    def reference(self) -> str:
        return self.services.reference

    @property
    def buffer(self):
        """The SNS -> SQS buffer queue's event source (sqs_source.SqsEventSource)."""
        return self.services.buffer

    def seed(self, items: list[dict]) -> None:
        self.services.seed(items)

    def item(self, source_id: str, timestamp: str) -> dict | None:
        return self.services.item(source_id, timestamp)

    def rejects(self) -> list[dict[str, Any]]:
        return self.services.rejects()
