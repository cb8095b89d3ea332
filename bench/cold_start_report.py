"""The cold-start benchmark's section of bench/REPORT.md: one table per CPU setting, and the goals marked."""

# Issue 13's goals for the cold start under Lambda's CPU.
SPEEDUP_GOAL = 2.5  # at least this many times faster than the naive baseline
FLOOR_GOAL = 1.2  # at most this many times the floor (import + load with the model already in /tmp)
NFR_001_MS = 10_000  # container start -> first result


def _ms(value: float) -> str:
    return f"{value:.0f} ms"


def _mark(met: bool) -> str:
    return "**met**" if met else "**missed**"


def goals(figures: dict) -> list[str]:
    """Each goal, met or missed with its number, for the first 'ours' kind (the shipped format first)."""
    kinds = figures["kinds"]
    lines = []
    naive, floor = kinds.get("naive"), kinds.get("floor")
    for name, ours in kinds.items():
        if not name.startswith("ours"):
            continue
        total = ours["start_to_first_result_ms"]
        parts = [f"{name}: {_ms(total)}"]
        if naive:
            speedup = naive["start_to_first_result_ms"] / total
            met = _mark(speedup >= SPEEDUP_GOAL)
            parts.append(f"{speedup:.2f}× faster than naive (goal ≥ {SPEEDUP_GOAL}×: {met})")
        if floor:
            ratio = total / floor["start_to_first_result_ms"]
            parts.append(f"{ratio:.2f}× the floor (goal ≤ {FLOOR_GOAL}×: {_mark(ratio <= FLOOR_GOAL)})")
        parts.append(f"NFR-001 < 10 s: {_mark(total < NFR_001_MS)}, margin {_ms(NFR_001_MS - total)}")
        lines.append("- " + "; ".join(parts) + ".")
    if naive:
        lines.append(f"- naive baseline: {_ms(naive['start_to_first_result_ms'])} "
                     f"(NFR-001: {_mark(naive['start_to_first_result_ms'] < NFR_001_MS)}).")
    return lines


def table(figures: dict) -> list[str]:
    kinds = figures["kinds"]
    names = list(kinds)
    rows = [
        "| container start → first result | " + " | ".join(names) + " |",
        "| --- |" + " --- |" * len(names),
        "| runtime init (python start → first `next`) | "
        + " | ".join(_ms(kinds[n]["init_ms"]) for n in names) + " |",
        "| first invocation (fetch, load, infer, write) | "
        + " | ".join(_ms(kinds[n]["first_invocation_ms"]) for n in names) + " |",
        "| **total (median)** | "
        + " | ".join(f"**{_ms(kinds[n]['start_to_first_result_ms'])}**" for n in names) + " |",
        "| each run | " + " | ".join(", ".join(f"{r['start_to_first_result_ms']:.0f}" for r in kinds[n]["runs"])
                                      for n in names) + " |",
        "| peak memory (cgroup) | " + " | ".join(f"{kinds[n]['peak_memory_mb']} MB" for n in names) + " |",
    ]
    phased = [n for n in names if "download_extract_ms" in kinds[n]]
    for key in ("download_extract_ms", "import_ms", "import_wait_ms", "load_time_ms"):
        if phased:
            rows.append(f"| {key} (median) | " + " | ".join(
                _ms(kinds[n][key]) if key in kinds[n] else "" for n in names) + " |")
    return rows


def section(results: dict, repeats: int) -> str:
    lines = [
        f"Command: `{results.get('command', 'tools/bazel run //bench:cold_start')}`: the image under runc (2048 MB "
        "cgroup, read-only root, tmpfs "
        "/tmp) behind the Runtime API emulator, full-size model with random weights "
        f"({results['tarball_mb']} MB tarball) from moto's S3 on loopback (moto outside the container's cgroup), "
        f"median of {repeats} fresh containers of each kind, interleaved. Floor: our function with the model "
        "already in /tmp (MODEL_PATH), i.e. import + weights load + one inference, nothing to download. "
        f"Host: {results['cpus_of_host']} CPUs shared with other work; the benchmark ran at nice "
        f"{results.get('nice', 0)}, its containers with CFS weight {results.get('cpu_shares') or 'default (1024)'}; "
        "1-minute load average "
        f"{results['load_1min_before']} before the run, {results['load_1min_after']} after (each run's in results/).",
    ]
    for setting in ("quota", "unconstrained"):
        if setting not in results:
            continue
        figures = results[setting]
        title = "Under Lambda's CPU" if setting == "quota" else "Unconstrained (no CPU quota)"
        lines += ["", f"### {title}: CPU {figures['cpu_limit']}", "", *table(figures), "", *goals(figures)]
    return "\n".join(lines)
