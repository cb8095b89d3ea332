"""What callers get back from an invoke: the outcome kinds, the records, the REPORT line, the errors."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

OUTCOME_SUCCESS = "success"
OUTCOME_ERROR = "error"  # the runtime posted /invocation/{id}/error
OUTCOME_TIMEOUT = "timeout"  # function timeout passed after the event was delivered
OUTCOME_INIT_TIMEOUT = "init_timeout"  # no /next within init_timeout
OUTCOME_INIT_ERROR = "init_error"  # the runtime posted /init/error
OUTCOME_RUNTIME_EXIT = "runtime_exit"  # the runtime process ended before answering
OUTCOME_RESPONSE_TOO_LARGE = "response_too_large"


@dataclass
class InvocationRecord:
    """What happened to one invocation. Times are milliseconds."""

    request_id: str
    status: str  # one of the OUTCOME_* strings
    cold_start: bool  # the event went to (or waited for) a runtime that had not served one yet
    init_ms: float | None  # runtime start -> its first /next; set on cold starts only
    duration_ms: float | None  # event delivered -> response/error/timeout; None if never delivered
    billed_ms: int | None  # ceil(duration_ms); a naive figure, not Lambda's billing
    total_ms: float  # the whole invoke, including any init wait
    error: dict | None  # the error document returned to the invoker, None on success
    max_memory_mb: float | None
    memory_size_mb: int
    runtime_pid: int | None  # managed mode only
    response_bytes: int
    started_at: float  # epoch seconds when the invoke began
    report: str = ""  # the REPORT line that was logged

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else self.error.get("errorType")


@dataclass
class InvokeResult:
    """The answer to one invoke, as the invoke endpoint returns it."""

    request_id: str
    payload: bytes
    content_type: str
    function_error: str | None  # "Unhandled" when the invocation failed
    record: InvocationRecord

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class EmulatorError(RuntimeError):
    """Misuse of the emulator (not started, payload too large, ...)."""


class PayloadTooLarge(EmulatorError):
    pass


def format_report(record: InvocationRecord) -> str:
    """A REPORT line shaped like Lambda's (tab separated)."""
    duration = record.duration_ms if record.duration_ms is not None else 0.0
    billed = record.billed_ms if record.billed_ms is not None else 0
    parts = [
        f"REPORT RequestId: {record.request_id}",
        f"Duration: {duration:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {record.memory_size_mb} MB",
    ]
    if record.max_memory_mb is not None:
        parts.append(f"Max Memory Used: {int(math.ceil(record.max_memory_mb))} MB")
    if record.cold_start and record.init_ms is not None:
        parts.append(f"Init Duration: {record.init_ms:.2f} ms")
    if record.status in (OUTCOME_TIMEOUT, OUTCOME_INIT_TIMEOUT):
        parts.append("Status: timeout")
    elif record.status in (OUTCOME_INIT_ERROR, OUTCOME_RUNTIME_EXIT, OUTCOME_RESPONSE_TOO_LARGE):
        parts.append("Status: error")
        if record.error_type:
            parts.append(f"Error Type: {record.error_type}")
    return "\t".join(parts)
