"""`:push` against Debian's docker-registry on loopback: digest round trip, manifest media type, layer reuse, and a
second push of the same image that writes nothing to the registry (ECR's immutable tags reject even an identical
re-push: https://github.com/aws/containers-roadmap/issues/2179)."""

import json
import os
import re
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


# The registry's access log (stdout, kept in registry.log): one line per request, e.g.
# 127.0.0.1 - - [date] "PUT /v2/analysis-lambda/manifests/build-0123456789ab HTTP/1.1" 201 0 "" "skopeo/1.22"
REQUEST_RE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>/v2/\S*) HTTP/[0-9.]+" (?P<status>\d{3}) ')
WRITE_METHODS = {"PUT", "POST", "PATCH", "DELETE"}


def requests_since(registry: LocalRegistry, offset: int) -> list[tuple[str, str, str]]:
    """(method, path, status) of every request the registry logged after byte OFFSET of its log."""
    text = (registry.workdir / "registry.log").read_bytes()[offset:].decode(errors="replace")
    return [(m["method"], m["path"], m["status"]) for m in REQUEST_RE.finditer(text)]


def log_size(registry: LocalRegistry) -> int:
    return (registry.workdir / "registry.log").stat().st_size


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


def test_second_push_of_the_same_image_uploads_nothing_and_still_writes_the_handoff(registry, tmp_path):
    repository = f"{registry.host}/rerun"
    image = manifest(IMAGE)
    tag = f"build-{image['digest'][7:19]}"

    offset = log_size(registry)
    first = push(IMAGE, repository, tmp_path / "first", "--handoff-file", "handoff.json")
    assert first.returncode == 0, first.stderr
    first_requests = requests_since(registry, offset)
    # The log check below is live: the first push shows up as writes, its manifest PUT among them.
    assert ("PUT", f"/v2/rerun/manifests/{tag}", "201") in first_requests, first_requests
    stored = registry.blob_digests()

    offset = log_size(registry)
    second = push(IMAGE, repository, tmp_path / "second", "--handoff-file", "handoff.json")
    assert second.returncode == 0, second.stderr
    second_requests = requests_since(registry, offset)
    assert second_requests, "the second push must at least have asked the registry"
    writes = [r for r in second_requests if r[0] in WRITE_METHODS]
    assert writes == [], f"a re-push must write nothing (immutable tags reject it): {writes}"
    assert registry.blob_digests() == stored

    assert second.stdout.strip() == f"{repository}@{image['digest']}"
    assert "nothing to upload" in second.stderr, second.stderr
    handoff = json.loads((tmp_path / "second" / "handoff.json").read_text())
    assert handoff == {"image_repository_url": repository, "image_digest": image["digest"]}
    digest = subprocess.run(["crane", "digest", "--insecure", f"{repository}:{tag}"], capture_output=True, text=True)
    assert digest.stdout.strip() == image["digest"], digest.stderr
