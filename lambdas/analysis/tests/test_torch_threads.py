"""torch_threads: the CPUs in the affinity mask, capped by Lambda's vCPUs for the function's memory (rounded up)."""

import pytest

from lambdas.analysis import sentiment


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(sentiment, "available_cpus", lambda: 2)


@pytest.mark.parametrize("memory_mb, threads", [("1024", 1), ("1769", 1), ("1770", 2), ("2048", 2), ("10240", 2)])
def test_capped_by_the_vcpus_lambda_gives_the_memory(two_cpus, memory_mb, threads):
    assert sentiment.torch_threads({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory_mb}) == threads


@pytest.mark.parametrize("environ", [{}, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": ""},
                                     {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"},
                                     {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"}])
def test_outside_lambda_or_unreadable_every_cpu_of_the_mask(two_cpus, environ):
    assert sentiment.torch_threads(environ) == 2
