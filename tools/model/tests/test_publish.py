"""publish end to end: values printed, the same bytes twice, moto S3 metadata, and model_store takes the upload."""

import hashlib
import json
import shutil

import pytest

from lambdas.analysis import provenance
from lambdas.shared import aws_clients
from lambdas.shared.model_store import ModelStore
from lambdas.shared.settings import Settings
from tools.model import PublishError
from tools.model.publish import main
from tools.model.target import parse_target, sibling
from tools.testing.moto_server import create_bucket

BUCKET = "models"
URI = f"s3://{BUCKET}/distilbert/v1.2.3/model.tar.gz"


def _values(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def test_dry_run_prints_the_deployment_values_and_packs_the_same_bytes_twice(tiny_model_artifact, tmp_path, capsys):
    first, second, values_json = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz", tmp_path / "values.json"
    args = ["--from", str(tiny_model_artifact.model_dir), "--to", URI, "--dry-run"]
    assert main([*args, "--out", str(first), "--json", str(values_json)]) == 0
    values = _values(capsys.readouterr().out)
    assert main([*args, "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert values == json.loads(values_json.read_text()) == {
        "MODEL_S3_URI": URI, "MODEL_VERSION": "v1.2.3", "MODEL_SHA256": hashlib.sha256(first.read_bytes()).hexdigest(),
        "MODEL_BUCKET_NAME": BUCKET, "MODEL_OBJECT_KEY": "distilbert/v1.2.3/model.tar.gz"}


def test_upload_to_moto_is_accepted_by_the_functions_model_store(tiny_model_artifact, aws_env, tmp_path, capsys):
    create_bucket(aws_env, BUCKET)
    assert main(["--from", str(tiny_model_artifact.model_dir), "--to", URI, "--endpoint-url", aws_env.endpoint]) == 0
    values = _values(capsys.readouterr().out)

    obj = aws_env.client("s3").get_object(Bucket=BUCKET, Key="distilbert/v1.2.3/model.tar.gz")
    body = obj["Body"].read()
    assert obj["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest() == values["MODEL_SHA256"]
    assert obj["Metadata"]["model-version"] == "v1.2.3"
    running = {lib: obj["Metadata"][f"{lib}-version"] for lib in provenance.LIBRARIES}
    assert running["torch"].startswith("2.") and running["transformers"]

    # The function's own fetch, with the printed values as its environment.
    aws_clients.clear_cache()
    settings = Settings.from_env({
        "MODEL_S3_URI": values["MODEL_S3_URI"], "MODEL_VERSION": values["MODEL_VERSION"],
        "MODEL_SHA256": values["MODEL_SHA256"], "MODEL_DIR": str(tmp_path / "fn" / "model"),
        "REJECTS_QUEUE_URL": "http://127.0.0.1/rejects", "AWS_REGION": aws_env.region})
    local = ModelStore().ensure_local(settings, aws_clients.s3)
    assert local.fetched and local.sha256 == values["MODEL_SHA256"]
    recorded = json.loads((local.path / provenance.MANIFEST_NAME).read_text())
    assert {lib: recorded[lib] for lib in provenance.LIBRARIES} == running
    weights = (tiny_model_artifact.model_dir / "model.safetensors").read_bytes()
    assert recorded["weights_sha256"] == {"model.safetensors": hashlib.sha256(weights).hexdigest()}
    assert provenance.recorded_versions(local.path) == running


def test_also_publishes_zstd_and_plain_tar_beside_the_tar_gz_and_the_function_reads_them(
        tiny_model_artifact, aws_env, tmp_path, capsys):
    create_bucket(aws_env, BUCKET)
    assert main(["--from", str(tiny_model_artifact.model_dir), "--to", URI, "--endpoint-url", aws_env.endpoint,
                 "--also", "tar.zst", "--also", "tar"]) == 0
    values = _values(capsys.readouterr().out)
    s3 = aws_env.client("s3")
    # zstd's frame magic; a plain tar's first header says "ustar" at offset 257.
    for suffix, key, magic in (("TAR_ZST", "distilbert/v1.2.3/model.tar.zst", b"\x28\xb5\x2f\xfd"),
                               ("TAR", "distilbert/v1.2.3/model.tar", None)):
        assert values[f"MODEL_OBJECT_KEY_{suffix}"] == key
        assert values[f"MODEL_S3_URI_{suffix}"] == f"s3://{BUCKET}/{key}"
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert body.startswith(magic) if magic else body[257:262] == b"ustar"
        assert hashlib.sha256(body).hexdigest() == values[f"MODEL_SHA256_{suffix}"]
        aws_clients.clear_cache()
        settings = Settings.from_env({
            "MODEL_S3_URI": values[f"MODEL_S3_URI_{suffix}"], "MODEL_VERSION": values["MODEL_VERSION"],
            "MODEL_SHA256": values[f"MODEL_SHA256_{suffix}"], "MODEL_DIR": str(tmp_path / suffix / "model"),
            "REJECTS_QUEUE_URL": "http://127.0.0.1/rejects", "AWS_REGION": aws_env.region})
        local = ModelStore().ensure_local(settings, aws_clients.s3)
        assert local.fetched and (local.path / provenance.MANIFEST_NAME).is_file()
    # The .tar.gz is still the main artifact, unchanged in name and format.
    assert s3.get_object(Bucket=BUCKET, Key="distilbert/v1.2.3/model.tar.gz")["Body"].read(2) == b"\x1f\x8b"


def test_also_needs_a_tar_gz_key():
    with pytest.raises(SystemExit):
        main(["--from", ".", "--to", URI, "--also", "zip"])
    with pytest.raises(PublishError, match="--also needs a key ending in .tar.gz"):
        sibling(parse_target("s3://models/distilbert/v1.2.3/model.bin"), "tar")


def test_republishing_the_same_bytes_is_a_no_op_other_bytes_are_refused(tiny_model_artifact, aws_env, tmp_path, capsys):
    create_bucket(aws_env, BUCKET)
    args = ["--to", URI, "--endpoint-url", aws_env.endpoint]
    assert main(["--from", str(tiny_model_artifact.model_dir), *args]) == 0
    published = _values(capsys.readouterr().out)["MODEL_SHA256"]
    assert main(["--from", str(tiny_model_artifact.model_dir), *args]) == 0
    assert "already holds these bytes" in capsys.readouterr().err

    changed = tmp_path / "changed"
    shutil.copytree(tiny_model_artifact.model_dir, changed)
    (changed / "README.md").write_text("another artifact\n")
    assert main(["--from", str(changed), *args]) == 1
    assert f"already holds another artifact (sha256 {published})" in capsys.readouterr().err
    head = aws_env.client("s3").head_object(Bucket=BUCKET, Key="distilbert/v1.2.3/model.tar.gz")
    assert head["Metadata"]["sha256"] == published


def test_a_refused_directory_fails_before_anything_is_uploaded(tiny_model_artifact, aws_env, tmp_path, capsys):
    create_bucket(aws_env, BUCKET)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_artifact.model_dir, broken)
    (broken / "vocab.txt").unlink()
    (broken / "tokenizer.json").unlink(missing_ok=True)
    assert main(["--from", str(broken), "--to", URI, "--endpoint-url", aws_env.endpoint]) == 1
    assert "no tokenizer" in capsys.readouterr().err
    assert aws_env.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


@pytest.mark.parametrize(("uri", "version", "expected"), [
    ("s3://models/distilbert/v1.2.3/model.tar.gz", None, "v1.2.3"),
    ("s3://models/distilbert/v2.0.0-rc.1/model.tar.gz", None, "v2.0.0-rc.1"),
    ("s3://models/models/distilbert/v1/model.tar.gz", "distilbert-sst2-v1", "distilbert-sst2-v1"),
])
def test_version_comes_from_the_key_or_version(uri, version, expected):
    assert parse_target(uri, version).version == expected


@pytest.mark.parametrize(("uri", "version", "message"), [
    ("s3://models/models/distilbert/v1/model.tar.gz", None, r"no directory named like vX\.Y\.Z.*pass --version"),
    ("s3://models/v1.0.0/v1.1.0/model.tar.gz", None, r"several version segments \(v1\.0\.0, v1\.1\.0\)"),
    ("models/distilbert/v1.2.3/model.tar.gz", None, r"expected s3://BUCKET/KEY"),
    ("s3://Models/v1.2.3/model.tar.gz", None, r"expected s3://BUCKET/KEY"),
    ("s3://models/model.tar.gz", "two words", r"--version 'two words'"),
])
def test_bad_target_is_named(uri, version, message):
    with pytest.raises(PublishError, match=message):
        parse_target(uri, version)
