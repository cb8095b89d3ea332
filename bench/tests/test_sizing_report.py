"""The lambda_sizing report marks each goal from the numbers: ours within 10 % of the bare forward pass, peak memory
under 1,024 MB (and the long batch must have succeeded for that to count)."""

from bench.sizing_report import memory_section, throughput_rows, throughput_section


def run(memory_mb=2048, precision="fp32", ours_s=1.0, bare_s=0.95, peak_mb=700, long_ok=True):
    return {
        "memory_mb": memory_mb, "precision": precision, "vcpus": round(memory_mb / 1769, 3),
        "load_before": 3.0, "load_after": 4.0, "cpu_limit": "enforced: 1.158 vCPU",
        "cold": {"init_ms": 500, "first_invocation_ms": 6000, "start_to_first_result_ms": 6500,
                 "download_extract_ms": 4000.0, "import_ms": 4500.0, "import_wait_ms": 0.0, "model_init_ms": 80.0},
        "cost": {"batch_size": 10, "invocations": 5, "median_ms": 500.0, "ms_per_item": 50.0,
                 "gb_s_per_item": 0.5 * 2 / 10},
        "throughput": {"torch_threads": 2, "pid_cpus": 2, "tmp_used_mb": 260, "process_peak_rss_mb": 500,
                       "batches": {"32": {"ours_s": ours_s, "bare_s": bare_s, "ours_cpu_s": 1.2, "bare_cpu_s": 1.1,
                                          "tokens_per_item": 20}}},
        "peak_before_long_batch_mb": peak_mb - 100, "peak_memory_mb": peak_mb,
        "long_batch": {"ok": long_ok, "duration_ms": 9000, "status": "success" if long_ok else "runtime_exit"},
    }


def results(*runs):
    return {"cpus": 2, "load_before": 3.0, "load_after": 4.0, "wall_s": 600, "tarball_mb": 248, "repeats": 5,
            "runs": list(runs)}


def test_items_per_second_per_vcpu_divide_by_the_quota():
    row = throughput_rows(run(ours_s=2.0, bare_s=1.6))[0]
    assert row["ours"] == 16 and row["bare"] == 20 and row["ratio"] == 0.8
    assert round(row["per_vcpu"], 2) == round(16 / 1.158, 2)


def test_throughput_goal_met_within_ten_percent_missed_beyond():
    assert "met (95 %)" in throughput_section(results(run(ours_s=1.0, bare_s=0.95)))
    assert "missed (80 %)" in throughput_section(results(run(ours_s=1.0, bare_s=0.8)))


def test_memory_goal_needs_a_peak_under_1024_mb_and_a_batch_that_succeeded():
    assert "met (700 MB)" in memory_section(results(run(peak_mb=700)))
    assert "missed (1100 MB)" in memory_section(results(run(peak_mb=1100)))
    text = memory_section(results(run(peak_mb=600, long_ok=False)))
    assert "missed (600 MB)" in text and "**failed** (runtime_exit)" in text


def test_the_1024_mb_comparison_pairs_the_same_precision():
    text = memory_section(results(run(2048, "fp32"), run(1024, "fp32", ours_s=2.0)))
    assert "| fp32 | 6500 / 6500 ms (1.00×) | 32.0 / 16.0 (0.50×) |" in text


def test_thread_table_gives_items_per_second_per_count_and_their_ratio():
    one = run()
    one["throughput"]["other_threads"] = {"1": {"1": 0.05, "32": 2.0}, "2": {"1": 0.1, "32": 1.6}}
    text = throughput_section(results(one))
    assert "| 1 thread | 2 threads | 2 / 1 |" in text
    assert "| 2048 MB, 1.158 vCPU | fp32 | 1 | 20.0 | 10.0 | 0.50× |" in text
    assert "| 2048 MB, 1.158 vCPU | fp32 | 32 | 16.0 | 20.0 | 1.25× |" in text


def test_no_thread_table_when_the_probe_tried_no_other_counts():
    assert "other torch thread counts" not in throughput_section(results(run()))
