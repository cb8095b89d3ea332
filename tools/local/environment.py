"""One Lambda execution environment: a Runtime API emulator and, behind it, one container of the image at a time.

The emulator serves one invocation at a time, as one Lambda execution environment does; concurrency comes from
several of these over the same Services. The container runs under runc with Lambda's limits (the image's non-root
user, read-only root shared with the other environments, tmpfs /tmp, a memory cgroup with Lambda's CPU quota for
that memory where runc can create one: memory_limit and cpu_limit say whether they are enforced, peak_memory_source
where the peak figures come from). It shares the host's
loopback, so it reaches the emulator and moto as Lambda reaches AWS.

When the container dies (kill() sends SIGKILL, as an out-of-memory kill or a crash would), the emulator hears of it
at once and fails the invocation in flight with Runtime.ExitError, as Lambda does; the next invocation starts a new
container through the restart hook, a cold start, as Lambda replaces a broken environment.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

from tools.lambda_emulator import InvokeResult, LambdaEmulator
from tools.local.services import Services
from tools.oci import runc_lambda

HANDLER = "lambdas.analysis.handler.lambda_handler"


class ExecutionEnvironment:
    def __init__(self, services: Services, name: str, *, memory_mb: int = 2048, timeout_s: float = 120,
                 tmp_mb: int = 1024, progress=lambda message: None, handler: str = HANDLER,
                 mounts: list[tuple[str, str, bool]] = (), extra_env: dict | None = None,
                 cpus: float | str | None = runc_lambda.LAMBDA_CPUS, cpu_shares: int | None = None):
        """handler/mounts/extra_env run something else in the same image (the benchmarks' naive baseline) or
        point the function elsewhere (extra_env wins over services.function_env(); None removes a key). cpus: the
        CPU quota (runc_lambda.configure(): Lambda's memory_mb / 1769 by default, None lifts it); cpu_shares: the
        container cgroup's CFS weight against the host's other work (configure(); the kernel's default when None)."""
        self.services, self.name = services, name
        self.memory_mb, self.timeout_s, self.tmp_mb, self.progress = memory_mb, timeout_s, tmp_mb, progress
        self.handler, self.mounts, self.extra_env = handler, list(mounts), dict(extra_env or {})
        self.cpus, self.cpu_shares = cpus, cpu_shares
        self.workdir = services.workdir / name
        self.container: subprocess.Popen | None = None
        self.container_id: str | None = None
        self.peaks: dict[str, int] = {}  # container id -> its peak memory in bytes, in start order
        self.peak_memory_source: str | None = None  # runc_lambda.FROM_CGROUP or FROM_PROCESSES
        self.memory_limit: str | None = None  # runc_lambda.memory_limit(): "enforced: ..." or "not enforced: ..."
        self.cpu_limit: str | None = None  # runc_lambda.cpu_limit(): "enforced: ...", "lifted: ..." or "not ..."
        self._memory: runc_lambda.PeakMemory | None = None
        self._log = None
        self.emulator: LambdaEmulator | None = None

    # --- lifecycle ---
    def __enter__(self) -> ExecutionEnvironment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.emulator = LambdaEmulator(
            None, handler=self.handler, function_name="analysis-lambda", timeout=self.timeout_s, init_timeout=120,
            memory_mb=self.memory_mb, restart_hook=self._restart, max_memory_mb=self._peak_mb,
            log=lambda line: self.progress(line.split("\t")[0] if line.startswith("REPORT") else line),
        )
        self.emulator.start()
        self.bundle = self._bundle()
        self.rootfs = (self.services.image_bundle / "rootfs").resolve()
        # An extra_env value of None removes the function's own setting (the benchmarks' floor drops MODEL_S3_URI).
        function_env = {k: v for k, v in {**self.services.function_env(), **self.extra_env}.items() if v is not None}
        env = self.emulator.lambda_env(extra=function_env)
        # The image's entrypoint with this handler as its argument, as Lambda runs CMD.
        args = ["/usr/bin/python3.11", "-m", "awslambdaric", self.handler]
        runc_lambda.configure(self.bundle, args=args, env=env, mounts=self.mounts, memory_mb=self.memory_mb,
                              tmp_mb=self.tmp_mb, network=True, rootfs=self.rootfs, cpus=self.cpus,
                              cpu_shares=self.cpu_shares)
        self.memory_limit = runc_lambda.memory_limit(self.bundle)
        self.cpu_limit = runc_lambda.cpu_limit(self.bundle)
        self.rootfs_marker = self.workdir / "rootfs.marker"
        self.rootfs_marker.touch()
        self.log_path = self.workdir / "container.log"
        self.state_dir = self.workdir / "runc-state"
        self.state_dir.mkdir(exist_ok=True)
        self._start_container()

    def _bundle(self) -> Path:
        """This environment's bundle: its own config.json; the root file system is the image's (read-only, shared)."""
        bundle = self.workdir / "bundle"
        bundle.mkdir(parents=True)
        shutil.copy(self.services.image_bundle / "config.json", bundle / "config.json")
        return bundle

    def stop(self) -> None:
        self._stop_container()
        if self.emulator is not None:
            self.emulator.stop()

    # --- the container ---
    def _start_container(self) -> None:
        self._log = open(self.log_path, "ab")
        try:
            self.container, self.container_id = runc_lambda.start(self.bundle, self.state_dir, stdout=self._log,
                                                                  stderr=subprocess.STDOUT)
            self._memory = runc_lambda.PeakMemory(self.bundle, self.state_dir, self.container_id).start()
            self.peaks[self.container_id] = 0
            self.emulator.notify_runtime_started()
            self._watch(self.container, self.emulator.generation)
        except BaseException:
            self._stop_container()  # whatever part of it started
            raise
        self.progress(f"{self.name}: container {self.container_id} started under runc (memory limit "
                      f"{self.memory_limit}; CPU {self.cpu_limit}; peak memory from {self._memory.source})")

    def _watch(self, container: subprocess.Popen, generation: int) -> None:
        """Tells the emulator when this container's process ends, whoever ended it (for a replaced container the
        emulator has moved on to a later generation and ignores the news)."""
        threading.Thread(target=lambda: self.emulator.notify_runtime_exited(container.wait(), generation=generation),
                         name=f"{self.name}-container-exit", daemon=True).start()

    def _stop_container(self) -> None:
        if self._memory is not None:
            self._memory.stop()
            self._sample_memory()
            self._memory = None
        if self.container_id:
            runc_lambda.stop(self.state_dir, self.container_id)
            self.container.wait(timeout=30)
            self.container_id = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _restart(self, reason: str) -> None:
        self.progress(f"{self.name}: runtime needs a restart ({reason}); replacing the container")
        self._stop_container()
        self._start_container()

    def kill(self) -> str | None:
        """SIGKILL to the running container (no clean-up, no warning); returns its id, None if none runs."""
        victim = self.container_id
        if victim is not None:
            self._sample_memory()
            runc_lambda.kill(self.state_dir, victim)
        return victim

    def cold_restart(self) -> None:
        """Stops the container; the next invocation starts a fresh one (new /tmp, new process): a cold start.

        The emulator, told the runtime exited, calls the restart hook on that invocation, which is when Lambda
        would start the new environment too: init is measured from there.
        """
        generation = self.emulator.generation
        self._stop_container()
        self.emulator.notify_runtime_exited(0, generation=generation)

    # --- memory ---
    def _sample_memory(self) -> None:
        memory, container_id = self._memory, self.container_id
        if memory is not None and container_id is not None:
            peak = memory.sample()
            if peak is not None and peak > self.peaks.get(container_id, 0):
                self.peaks[container_id], self.peak_memory_source = peak, memory.source

    def _peak_mb(self) -> float | None:
        self._sample_memory()
        return self.peak_memory_bytes / 2**20 if self.peak_memory_bytes else None

    @property
    def peak_memory_bytes(self) -> int:
        """The largest peak over this environment's containers."""
        return max(self.peaks.values(), default=0)

    # --- what the runners and the tests use ---
    def invoke(self, event: dict) -> InvokeResult:
        result = self.emulator.invoke(event)
        self._sample_memory()
        return result

    def container_log(self) -> list[dict]:
        """The containers' JSON log lines (Powertools logger and EMF metrics), oldest container first."""
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                lines.append({"raw": raw})
        return lines

    def files_written_outside_tmp(self) -> list[str]:
        """Files in the containers' root file system changed since this environment started (the root is
        read-only: none)."""
        rootfs = self.rootfs
        found = subprocess.run(["find", str(rootfs), "-xdev", "-newer", str(self.rootfs_marker), "-not", "-type", "d"],
                               capture_output=True, text=True).stdout.split()
        return [str(Path(p).relative_to(rootfs)) for p in found]
