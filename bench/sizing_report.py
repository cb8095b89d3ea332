"""The two REPORT.md sections of bench/lambda_sizing.py, from its results (kept apart: the measuring is long, the
wording changes)."""

GOAL_RATIO = 0.9  # ours within 10 % of the bare forward pass: at least 90 % of its items/s
MEMORY_GOAL_MB = 1024


def _runs(results: dict) -> list[dict]:
    return results["runs"]


def _quota(run: dict) -> str:
    return f"{run['memory_mb']} MB, {run['vcpus']} vCPU"


def _machine(results: dict) -> str:
    loads = ", ".join(f"{r['precision']} {r['memory_mb']} MB {r['load_before']} → {r['load_after']}"
                      for r in _runs(results))
    return (f"Machine: {results['cpus']} CPUs shared with other work; 1-minute load average {results['load_before']} "
            f"at the start, {results['load_after']} at the end; per container (before → after): {loads}. "
            f"Whole run {results['wall_s']} s.")


def throughput_rows(run: dict) -> list[dict]:
    """Per batch size: items/s of ours and of the bare forward pass, their ratio, per vCPU and per CPU-second."""
    rows = []
    for n, b in run["throughput"]["batches"].items():
        n = int(n)
        ours, bare = n / b["ours_s"], n / b["bare_s"]
        rows.append({"batch": n, "ours": ours, "bare": bare, "ratio": ours / bare, "per_vcpu": ours / run["vcpus"],
                     "per_cpu_s": n / b["ours_cpu_s"] if b["ours_cpu_s"] else float("nan"),
                     "tokens": b["tokens_per_item"]})
    return rows


def thread_lines(results: dict) -> list[str]:
    """Ours at each torch thread count the probe tried, same process: items/s, and the ratio to the first count."""
    runs = [run for run in _runs(results) if run["throughput"].get("other_threads")]
    if not runs:
        return []
    counts = list(runs[0]["throughput"]["other_threads"])
    lines = ["Ours at other torch thread counts (`torch.set_num_threads`, the same warm process, after the table "
             "above; median of the same repeats), items/s:", "",
             "| memory, CPU quota | precision | batch | " + " | ".join(f"{c} thread{'s' * (c != '1')}" for c in counts)
             + f" | {counts[-1]} / {counts[0]} |", "| --- | --- | --- |" + " --- |" * (len(counts) + 1)]
    for run in runs:
        by_count = run["throughput"]["other_threads"]
        for n in by_count[counts[0]]:
            rates = [int(n) / by_count[c][n] for c in counts]
            lines.append(f"| {_quota(run)} | {run['precision']} | {n} | " + " | ".join(f"{r:.1f}" for r in rates)
                         + f" | {rates[-1] / rates[0]:.2f}× |")
    return lines + [""]


