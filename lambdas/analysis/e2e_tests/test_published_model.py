"""A model as //tools/model:publish makes it, end to end: checked and packed by publish (top-level model/ with its
publish.json), put in moto's S3 with the sha256 metadata publish sets, and loaded by the built image under runc with
MODEL_SHA256 passed as the Terraform module passes it. Once with the SHA-256 publish printed (items analyzed, no
version warning), once with a stale one (the cold start fails naming both checksums, SNS retries then hands the
event to the on-failure destination, and the item stays pending: nothing is analyzed from the wrong bytes)."""

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from tools.local.delivery import SnsTopic, drain
from tools.local.environment import ExecutionEnvironment
from tools.local.services import BUCKET, MODEL_KEY
from tools.local.stack import MODEL_VERSION, LocalStack
from tools.model import publish
from tools.testing.events import make_item
from tools.testing.tiny_model import build_artifact

IMAGE = Path(os.environ["IMAGE_LAYOUT"]).resolve()
URI = f"s3://{BUCKET}/{MODEL_KEY}"
PINNED = make_item(1, "Harbour reopens after repairs", model_version=MODEL_VERSION)
STALE = make_item(2, "Harbour closes for repairs", model_version=MODEL_VERSION)
STALE_SHA256 = hashlib.sha256(b"the artifact this function was deployed for").hexdigest()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    work = tmp_path_factory.mktemp("publish")
    source = build_artifact(work / "source").model_dir  # a save_pretrained directory
    tarball, values = work / "model.tar.gz", work / "values.json"
    # --dry-run: publish checks, packs and loads it; the stack below uploads these bytes with publish's upload().
    assert publish.main(["--from", str(source), "--to", URI, "--dry-run", "--out", str(tarball),
                         "--json", str(values)]) == 0
    return tarball, json.loads(values.read_text())


@pytest.fixture(scope="module")
def run(published, tmp_path_factory):
    tarball, _ = published
    with LocalStack(IMAGE, tmp_path_factory.mktemp("stack"), tarball, timeout_s=120, progress=print) as stack:
        stack.seed([PINNED, STALE])
        s3_metadata = stack.services.moto.client("s3").head_object(Bucket=BUCKET, Key=MODEL_KEY)["Metadata"]
        pinned_topic = SnsTopic()
        pinned_topic.publish(PINNED)
        pinned = drain(stack.invoke, pinned_topic)
        pinned_log = stack.container_log()
        # A second execution environment over the same S3 object, deployed with another artifact's SHA-256.
        with ExecutionEnvironment(stack.services, "stale-pin", timeout_s=120, progress=print,
                                  extra_env={"MODEL_SHA256": STALE_SHA256}) as stale_env:
            stale_topic = SnsTopic(retry_delay_s=0.1)
            stale_topic.publish(STALE)
            stale = drain(stale_env.invoke, stale_topic)
        yield {"stack": stack, "s3_metadata": s3_metadata, "pinned": pinned, "pinned_log": pinned_log,
               "stale": stale, "stale_topic": stale_topic,
               "items": {i["source_id"]: stack.item(i["source_id"], i["timestamp"]) for i in (PINNED, STALE)}}


def test_publish_prints_the_deployment_values_of_the_tarball_it_wrote(published):
    tarball, values = published
    assert values["MODEL_S3_URI"] == URI and values["MODEL_VERSION"] == MODEL_VERSION
    assert values["MODEL_SHA256"] == hashlib.sha256(tarball.read_bytes()).hexdigest()
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert {name.split("/")[0] for name in names} == {"model"}, names  # the production layout
    assert "model/publish.json" in names and "model/config.json" in names


def test_the_object_carries_publishs_sha256_and_the_function_is_pinned_to_it(run, published):
    _, values = published
    assert run["s3_metadata"]["sha256"] == values["MODEL_SHA256"]
    assert run["stack"].services.function_env()["MODEL_SHA256"] == values["MODEL_SHA256"]


def test_with_the_published_sha256_the_item_is_analyzed(run):
    assert [i.result.payload for i in run["pinned"] if not i.result.ok] == []
    stored = run["items"][PINNED["source_id"]]
    assert stored["status"] == "analyzed" and stored["model_version"] == MODEL_VERSION, stored
    loaded = [line for line in run["pinned_log"] if line.get("message") == "Model loaded successfully"]
    assert len(loaded) == 1
    # publish.json recorded the locked torch/transformers, which the image has: no provenance warning.
    assert "Model was published with other library versions" not in [l.get("message") for l in run["pinned_log"]]


def test_with_a_stale_sha256_the_cold_start_fails_naming_both_checksums(run, published):
    _, values = published
    assert run["stale"] and not any(i.result.ok for i in run["stale"])
    message = run["stale"][0].result.payload.decode()
    assert "checksum mismatch" in message and "MODEL_SHA256" in message, message
    assert STALE_SHA256 in message and values["MODEL_SHA256"] in message, message


def test_the_stale_pins_item_is_retried_then_kept_for_replay_and_never_analyzed(run):
    topic = run["stale_topic"]
    assert len(run["stale"]) == 1 + topic.retries  # the first attempt and every retry
    assert [d.message for d in topic.on_failure] == [STALE]
    assert run["items"][STALE["source_id"]]["status"] == "pending"
