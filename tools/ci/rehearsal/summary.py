"""The report at the end of a run: each step's outcome and time, the job result, what was not rehearsed, the disk
the workflow's sysroot cache uses and the cache entries; and the exit status that sums it up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .console import log
from .host import du
from .layout import SYSROOT_CACHE_VAR

if TYPE_CHECKING:  # only for the annotation: job.py imports this module
    from .job import Rehearsal


def print_summary(rehearsal: Rehearsal, wall: float) -> int:
    """0: the job passed cleanly; 1: it failed or was cancelled; 3: it passed, but a continue-on-error step failed
    or a cache step warned (a green run with a warning on GitHub)."""
    log("")
    log("=" * 100)
    mode = "dry run" if rehearsal.dry else ("cold" if rehearsal.args.cold else "warm")
    title = f"{rehearsal.job_id} ({rehearsal.job['name']})" if rehearsal.job.get("name") else rehearsal.job_id
    log(f"job {title}, event {rehearsal.event}, commit {rehearsal.commit[:12]}, {mode}")
    log(f"{'#':>3}  {'step':<52} {'outcome':<14} {'time':>9}")
    for r in rehearsal.results:
        log(f"{r.number:>3}  {r.name[:52]:<52} {r.outcome:<14} {r.seconds:>8.1f}s")
        for note in r.notes + [f"WARNING: {w}" for w in r.warnings]:
            log(f"{'':>5} - {note}")
    job = "cancelled" if rehearsal.status.cancelled else "failure" if rehearsal.status.failed else "success"
    log(f"total wall time: {wall:.0f} s ({wall / 60:.1f} min)")
    log(f"job result: {job}{' (dry run: run: steps assumed to succeed)' if rehearsal.dry else ''}")
    skipped = [r for r in rehearsal.results if r.outcome == "not-rehearsed"]
    if skipped:
        log("not rehearsed (the rehearsal does not cover these): " + "; ".join(r.name for r in skipped))
    sysroot_cache = rehearsal.global_env.get(SYSROOT_CACHE_VAR)
    if sysroot_cache and not rehearsal.dry and Path(sysroot_cache).is_dir():
        log(f"{SYSROOT_CACHE_VAR} chosen by the workflow: {sysroot_cache}: {du(Path(sysroot_cache))}")
        for child in sorted(Path(sysroot_cache).iterdir()):
            if child.is_dir():
                log(f"    {du(child):>6}  {child.name}")
    entries = rehearsal.store.entries()
    log(f"cache store {rehearsal.store.root}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        f" (GitHub keeps 10 GB per repository, least recently used evicted)")
    for e in sorted(entries, key=lambda e: e.created):
        size = e.archive.stat().st_size if e.archive.exists() else 0
        tag = " (saved by this run)" if e.key in rehearsal.cache.saved_keys else ""
        log(f"    {size / 2**20:>9.1f} MiB  {e.key}  [{e.scope}]{tag}")
    failed_steps = [r for r in rehearsal.results if r.outcome in ("failure", "cancelled")]
    save_warnings = [r for r in rehearsal.results if r.warnings]
    if job != "success":
        return 1
    if failed_steps or save_warnings:
        log("the job passed, but " + "; ".join(
            [f"step {r.number} failed under continue-on-error" for r in failed_steps if r.outcome == "failure"]
            + [f"step {r.number} warned: {w}" for r in save_warnings for w in r.warnings]))
        return 3
    return 0
