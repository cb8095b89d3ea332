"""`:push` against Debian's docker-registry on loopback: digest round trip, manifest media type, layer reuse."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.oci.local_registry import LocalRegistry

IMAGE = Path(os.environ["IMAGE_LAYOUT"]).resolve()
CODE_CHANGED_IMAGE = Path(os.environ["CODE_CHANGED_IMAGE_LAYOUT"]).resolve()
PUSH = Path(os.environ["PUSH_BINARY"]).resolve()


def manifest(layout: Path) -> dict:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    return {"digest": digest, **json.loads((layout / "blobs/sha256" / digest.split(":")[1]).read_text())}


def push(layout: Path, repository: str, workspace: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BUILD_WORKSPACE_DIRECTORY": str(workspace)}
    env.pop("OCI_PUSH_REPOSITORY", None)
    return subprocess.run([sys.executable, str(PUSH), "--image", str(layout), *extra,
                           *(["--repository", repository] if repository else [])],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as running:
        yield running


def test_push_without_a_repository_stops_with_a_clear_message(tmp_path):
    result = push(IMAGE, "", tmp_path)
    assert result.returncode != 0
    assert "no repository to push to" in result.stderr and "--repository" in result.stderr


def test_push_round_trip_then_code_only_change_uploads_only_the_app_layer(registry, tmp_path):
    repository = f"{registry.host}/analysis-lambda"
    first = manifest(IMAGE)

    result = push(IMAGE, repository, tmp_path, "--handoff-file", "handoff.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{repository}@{first['digest']}"
    handoff = json.loads((tmp_path / "handoff.json").read_text())
    assert handoff == {"image_repository_url": repository, "image_digest": first["digest"]}

    # Read back independently of push.py: same digest, and an image manifest (never an index) at that digest.
    inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                                f"docker://{repository}@{first['digest']}"], capture_output=True, text=True)
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    digest = subprocess.run(["crane", "digest", "--insecure", f"{repository}:build-{first['digest'][7:19]}"],
                            capture_output=True, text=True)
    assert digest.stdout.strip() == first["digest"], digest.stderr

    stored_before = registry.blob_digests()
    second = manifest(CODE_CHANGED_IMAGE)
    assert second["layers"][:3] == first["layers"][:3], "base, torch and wheel layers must be shared"
    assert second["layers"][3] != first["layers"][3]
    result = push(CODE_CHANGED_IMAGE, repository, tmp_path)
    assert result.returncode == 0, result.stderr

    uploaded = {d: size for d, size in registry.blob_digests().items() if d not in stored_before}
    expected = {second["layers"][3]["digest"], second["config"]["digest"], second["digest"]}
    assert set(uploaded) == expected
    print(f"code-only change uploaded {len(uploaded)} blobs, {sum(uploaded.values())} bytes")
    assert sum(uploaded.values()) < 1_000_000
