"""Lambda's billing arithmetic: duration rounded up to the millisecond, times memory in GB (1,024 MB)."""

import pytest

from tools.local.billing import billed_ms, gb_seconds


@pytest.mark.parametrize(("duration", "billed"), [(0.2, 1), (1.0, 1), (1.01, 2), (99.5, 100), (250.0, 250)])
def test_duration_is_rounded_up_to_the_millisecond(duration, billed):
    assert billed_ms(duration) == billed


def test_gb_seconds_bill_each_invocation_rounded_then_scale_by_memory():
    # Three invocations of 0.4 ms bill 3 ms, not 2 (1.2 ms rounded once).
    assert gb_seconds([0.4, 0.4, 0.4], 1024) == pytest.approx(0.003)
    assert gb_seconds([1000.0], 2048) == pytest.approx(2.0)
    assert gb_seconds([500.0, 1500.0], 512) == pytest.approx(1.0)
    assert gb_seconds([], 2048) == 0
