"""What every execution environment of the local stack shares: one moto server, one registry, one unpacked image.

moto's server (its own process) holds the model in S3, the items table, the rejects queue and the SNS -> SQS buffer
queue with its DLQ. Debian's docker-registry receives the image by digest, and what runs is what is pulled back from
it (push and run are the same bytes), unpacked once: its root file system is read-only in every container, so all
of them can share it.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.local.sqs_source import SqsEventSource
from tools.model.archive import sha256_file
from tools.model.target import parse_target
from tools.model.upload import upload
from tools.oci import runc_lambda
from tools.oci.local_registry import LocalRegistry
from tools.testing import moto_server

BUCKET, MODEL_KEY, TABLE = "sentiment-models", "distilbert/v1.0.0/model.tar.gz", "sentiment-items"
REJECTS_QUEUE = "analysis-lambda-rejects"  # as the Terraform module names it: <function>-rejects
MODEL_VERSION = "v1.0.0"
PUSH = Path(__file__).resolve().parents[1] / "oci/push.py"
# Longer than any local invocation takes once warm, short enough that a redelivery does not stall a run (see
# sqs_source.py: Terraform's 725 s would).
VISIBILITY_TIMEOUT_S = 10


def cleanup(step):
    """STEP wrapped so that its failure is reported and the remaining cleanups still run, without masking the error
    that ended the start (or the with block)."""
    def run():
        try:
            step()
        except Exception as error:  # noqa: BLE001 - keep stopping the rest
            print(f"local: cleanup step failed: {error}", file=sys.stderr)
    return run


class Services:
    def __init__(self, image_layout: Path, workdir: Path, model_tarball: Path, *, progress=lambda message: None,
                 visibility_timeout_s: int = VISIBILITY_TIMEOUT_S):
        self.image_layout, self.workdir, self.model_tarball = Path(image_layout), Path(workdir), Path(model_tarball)
        self.progress, self.visibility_timeout_s = progress, visibility_timeout_s
        self._exits = contextlib.ExitStack()

    def __enter__(self) -> Services:
        # Each step registers its own cleanup on STARTING the moment it has something to stop; if a later step
        # fails, leaving the with block undoes everything started so far (last first) before the error propagates.
        with contextlib.ExitStack() as starting:
            self._start(starting)
            self._exits = starting.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._exits.close()

    def _start(self, starting: contextlib.ExitStack) -> None:
        reason = runc_lambda.host_can_run_containers()
        if reason:
            raise RuntimeError(reason)
        self.workdir.mkdir(parents=True, exist_ok=True)

        self.progress("starting moto server (S3, DynamoDB, SQS) on loopback")
        # Its own process, like a real service: its CPU is not ours, and its state dies with it.
        self.moto = moto_server.start_moto_server(mode="subprocess")  # stops its process itself if it fails
        starting.callback(cleanup(self.moto.stop))
        moto_server.create_bucket(self.moto, BUCKET)
        # Put in S3 as //tools/model:publish puts it (sha256 metadata), and pinned as Terraform pins it
        # (MODEL_SHA256 in function_env): model_store checks the bytes against both.
        self.model_sha256 = sha256_file(self.model_tarball)
        upload(self.moto.client("s3"), self.model_tarball,
               parse_target(f"s3://{BUCKET}/{MODEL_KEY}", MODEL_VERSION),
               {"sha256": self.model_sha256, "model-version": MODEL_VERSION})
        moto_server.create_table(self.moto, TABLE)
        self.rejects_queue_url = moto_server.create_queue(self.moto, REJECTS_QUEUE)
        self.buffer = SqsEventSource.create(self.moto, visibility_s=self.visibility_timeout_s)
        self.progress(f"uploaded s3://{BUCKET}/{MODEL_KEY} ({self.model_tarball.stat().st_size / 1e6:.1f} MB)")

        self.progress("starting docker-registry on loopback; pushing the image by digest")
        self.registry = LocalRegistry(self.workdir / "registry").__enter__()  # a failed start stops its own process
        starting.callback(cleanup(lambda: self.registry.__exit__(None, None, None)))
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
        self.image_bundle = runc_lambda.unpack(pulled, self.workdir / "image")

    def function_env(self) -> dict[str, str]:
        """The function's configuration, as Terraform sets it, pointing at moto."""
        return {
            "DYNAMODB_TABLE": TABLE, "MODEL_S3_URI": f"s3://{BUCKET}/{MODEL_KEY}", "MODEL_VERSION": MODEL_VERSION,
            "MODEL_SHA256": self.model_sha256,
            "REJECTS_QUEUE_URL": self.rejects_queue_url,
            "AWS_ENDPOINT_URL": self.moto.endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local", "POWERTOOLS_SERVICE_NAME": "analysis-lambda",
            "POWERTOOLS_METRICS_NAMESPACE": "SentimentPipeline", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }

    # --- what the runners and the tests use ---
    def seed(self, items: list[dict]) -> None:
        moto_server.seed_pending(self.moto, TABLE, items)

    def item(self, source_id: str, timestamp: str) -> dict | None:
        return moto_server.get_item(self.moto, TABLE, source_id, timestamp)

    def rejects(self) -> list[dict[str, Any]]:
        """The dead letters now in the rejects queue (read and deleted)."""
        return moto_server.drain_queue(self.moto, self.rejects_queue_url)
