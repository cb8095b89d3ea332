"""The whole Analysis Lambda on one machine, on loopback ports, with no AWS account and no Docker engine.

    with LocalStack(image_layout, workdir, model_tarball, progress=print) as stack:
        stack.seed(items)                       # pending items in DynamoDB
        result = stack.invoke(sns_event(...))   # through the Runtime API emulator, into the container
        stack.item(source_id, timestamp)        # read back

What runs: moto's server (S3 + DynamoDB), Debian's docker-registry (the image is pushed by digest, then pulled
back, and what runs is what was pulled: push and run are the same bytes), our Runtime API emulator, and the
container under runc with Lambda's limits (the image's non-root user, read-only root, tmpfs /tmp, a 2048 MB memory
cgroup where runc can create one; memory_limit says whether it is enforced, peak_memory_source where the peak figure
comes from: "cgroup" or "process RSS"). The container shares the host's loopback so it reaches the emulator and moto
like Lambda reaches AWS.
"""

import contextlib
import json
import subprocess
import sys
from pathlib import Path

from tools.lambda_emulator import LambdaEmulator
from tools.oci import runc_lambda
from tools.oci.local_registry import LocalRegistry
from tools.testing import moto_server

HANDLER = "lambdas.analysis.handler.lambda_handler"
BUCKET, MODEL_KEY, TABLE = "sentiment-models", "distilbert/v1.0.0/model.tar.gz", "sentiment-items"
REJECTS_QUEUE = "analysis-lambda-rejects"  # as the Terraform module names it: <function>-rejects
MODEL_VERSION = "v1.0.0"
PUSH = Path(__file__).resolve().parents[1] / "oci/push.py"


