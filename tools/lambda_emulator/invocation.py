"""One invocation while it is under way, its outcome, and the record it leaves behind."""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .records import (
    OUTCOME_INIT_ERROR,
    OUTCOME_INIT_TIMEOUT,
    OUTCOME_RUNTIME_EXIT,
    OUTCOME_SUCCESS,
    OUTCOME_TIMEOUT,
    InvocationRecord,
    format_report,
)
from .wire import error_doc, json_bytes


@dataclass
class Outcome:
    kind: str  # one of the OUTCOME_* strings
    payload: bytes
    content_type: str = "application/json"
    error: dict | None = None
    restart_reason: str | None = None  # set when the runtime must be replaced afterwards

    @property
    def function_error(self) -> str | None:
        """The X-Amz-Function-Error value: Lambda says "Unhandled" for every failure kind."""
        return None if self.kind == OUTCOME_SUCCESS else "Unhandled"


# The failures the emulator itself decides on, side by side so their wording stays consistent.
# errorType is Lambda's, so callers that branch on it behave here as they will there; the
# messages are modelled on Lambda's, not copied byte for byte (README.md).


def error_outcome(error_type: str, message: str, kind: str, restart: str | None) -> Outcome:
    doc = error_doc(error_type, message)
    return Outcome(kind=kind, payload=json_bytes(doc), error=doc, restart_reason=restart)


def timeout_outcome(request_id: str, timeout: float) -> Outcome:
    msg = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
    return error_outcome("Sandbox.Timedout", msg, OUTCOME_TIMEOUT, "timeout")


def init_timeout_outcome(request_id: str, init_timeout: float) -> Outcome:
    msg = (
        f"RequestId: {request_id} Error: the runtime did not ask for an invocation "
        f"within the {init_timeout:.2f} second init timeout"
    )
    return error_outcome("Sandbox.Timedout", msg, OUTCOME_INIT_TIMEOUT, "init_timeout")


def init_error_outcome(error: dict, payload: bytes) -> Outcome:
    """What the runtime posted to /init/error, passed on to the invoker."""
    return Outcome(kind=OUTCOME_INIT_ERROR, payload=payload, error=dict(error), restart_reason="init_error")


def exit_outcome(request_id: str, returncode: int | None) -> Outcome:
    msg = f"RequestId: {request_id} Error: Runtime exited with error: {_describe_returncode(returncode)}"
    return error_outcome("Runtime.ExitError", msg, OUTCOME_RUNTIME_EXIT, "exit")


def stopped_outcome(request_id: str) -> Outcome:
    msg = f"RequestId: {request_id} Error: the emulator was stopped"
    return error_outcome("Runtime.ExitError", msg, OUTCOME_RUNTIME_EXIT, None)


def spawn_failed_outcome(request_id: str, command: Sequence[str] | None, exc: OSError) -> Outcome:
    msg = f"RequestId: {request_id} Error: could not start the runtime {command!r}: {exc}"
    return error_outcome("Runtime.InvalidEntrypoint", msg, OUTCOME_RUNTIME_EXIT, None)


def _describe_returncode(code: int | None) -> str:
    if code is None:
        return "unknown exit status"
    if code < 0:
        try:
            return f"signal: {signal.Signals(-code).name}"
        except ValueError:
            return f"signal: {-code}"
    return f"exit status {code}"


@dataclass
class Invocation:
    request_id: str
    event: bytes
    content_type: str
    trace_id: str
    function_arn: str
    client_context: str | None  # JSON text
    cognito_identity: str | None  # JSON text
    delivered_mono: float | None = None
    deadline_mono: float | None = None
    deadline_epoch_ms: int | None = None
    cold: bool = False
    init_ms: float | None = None
    runtime_pid: int | None = None
    respawn: bool = False  # its warm runtime died before taking it: start a fresh one and retry
    allow_respawn: bool = False
    outcome: Outcome | None = None
    finished_mono: float | None = None

    def complete(self, outcome: Outcome) -> bool:
        """Set the outcome once; later attempts are ignored (returns False).

        A timeout, an exit and the runtime's own answer can race; the first one wins.
        """
        if self.outcome is not None:
            return False
        self.outcome = outcome
        self.finished_mono = time.monotonic()
        return True


def build_record(
    inv: Invocation,
    outcome: Outcome,
    *,
    t0: float,
    started_at: float,
    max_memory_mb: float | None,
    pid: int | None,
    memory_size_mb: int,
) -> InvocationRecord:
    end = inv.finished_mono or time.monotonic()
    duration = None if inv.delivered_mono is None else max(0.0, (end - inv.delivered_mono) * 1000.0)
    billed = None if duration is None else int(math.ceil(duration))
    record = InvocationRecord(
        request_id=inv.request_id,
        status=outcome.kind,
        cold_start=inv.cold,
        init_ms=inv.init_ms if inv.cold else None,
        duration_ms=duration,
        billed_ms=billed,
        total_ms=(end - t0) * 1000.0,
        error=outcome.error,
        max_memory_mb=max_memory_mb,
        memory_size_mb=memory_size_mb,
        runtime_pid=pid,
        response_bytes=len(outcome.payload),
        started_at=started_at,
    )
    record.report = format_report(record)
    return record


class RuntimeHungUp(Exception):
    """The runtime closed its /next connection while waiting: it is dead, nothing was delivered."""
