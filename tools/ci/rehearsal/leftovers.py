"""Ends what an earlier (interrupted) rehearsal left running, and only that: everything is found through the
rehearsal's own user and sysroot cache directories, never through the lead's sysroot cache or its processes."""

from __future__ import annotations

import os
import pwd
import subprocess
import time
from pathlib import Path

from .console import log
from .layout import LEAD_SYSROOT_CACHE, SUDOERS_FILE, SYSROOT_CACHE_VAR, Layout
from .processes import end_process, own_ancestors, pid_alive, proc_text, with_descendants


def is_rehearsal_cache_dir(path: str, layout: Layout) -> bool:
    """Only directories the rehearsal's workflow can have chosen: below the runner's home or /mnt/ci-cache; never the
    lead's own sysroot cache."""
    real = os.path.realpath(path)
    if real == LEAD_SYSROOT_CACHE or real.startswith("/root/") or real in ("/", str(layout.home)):
        return False
    return real.startswith(str(layout.home) + "/") or real.startswith("/mnt/ci-cache/")


def _sysroot_ready(layout: Layout, cache: str) -> bool:
    """True when the clone's tools/bazel would find its sysroot in CACHE (so `shutdown` never builds one)."""
    lib = layout.workspace / "tools" / "sysroot" / "lib.sh"
    if not lib.is_file():
        return False
    result = subprocess.run(["bash", "-c", '. "$1" && sysroot_definition_hash "$2"', "hash", str(lib), str(lib.parent)],
                            text=True, capture_output=True)
    digest = result.stdout.strip()
    return result.returncode == 0 and bool(digest) and Path(cache, f"sysroot-{digest}", ".sysroot-complete").is_file()


def kill_leftovers(layout: Layout, cache_dirs: list[str], env_for_shutdown: dict[str, str]) -> None:
    """Ends what an earlier (interrupted) rehearsal left running: the runner's processes, then the root-owned Bazel
    server and namespace holder that its sudo started, found only through the rehearsal's own sysroot cache."""
    try:
        pwd.getpwnam(layout.user)
        user_exists = True
    except KeyError:
        user_exists = False
    if user_exists:
        for sig in ("TERM", "KILL"):
            if subprocess.run(["pkill", f"-{sig}", "-u", layout.user]).returncode == 0:
                log(f"sent SIG{sig} to the processes of user {layout.user}")
                time.sleep(2)
    for cache in cache_dirs:
        if not is_rehearsal_cache_dir(cache, layout) or not os.path.isdir(cache):
            continue
        servers = []
        for pid_file in Path(cache, "bazel-output").glob("*/server/server.pid.txt"):
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            if pid_alive(pid) and f"{cache}/bazel-output" in proc_text(pid, "cmdline"):
                servers.append(pid)
        bazel = layout.workspace / "tools" / "bazel"
        if servers and user_exists and bazel.is_file() and SUDOERS_FILE.is_file() and _sysroot_ready(layout, cache):
            log(f"shutting down the rehearsal's Bazel server through {bazel}")
            env = dict(env_for_shutdown, **{SYSROOT_CACHE_VAR: cache})
            try:
                subprocess.run(["runuser", "-u", layout.user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()],
                                "bash", str(bazel), "shutdown"], cwd=layout.workspace, timeout=180,
                               stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                log("tools/bazel shutdown did not finish in 180 s")
        for pid in servers:
            if pid_alive(pid) and f"{cache}/bazel-output" in proc_text(pid, "cmdline"):
                end_process(pid, "the rehearsal's Bazel server")
        try:
            holder, holder_root = Path(cache, "namespace.pid").read_text().split()[:2]
            holder_pid = int(holder)
        except (OSError, ValueError):
            holder_pid, holder_root = 0, ""
        # The pid may have been reused since: it is ours only if it sleeps in a namespace holding our sysroot.
        if (holder_pid and holder_root.startswith(cache + "/") and pid_alive(holder_pid)
                and proc_text(holder_pid, "cmdline").startswith("sleep")
                and f"{cache}/sysroot-" in proc_text(holder_pid, "mountinfo")):
            end_process(holder_pid, "the rehearsal's sysroot namespace holder")
    # Anything else that names the runner's home (an interrupted sysroot build, a sudo'd client).
    ours = own_ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        cmdline = proc_text(int(entry.name), "cmdline")
        if f"{layout.home}/" in cmdline and LEAD_SYSROOT_CACHE not in cmdline and pid_alive(int(entry.name)):
            for pid in with_descendants(int(entry.name)):
                if pid not in ours and pid_alive(pid):
                    end_process(pid, "a leftover of an earlier rehearsal")
    if user_exists:
        subprocess.run(["pkill", "-KILL", "-u", layout.user])
