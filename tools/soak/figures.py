"""The soak's figures, from its invocations: throughput per environment, latency, retries, peak memory.

Throughput is items analyzed per second of the phase's wall time (first publish to nothing outstanding), so it
includes what the phase went through: cold starts, failed model fetches, the killed container's replacement, waits
for redeliveries. Latency is the emulator's duration (event delivered -> response) of invocations that succeeded.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tools.local.environment import ExecutionEnvironment
from tools.local.latency import percentile
from tools.soak.driver import Call, Run

MIB = 2**20


def phase(run: Run, environments: list[ExecutionEnvironment]) -> dict[str, Any]:
    ok = [c for c in run.calls if c.result.ok]
    figures: dict[str, Any] = {
        "seconds": round(run.seconds, 1), "timed_out": run.timed_out, "invocations": len(run.calls),
        "failed_invocations": dict(Counter(_error_type(c) for c in run.calls if not c.result.ok)),
        "records_delivered": sum(c.records for c in run.calls),
        "analyzed": sum(c.summary.get("analyzed", 0) for c in ok),
        "duplicates": sum(c.summary.get("duplicates", 0) for c in ok),
        "rejected": sum(len(c.summary.get("rejected", [])) for c in ok),
        # Records the function asked to have delivered again: SQS batchItemFailures, and SNS invocations failed
        # because a write failed after botocore's retries (RecordsFailedError).
        "function_reported_retries": sum(len(c.summary.get("batchItemFailures", [])) for c in ok)
        + sum(1 for c in run.calls if _error_type(c) == "RecordsFailedError"),
        "environments": {},
        "latency_ms": {},
    }
    for env in environments:
        mine = [c for c in ok if c.environment == env.name]
        analyzed = sum(c.summary.get("analyzed", 0) for c in mine)
        figures["environments"][env.name] = {
            "invocations": sum(1 for c in run.calls if c.environment == env.name), "analyzed": analyzed,
            "items_per_s": round(analyzed / run.seconds, 1) if run.seconds else None,
        }
    for path in ("sns", "sqs"):
        durations = [c.result.record.duration_ms for c in ok if c.path == path and c.result.record.duration_ms]
        figures["latency_ms"][path] = {"invocations": len(durations),
                                       "p50": round(percentile(durations, 0.5), 1),
                                       "p99": round(percentile(durations, 0.99), 1)}
    return figures


def _error_type(call: Call) -> str:
    error = call.result.json() if call.result.payload else None
    return (error or {}).get("errorType") or call.result.record.error_type or "unknown"


def memory(environments: list[ExecutionEnvironment]) -> dict[str, Any]:
    """Peak memory of every container, by environment (a replaced container keeps its own figure)."""
    return {env.name: {"source": env.peak_memory_source, "limit": env.memory_limit, "cpu": env.cpu_limit,
                       "containers_mb": {cid: round(peak / MIB) for cid, peak in env.peaks.items()}}
            for env in environments}