class LocalStack:
    def __init__(self, image_layout: Path, workdir: Path, model_tarball: Path, *, memory_mb: int = 2048,
                 timeout_s: float = 120, tmp_mb: int = 1024, progress=lambda message: None,
                 handler: str = HANDLER, mounts: list[tuple[str, str, bool]] = (), extra_env: dict | None = None):
        """handler/mounts/extra_env run something else in the same image (the benchmarks' naive baseline)."""
        self.image_layout, self.workdir, self.model_tarball = Path(image_layout), Path(workdir), Path(model_tarball)
        self.handler, self.mounts, self.extra_env = handler, list(mounts), dict(extra_env or {})
        self.memory_mb, self.timeout_s, self.tmp_mb, self.progress = memory_mb, timeout_s, tmp_mb, progress
        self.container = None
        self.container_id = None
        self.log = None
        self.peak_memory_bytes = 0
        self.peak_memory_source: str | None = None  # runc_lambda.FROM_CGROUP or FROM_PROCESSES
        self.memory_limit: str | None = None  # runc_lambda.memory_limit(): "enforced: ..." or "not enforced: ..."
        self._memory: runc_lambda.PeakMemory | None = None
        self._exits = contextlib.ExitStack()

    # --- lifecycle ---
    def __enter__(self) -> "LocalStack":
        # Each step registers its own cleanup on STARTING the moment it has something to stop; if a later step
        # fails, leaving the with block undoes everything started so far (last first) before the error propagates.
        with contextlib.ExitStack() as starting:
            self._start(starting)
            self._exits = starting.pop_all()
        return self

    def _cleanup(self, step):
        """STEP wrapped so that its failure is reported and the remaining cleanups still run, without masking the
        error that ended the start (or the with block)."""
        def run():
            try:
                step()
            except Exception as error:  # noqa: BLE001 - keep stopping the rest
                print(f"local: cleanup step failed: {error}", file=sys.stderr)
        return run

    def _start(self, starting: contextlib.ExitStack) -> None:
        reason = runc_lambda.host_can_run_containers()
        if reason:
            raise RuntimeError(reason)
        self.workdir.mkdir(parents=True, exist_ok=True)

        self.progress("starting moto server (S3 + DynamoDB) on loopback")
        # Its own process, like a real service: its CPU is not ours, and its state dies with it.
        self.moto = moto_server.start_moto_server(mode="subprocess")  # stops its process itself if it fails
        starting.callback(self._cleanup(self.moto.stop))
        moto_server.create_bucket(self.moto, BUCKET)
        moto_server.upload_model(self.moto, BUCKET, MODEL_KEY, self.model_tarball.read_bytes())
        moto_server.create_table(self.moto, TABLE)
        self.rejects_queue_url = moto_server.create_queue(self.moto, REJECTS_QUEUE)
        self.progress(f"uploaded s3://{BUCKET}/{MODEL_KEY} ({self.model_tarball.stat().st_size / 1e6:.0f} MB)")

        self.progress("starting docker-registry on loopback; pushing the image by digest")
        self.registry = LocalRegistry(self.workdir / "registry").__enter__()  # a failed start stops its own process
        starting.callback(self._cleanup(lambda: self.registry.__exit__(None, None, None)))
        push = subprocess.run([sys.executable, str(PUSH), "--image", str(self.image_layout),
                               "--repository", f"{self.registry.host}/analysis-lambda"],
                              capture_output=True, text=True)
        if push.returncode != 0:
            raise RuntimeError(f"push failed:\n{push.stderr}")
        self.reference = push.stdout.strip()
        pulled = self.workdir / "pulled"
        subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                        f"docker://{self.reference}", f"oci:{pulled}:latest"], check=True, capture_output=True)
        self.progress(f"pushed and pulled back {self.reference}")

        self.emulator = LambdaEmulator(
            None, handler=self.handler, function_name="analysis-lambda", timeout=self.timeout_s, init_timeout=120,
            memory_mb=self.memory_mb, restart_hook=self._restart, max_memory_mb=self._peak_mb,
            log=lambda line: self.progress(line.split("\t")[0] if line.startswith("REPORT") else line),
        )
        starting.callback(self._cleanup(self.emulator.stop))  # stop() is a no-op on what never started
        self.emulator.start()

        self.bundle = runc_lambda.unpack(pulled, self.workdir / "container")
        env = self.emulator.lambda_env(extra={
            "DYNAMODB_TABLE": TABLE, "MODEL_S3_URI": f"s3://{BUCKET}/{MODEL_KEY}", "MODEL_VERSION": MODEL_VERSION,
            "REJECTS_QUEUE_URL": self.rejects_queue_url,
            "AWS_ENDPOINT_URL": self.moto.endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local", "POWERTOOLS_SERVICE_NAME": "analysis-lambda",
            "POWERTOOLS_METRICS_NAMESPACE": "SentimentPipeline", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            **self.extra_env,
        })
        # The image's entrypoint with this handler as its argument, as Lambda runs CMD.
        args = ["/usr/bin/python3.11", "-m", "awslambdaric", self.handler]
        runc_lambda.configure(self.bundle, args=args, env=env, mounts=self.mounts, memory_mb=self.memory_mb,
                              tmp_mb=self.tmp_mb, network=True)
        self.memory_limit = runc_lambda.memory_limit(self.bundle)
        self.rootfs_marker = self.workdir / "rootfs.marker"
        self.rootfs_marker.touch()
        self.log_path = self.workdir / "container.log"
        starting.callback(self._cleanup(self._stop_container))
        self._start_container()

    def __exit__(self, *exc) -> None:
        self._exits.close()

    # --- container ---
    def _start_container(self) -> None:
        self.state_dir = self.workdir / "runc-state"
        self.state_dir.mkdir(exist_ok=True)
        self.log = open(self.log_path, "ab")
        try:
            self.container, self.container_id = runc_lambda.start(self.bundle, self.state_dir, stdout=self.log,
                                                                  stderr=subprocess.STDOUT)
            self._memory = runc_lambda.PeakMemory(self.bundle, self.state_dir, self.container_id).start()
            self.emulator.notify_runtime_started()
        except BaseException:
            self._stop_container()  # whatever part of it started
            raise
        self.progress(f"container {self.container_id} started under runc (memory limit {self.memory_limit}; "
                      f"peak memory from {self._memory.source})")

    def _stop_container(self) -> None:
        if self._memory is not None:
            self._memory.stop()
            self._sample_memory()
            self._memory = None
        if self.container_id:
            runc_lambda.stop(self.state_dir, self.container_id)
            self.container.wait(timeout=30)
            self.container_id = None
        if self.log is not None:
            self.log.close()

    def _restart(self, reason: str) -> None:
        self.progress(f"runtime needs a restart ({reason}); replacing the container")
        self._stop_container()
        self._start_container()

    def _sample_memory(self) -> None:
        """Folds the running container's peak so far into the stack's (the largest over its containers)."""
        if self._memory is not None:
            peak = self._memory.sample()
            if peak is not None and peak > self.peak_memory_bytes:
                self.peak_memory_bytes, self.peak_memory_source = peak, self._memory.source

    def _peak_mb(self) -> float | None:
        self._sample_memory()
        return self.peak_memory_bytes / 2**20 if self.peak_memory_bytes else None

    # --- what the runner and the tests use ---
    def seed(self, items: list[dict]) -> None:
        moto_server.seed_pending(self.moto, TABLE, items)

    def cold_restart(self) -> None:
        """Stops the container; the next invocation starts a fresh one (new /tmp, new process): a cold start.

        The emulator, told the runtime exited, calls the restart hook on that invocation, which is when Lambda
        would start the new environment too: init is measured from there.
        """
        generation = self.emulator.generation
        self._stop_container()
        self.emulator.notify_runtime_exited(0, generation=generation)

    def invoke(self, event: dict):
        result = self.emulator.invoke(event)
        self._sample_memory()
        return result

    def item(self, source_id: str, timestamp: str) -> dict | None:
        return moto_server.get_item(self.moto, TABLE, source_id, timestamp)

    def container_log(self) -> list[dict]:
        """The container's JSON log lines (Powertools logger and EMF metrics)."""
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                lines.append({"raw": raw})
        return lines

    def files_written_outside_tmp(self) -> list[str]:
        """Files in the container's root file system changed since it started (the root is read-only: none)."""
        rootfs = self.bundle / "rootfs"
        found = subprocess.run(["find", str(rootfs), "-xdev", "-newer", str(self.rootfs_marker), "-not", "-type", "d"],
                               capture_output=True, text=True).stdout.split()
        return [str(Path(p).relative_to(rootfs)) for p in found]
