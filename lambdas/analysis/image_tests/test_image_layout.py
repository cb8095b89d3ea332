"""The built image layout: OCI conformance, Lambda's media types, config, contents, and the size budget."""

import gzip
import json
import os
import subprocess
import tarfile
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

LAYOUT = Path(os.environ["IMAGE_LAYOUT"]).resolve()
# $(rootpaths @oci_image_spec//:schemas): the image-spec's own schemas, pinned in tools/oci/spec/schemas.bzl.
_SCHEMA_FILES = os.environ.get("OCI_SCHEMA_FILES", "").split()
SCHEMAS = Path(_SCHEMA_FILES[0]).resolve().parent if _SCHEMA_FILES else None
BLOBS = LAYOUT / "blobs/sha256"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
NFR_002_BYTES = 3 * 1000**3  # the specification's budget: image < 3 GB uncompressed


def blob(digest: str) -> bytes:
    return (BLOBS / digest.split(":", 1)[1]).read_bytes()


def read_json(digest: str) -> dict:
    return json.loads(blob(digest))


@pytest.fixture(scope="module")
def index() -> dict:
    return json.loads((LAYOUT / "index.json").read_text())


@pytest.fixture(scope="module")
def manifest(index) -> dict:
    return read_json(index["manifests"][0]["digest"])


@pytest.fixture(scope="module")
def config(manifest) -> dict:
    return read_json(manifest["config"]["digest"])


@pytest.fixture(scope="module")
def layer_members(manifest) -> list[list[tarfile.TarInfo]]:
    members = []
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=gzip.GzipFile(BLOBS / layer["digest"].split(":")[1]), mode="r|") as tar:
            members.append([m for m in tar])
    return members


def validator(name: str):
    assert SCHEMAS and (SCHEMAS / name).exists(), (
        f"OCI image-spec schema {name} not in @oci_image_spec ({SCHEMAS}); pin it in tools/oci/spec/schemas.bzl"
    )
    # The schemas refer to each other by file name, relative to their ids under this base (the specification
    # resolves them the same way): register every file there.
    base = "https://opencontainers.org/schema/image/"
    registry = Registry().with_resources(
        (base + path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4))
        for path in SCHEMAS.glob("*.json")
    )
    schema = {"id": base + name, **json.loads((SCHEMAS / name).read_text())}
    return jsonschema.Draft4Validator(schema, registry=registry, format_checker=jsonschema.FormatChecker())


def test_layout_file_index_manifest_and_config_match_the_oci_schemas(index, manifest, config):
    validator("image-layout-schema.json").validate(json.loads((LAYOUT / "oci-layout").read_text()))
    validator("image-index-schema.json").validate(index)
    validator("image-manifest-schema.json").validate(manifest)
    validator("config-schema.json").validate(config)


def test_the_schema_check_rejects_a_broken_manifest(manifest):
    broken = {**manifest, "layers": [{"mediaType": GZIP_LAYER, "digest": "sha256:not-hex", "size": -1}]}
    assert list(validator("image-manifest-schema.json").iter_errors(broken))


def test_every_blob_matches_its_digest_and_size(manifest):
    import hashlib

    for descriptor in [manifest["config"], *manifest["layers"]]:
        data = blob(descriptor["digest"])
        assert f"sha256:{hashlib.sha256(data).hexdigest()}" == descriptor["digest"]
        assert len(data) == descriptor["size"]


def test_lambda_gets_one_image_manifest_with_gzip_layers(index, manifest):
    assert [m["mediaType"] for m in index["manifests"]] == [MANIFEST]
    assert manifest["mediaType"] == MANIFEST
    assert {layer["mediaType"] for layer in manifest["layers"]} == {GZIP_LAYER}
    assert len(manifest["layers"]) == 4, "layers: base | torch | wheels | app"


