"""What Lambda bills for a set of invocations: each duration rounded up to the millisecond, times the memory in GB.

The benchmarks compare triggers and memory sizes by this figure (bench/trigger_cost.py, bench/lambda_sizing.py).
Requests are billed too (a flat price per million invocations), so the invocation count is reported beside it.
"""

import math
from collections.abc import Iterable


def billed_ms(duration_ms: float) -> int:
    """Lambda's billed duration: the duration rounded up to the next whole millisecond (at least 1 ms)."""
    return max(1, math.ceil(duration_ms))


def gb_seconds(durations_ms: Iterable[float], memory_mb: int) -> float:
    """Billed GB-seconds of invocations that ran DURATIONS_MS each at MEMORY_MB (Lambda counts a GB as 1,024 MB)."""
    return sum(billed_ms(d) for d in durations_ms) / 1000 * memory_mb / 1024
