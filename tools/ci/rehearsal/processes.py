"""Processes seen through /proc: alive or not, parents and descendants, and ending one with TERM, then KILL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .console import log


def proc_text(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pid_alive(pid: int) -> bool:
    status = proc_text(pid, "status")
    return bool(status) and "\nState:\tZ" not in status


def end_process(pid: int, what: str) -> None:
    log(f"ending {what} (pid {pid}): {proc_text(pid, 'cmdline')[:150]}")
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.1)


def parent_pid(pid: int) -> int:
    try:
        return int(proc_text(pid, "stat").rsplit(")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return 0


def own_ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        pid = parent_pid(pid)
    return pids


def with_descendants(pid: int) -> list[int]:
    """PID's descendants, deepest first, then PID: ended in that order nothing is left orphaned."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            children.setdefault(parent_pid(int(entry.name)), []).append(int(entry.name))
    order, stack = [], [pid]
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(children.get(current, []))
    return order[::-1]
