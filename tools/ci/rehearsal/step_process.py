"""A run: step's process: its output streamed with the step's prefix, and the whole process tree ended when the
step's or the job's timeout-minutes is reached or on Ctrl-C, as the runner ends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .console import log
from .processes import pid_alive, with_descendants
from .step_results import Cancelled, StepFailed


class StepProcesses:
    """Runs the job's step processes one after another. It counts Ctrl-C across steps: the first cancels the run
    (always() steps still run), the next one during any later step aborts the rehearsal."""

    def __init__(self) -> None:
        self.interrupts = 0

    def stream(self, argv: list[str], cwd: Path, prefix: str, step_deadline: float, job_deadline: float) -> int:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)

        def pump() -> None:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                sys.stdout.write(prefix + raw.decode(errors="replace").rstrip("\r\n") + "\n")
                sys.stdout.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        deadline = min(step_deadline, job_deadline)
        while True:
            error: Exception | None = None
            try:
                proc.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= job_deadline:
                    error = Cancelled("the job's timeout-minutes was reached: the run is cancelled")
                elif time.monotonic() >= step_deadline:
                    error = StepFailed("the step's timeout-minutes was reached (the action has timed out)")
            except KeyboardInterrupt:
                self.interrupts += 1
                if self.interrupts > 1:
                    self.kill_tree(proc, grace=0)
                    raise
                error = Cancelled("interrupted (Ctrl-C): the run is cancelled; Ctrl-C again to abort the rehearsal")
            if error is not None:
                log(f"    ending the step: {error}")
                self.kill_tree(proc, grace=10)
                reader.join(timeout=5)
                raise error
        reader.join(timeout=30)
        return proc.returncode

    @staticmethod
    def kill_tree(proc: subprocess.Popen, grace: float) -> None:
        """The step's process and everything below it (sudo'd root processes included), as the runner does."""
        pids = with_descendants(proc.pid)
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=wait)
                if not any(pid_alive(pid) for pid in pids if pid != proc.pid):
                    return
            except subprocess.TimeoutExpired:
                pass