def throughput_section(results: dict) -> str:
    lines = [
        "Command: `tools/bazel run //bench:lambda_sizing`: the image under runc behind the Runtime API emulator, one "
        "fresh container per memory size and precision, CPU quota memory/1769 vCPUs (Lambda's), full-size "
        f"DistilBERT-architecture model with random weights ({results['tarball_mb']} MB tarball) fetched by the "
        "function itself. In the same warm process (bench/lambda_probe.py): `SentimentModel.predict` (tokenize, "
        "forward, softmax, labels) against the bare forward pass of the same torch model on the same batch already "
        f"tokenized; 40 shipped headlines; median of {results['repeats']} back-to-back pairs.", "",
        _machine(results), "",
        "| memory, CPU quota | precision | batch | tokens/item | ours items/s | bare forward items/s | ours / bare "
        "| ours items/s per vCPU | items per CPU-second | goal: ≥ 90 % of bare |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in _runs(results):
        for row in throughput_rows(run):
            met = "met" if row["ratio"] >= GOAL_RATIO else "missed"
            lines.append(f"| {_quota(run)} | {run['precision']} | {row['batch']} | {row['tokens']} "
                         f"| {row['ours']:.1f} | {row['bare']:.1f} | {row['ratio'] * 100:.0f} % "
                         f"| {row['per_vcpu']:.1f} | {row['per_cpu_s']:.1f} | {met} ({row['ratio'] * 100:.0f} %) |")
    first = _runs(results)[0]
    threads = ", ".join(f"{run['precision']} {run['memory_mb']} MB: {run['throughput']['torch_threads']}"
                        for run in _runs(results))
    lines += ["", f"torch threads in the function ({threads}) out of {first['throughput']['pid_cpus']} CPUs in its "
              "affinity mask (the CFS quota limits time, not the CPUs it may run on; sentiment.torch_threads caps "
              "them at Lambda's vCPUs for the memory, rounded up).", "",
              *thread_lines(results),
              f"Per-item cost at the SQS batch size the Terraform module uses ({first['cost']['batch_size']} records, "
              "the function's own handler: parse, infer, conditional write), warm, median of "
              f"{first['cost']['invocations']} invocations; billed = duration rounded up to 1 ms × memory:", "",
              "| memory, CPU quota | precision | invocation of 10 | ms per item | GB-s per item | GB-s per 1,000 items |",
              "| --- | --- | --- | --- | --- | --- |"]
    for run in _runs(results):
        c = run["cost"]
        lines.append(f"| {_quota(run)} | {run['precision']} | {c['median_ms']:.0f} ms | {c['ms_per_item']:.1f} ms "
                     f"| {c['gb_s_per_item']:.4f} | {c['gb_s_per_item'] * 1000:.1f} |")
    return "\n".join(lines) + "\n"


def memory_section(results: dict) -> str:
    runs = _runs(results)
    lines = [
        "Command: `tools/bazel run //bench:lambda_sizing` (the same run as 'Warm throughput per vCPU in the "
        "container'): after its cold start, cost batches and throughput probe, each container gets one SQS event of "
        "32 records (INFERENCE_BATCH_SIZE) of 20,000-character texts (MAX_TEXT_CHARS, the contract's longest; each "
        "truncated to 512 tokens, run MAX_BATCH_TOKENS = 4,096 padded tokens per forward pass: 8 at a time). Peak = the container cgroup's high-water mark over its whole life, cold start "
        "included. /tmp is a tmpfs charged to that cgroup here (the extracted model); on Lambda /tmp is separate "
        "ephemeral storage, so the cgroup peak overstates Lambda's 'Max Memory Used' by about that much; the cgroup "
        "(v1 max_usage_in_bytes) also counts page cache of the files read (image, model), which the kernel reclaims "
        "at the limit: a peak equal to the limit means pressure, a failed batch means the OOM killer.", "",
        _machine(results), "",
        "| memory, CPU quota | precision | peak cgroup memory | before the long batch | /tmp (in the peak) "
        "| process peak RSS (after the long batch if it ran) | long batch (32 × 20,000 chars) "
        "| goal: peak < 1,024 MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        t, long = run.get("after_long_batch") or run["throughput"], run["long_batch"]
        outcome = f"{long['duration_ms']} ms" if long["ok"] else f"**failed** ({long['status']})"
        met = "met" if run["peak_memory_mb"] < MEMORY_GOAL_MB and long["ok"] else "missed"
        lines.append(f"| {_quota(run)} | {run['precision']} | **{run['peak_memory_mb']} MB** "
                     f"| {run['peak_before_long_batch_mb']} MB | {t['tmp_used_mb']} MB | {t['process_peak_rss_mb']} MB "
                     f"| {outcome} | {met} ({run['peak_memory_mb']} MB) |")
    lines += ["", "What 2048 → 1024 MB costs (same run; cold start = container start → first result, one fresh "
              "container each):", "",
              "| precision | cold start 2048 / 1024 MB | batch 32 items/s 2048 / 1024 MB | SQS batch of 10: ms per item "
              "2048 / 1024 MB | GB-s per 1,000 items 2048 / 1024 MB |", "| --- | --- | --- | --- | --- |"]
    by = {(r["memory_mb"], r["precision"]): r for r in runs}
    for precision in dict.fromkeys(r["precision"] for r in runs):
        big, small = by.get((2048, precision)), by.get((1024, precision))
        if not big or not small:
            continue
        rate = lambda run: next(row["ours"] for row in throughput_rows(run) if row["batch"] == 32)  # noqa: E731
        lines.append(
            f"| {precision} | {big['cold']['start_to_first_result_ms']} / {small['cold']['start_to_first_result_ms']} ms "
            f"({small['cold']['start_to_first_result_ms'] / big['cold']['start_to_first_result_ms']:.2f}×) "
            f"| {rate(big):.1f} / {rate(small):.1f} ({rate(small) / rate(big):.2f}×) "
            f"| {big['cost']['ms_per_item']:.1f} / {small['cost']['ms_per_item']:.1f} ms "
            f"| {big['cost']['gb_s_per_item'] * 1000:.1f} / {small['cost']['gb_s_per_item'] * 1000:.1f} |")
    lines += ["", "Cold-start phases (from the container's `Model loaded successfully` line):", ""]
    for run in runs:
        c = run["cold"]
        lines.append(f"- {run['precision']} {run['memory_mb']} MB: init {c['init_ms']} ms + first invocation "
                     f"{c['first_invocation_ms']} ms; download_extract {c['download_extract_ms']:.0f} ms, import "
                     f"{c['import_ms']:.0f} ms (waited {c['import_wait_ms']:.0f} ms), model init "
                     f"{c['model_init_ms']:.0f} ms.")
    return "\n".join(lines) + "\n"