def test_skopeo_and_umoci_accept_the_layout(index):
    inspected = json.loads(subprocess.run(
        ["skopeo", "inspect", f"oci:{LAYOUT}:latest"], check=True, capture_output=True, text=True).stdout)
    assert inspected["Digest"] == index["manifests"][0]["digest"]
    stat = subprocess.run(["umoci", "stat", "--image", f"{LAYOUT}:latest", "--json"],
                          capture_output=True, text=True)
    assert stat.returncode == 0, stat.stderr


def test_config_runs_awslambdaric_as_non_root_with_caches_in_tmp(config):
    runtime = config["config"]
    env = dict(item.split("=", 1) for item in runtime["Env"])
    assert runtime["Entrypoint"] == ["/usr/bin/python3.11", "-m", "awslambdaric"]
    assert runtime["Cmd"] == ["lambdas.analysis.handler.lambda_handler"]
    assert runtime["User"] == "1000:1000"
    assert runtime["WorkingDir"] == "/var/task"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    for key in ("HF_HOME", "XDG_CACHE_HOME", "MODEL_DIR"):
        assert env[key].startswith("/tmp"), key
    assert (env["AWS_RETRY_MODE"], env["AWS_MAX_ATTEMPTS"]) == ("standard", "5")
    labels = runtime["Labels"]
    # Tests build without --stamp: the revision label is stamped into pushed images only, so an unstamped image
    # depends on nothing but its sources (a docs-only commit keeps its digest). tools/oci's assemble_test and
    # stamp_test cover the stamped side.
    assert "org.opencontainers.image.revision" not in labels, f"an unstamped image carries a revision: {labels}"
    assert labels["sentiment.model-contract"]
    assert config["architecture"] == "amd64" and config["os"] == "linux"


def test_layers_in_order_base_torch_wheels_app(layer_members):
    base, torch_layer, wheels, app = ([m.name for m in members] for members in layer_members)
    assert "usr/bin/python3.11" in base and "etc/passwd" in base
    assert any(n.startswith("usr/local/lib/python3.11/dist-packages/torch/") for n in torch_layer)
    assert not any("/transformers/" in n for n in torch_layer)
    assert any(n.startswith("usr/local/lib/python3.11/dist-packages/transformers/") for n in wheels)
    assert not any("/torch/" in n for n in wheels)
    assert "var/task/lambdas/analysis/handler.py" in app
    assert all(n == "var" or n.startswith("var/task") for n in app)


def test_no_test_dependency_gpu_library_pip_cache_or_foreign_bytecode(layer_members):
    names = [m.name for members in layer_members for m in members]
    site = "usr/local/lib/python3.11/dist-packages/"
    top_level = {n[len(site):].split("/")[0].lower() for n in names if n.startswith(site)}
    for forbidden in ("pytest", "_pytest", "moto", "installer", "nvidia", "triton", "jsonschema"):
        assert forbidden not in top_level, forbidden
    assert not any("/.cache/pip" in n or n.startswith("root/.cache") for n in names)
    pycs = [n for n in names if n.endswith(".pyc")]
    assert pycs, "byte code should be precompiled"
    assert all(".cpython-311" in n for n in pycs), [n for n in pycs if ".cpython-311" not in n][:5]
    assert "var/task/lambdas/analysis/__pycache__/handler.cpython-311.pyc" in names


def test_layers_are_reproducible_archives(layer_members):
    for members in layer_members:
        names = [m.name for m in members]
        assert names == sorted(names)
        assert {m.mtime for m in members} == {946684800}


def test_base_has_a_non_root_user_and_ca_bundle(layer_members):
    base = {m.name: m for m in layer_members[0]}
    assert base["tmp"].mode == 0o1777
    assert base["etc/ssl/certs/ca-certificates.crt"].size > 100_000


def test_uncompressed_size_is_within_the_3_gb_budget(config, layer_members):
    total = sum(m.size for members in layer_members for m in members)
    print(f"uncompressed image content: {total / 1e6:.1f} MB (budget {NFR_002_BYTES / 1e9:.0f} GB)")
    assert total < NFR_002_BYTES
