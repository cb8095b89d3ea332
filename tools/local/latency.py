"""Latency percentiles for the local runner and the soak (nearest rank: every figure is one that was measured)."""

import math


def percentile(values: list[float], fraction: float) -> float:
    """The value at FRACTION (0..1] of the sorted VALUES, by nearest rank; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
