"""runc_lambda.configure(): Lambda's CPU for the memory, as a CFS quota in config.json, and said so.

No runc here: these check the bundle configure() writes. The image smoke test
(//lambdas/analysis/image_tests:image_smoke_test) runs a container under it and checks the kernel throttles it.
"""

import json

import pytest

from tools.oci import runc_lambda


@pytest.fixture
def bundle(tmp_path):
    # The parts of umoci's generated config.json that configure() reads.
    (tmp_path / "config.json").write_text(json.dumps({
        "process": {"args": ["/bin/true"], "env": ["PATH=/usr/bin"]},
        "root": {"path": "rootfs"}, "mounts": [], "linux": {"namespaces": [{"type": "mount"}]},
    }))
    return tmp_path


@pytest.fixture
def cgroups_allowed(monkeypatch):
    monkeypatch.setattr(runc_lambda, "memory_cgroup_parent", lambda: ("", ""))


def written(bundle) -> dict:
    return json.loads((bundle / "config.json").read_text())


def test_lambda_cpus_follow_memory():
    assert runc_lambda.lambda_cpus(1769) == 1
    assert runc_lambda.lambda_cpus(2048) == pytest.approx(1.158, abs=0.001)
    assert runc_lambda.cpu_quota_us(runc_lambda.lambda_cpus(2048)) == 115772


def test_default_quota_is_lambdas_for_the_memory(bundle, cgroups_allowed):
    runc_lambda.configure(bundle, memory_mb=2048)
    resources = written(bundle)["linux"]["resources"]
    assert resources["cpu"] == {"quota": 115772, "period": 100_000}
    assert resources["memory"] == {"limit": 2048 * runc_lambda.MIB}
    assert runc_lambda.cpu_limit(bundle).startswith("enforced: 1.158 vCPU (CFS quota 115772 us per 100000 us)")


def test_quota_scales_with_memory(bundle, cgroups_allowed):
    runc_lambda.configure(bundle, memory_mb=1024)
    assert written(bundle)["linux"]["resources"]["cpu"]["quota"] == 57886


def test_explicit_cpus(bundle, cgroups_allowed):
    runc_lambda.configure(bundle, cpus=0.5)
    assert written(bundle)["linux"]["resources"]["cpu"] == {"quota": 50_000, "period": 100_000}


def test_cpu_shares_weigh_the_cgroup_and_are_recorded(bundle, cgroups_allowed):
    runc_lambda.configure(bundle, cpu_shares=8192)
    assert written(bundle)["linux"]["resources"]["cpu"] == {"quota": 115772, "period": 100_000, "shares": 8192}
    assert ", CFS weight 8192 shares, cgroup " in runc_lambda.cpu_limit(bundle)


def test_none_lifts_the_quota_and_says_so(bundle, cgroups_allowed):
    runc_lambda.configure(bundle, cpus=None)
    spec = written(bundle)
    assert "cpu" not in spec["linux"]["resources"]
    assert spec["linux"]["resources"]["memory"]  # the memory limit stays
    assert runc_lambda.cpu_limit(bundle).startswith("lifted: no CPU quota")


def test_without_cgroups_neither_limit_is_requested_and_both_say_why(bundle, monkeypatch):
    monkeypatch.setattr(runc_lambda, "memory_cgroup_parent", lambda: (None, "not writable here"))
    runc_lambda.configure(bundle)
    spec = written(bundle)
    assert "resources" not in spec["linux"]  # rootless runc tolerates missing cgroups only without resources
    assert runc_lambda.cpu_limit(bundle) == "not enforced: not writable here"
    assert runc_lambda.memory_limit(bundle) == "not enforced: not writable here"


def test_non_positive_cpus_are_refused(bundle, cgroups_allowed):
    with pytest.raises(ValueError):
        runc_lambda.configure(bundle, cpus=0)
