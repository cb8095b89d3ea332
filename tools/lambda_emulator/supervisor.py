"""The runtime process: start it, hear when it ends, kill it, measure its memory.

What to do when it ends is the emulator's business (emulator.py); nothing here holds state.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .env import process_peak_rss_mb

logger = logging.getLogger("tools.lambda_emulator")


def spawn(command: Sequence[str], *, env: Mapping[str, str], cwd: str | None, stdout: Any, stderr: Any) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,  # its own process group, so children die with it
    )


def watch(proc: subprocess.Popen, on_exit: Callable[[int], None]) -> None:
    """Call ``on_exit(returncode)`` from a thread of its own once ``proc`` has ended."""
    threading.Thread(target=lambda: on_exit(proc.wait()), name=f"lambda-runtime-{proc.pid}", daemon=True).start()


def terminate(proc: subprocess.Popen, grace: float) -> None:
    if grace > 0:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group spawn() created with start_new_session
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        logger.error("runtime pid %d did not die after SIGKILL", proc.pid)


def peak_memory_mb(probe: Callable[[], float | None] | None, pid: int | None) -> float | None:
    """From the caller's probe if there is one (a container's cgroup), else the process's own peak RSS."""
    try:
        if probe is not None:
            value = probe()
            return None if value is None else float(value)
        if pid is not None:
            return process_peak_rss_mb(pid)
    except Exception:  # a broken probe must not break the invoke
        logger.exception("max_memory_mb callable failed")
    return None
