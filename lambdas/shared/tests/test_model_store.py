"""Model fetch from (moto) S3: checksum, once-per-container, safe extraction."""

import hashlib
import io
import threading
from pathlib import Path

import pytest

from lambdas.shared.model_store import MARKER_NAME, ModelFetchError, ModelStore
from lambdas.shared.settings import Settings
from tools.testing import hostile_tars
from lambdas.analysis.tests.fixtures import BUCKET, MODEL_KEY
from tools.testing.moto_server import upload_model
from tools.testing.tiny_model import tar_bytes
from tools.model.archive import write_archive


def _get_object_count(proxy) -> int:
    return proxy.count(lambda r: r.method == "GET" and r.path.startswith(f"/{BUCKET}/{MODEL_KEY}"))


def _leftovers(model_dir: Path) -> list[str]:
    return sorted(p.name for p in model_dir.parent.iterdir() if p.name.startswith(f".{model_dir.name}."))


def _s3(settings):
    from lambdas.shared import aws_clients

    return aws_clients.s3(settings)


def test_fetch_without_checksum(pipeline):
    settings = Settings.from_env()
    local = ModelStore().ensure_local(settings, _s3)
    assert local.fetched and local.path == pipeline.model_dir
    assert (local.path / "config.json").is_file() and (local.path / "model.safetensors").is_file()
    assert local.sha256 == pipeline.model.sha256  # computed while streaming
    assert (local.path / MARKER_NAME).is_file()
    assert _leftovers(local.path) == []


def test_fetch_with_matching_checksum_env_and_metadata(pipeline):
    upload_model(pipeline.server, BUCKET, MODEL_KEY, pipeline.model.tarball, sha256_metadata=pipeline.model.sha256)
    pipeline.set_env(MODEL_SHA256=pipeline.model.sha256.upper())
    local = ModelStore().ensure_local(Settings.from_env(), _s3)
    assert local.fetched and local.sha256 == pipeline.model.sha256


@pytest.mark.parametrize("fmt", ["tar.zst", "tar"])
def test_zstd_and_plain_tar_artifacts_are_fetched_and_verified(pipeline, fmt):
    # What the publish tool puts beside the .tar.gz: the same tar, zstd-compressed or not compressed at all.
    packed = io.BytesIO()
    write_archive(packed, pipeline.model.model_dir, fmt, top_dir="model")
    data = packed.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    upload_model(pipeline.server, BUCKET, MODEL_KEY, data, sha256_metadata=sha)
    pipeline.set_env(MODEL_SHA256=sha)
    local = ModelStore().ensure_local(Settings.from_env(), _s3)
    assert local.fetched and local.sha256 == sha
    weights = "model.safetensors"
    assert (local.path / weights).read_bytes() == (pipeline.model.model_dir / weights).read_bytes()
    assert _leftovers(local.path) == []


def test_parallel_ranged_gets_give_the_same_bytes(pipeline, monkeypatch):
    from lambdas.shared import ranged_body

    monkeypatch.setattr(ranged_body, "PART_BYTES", 64 * 1024)  # the tiny model in several ranges
    upload_model(pipeline.server, BUCKET, MODEL_KEY, pipeline.model.tarball, sha256_metadata=pipeline.model.sha256)
    pipeline.set_env(MODEL_DOWNLOAD_PARTS="4", MODEL_SHA256=pipeline.model.sha256)
    proxy = pipeline.proxy("s3")
    local = ModelStore().ensure_local(Settings.from_env(), _s3)
    assert local.fetched and local.sha256 == pipeline.model.sha256 and local.compressed_bytes == len(
        pipeline.model.tarball)
    assert _get_object_count(proxy) == -(-len(pipeline.model.tarball) // (64 * 1024))  # one GET per range


def test_files_under_one_top_level_directory(pipeline):
    upload_model(pipeline.server, BUCKET, MODEL_KEY, tar_bytes(pipeline.model.model_dir, top_dir="distilbert"))
    local = ModelStore().ensure_local(Settings.from_env(), _s3)
    assert (local.path / "config.json").is_file()
    assert not (local.path / "distilbert").exists()
    assert _leftovers(local.path) == []


def test_warm_calls_fetch_once_and_marker_survives_new_process_state(pipeline):
    proxy = pipeline.proxy("s3")
    settings = Settings.from_env()
    store = ModelStore()
    first = store.ensure_local(settings, _s3)
    second = store.ensure_local(settings, _s3)
    assert first.fetched and not second.fetched
    assert _get_object_count(proxy) == 1 and store.fetch_count == 1
    # A fresh store (e.g. the runtime restarted inside the same sandbox) trusts the marker.
    third = ModelStore().ensure_local(settings, _s3)
    assert not third.fetched and _get_object_count(proxy) == 1


def test_marker_with_other_checksum_triggers_refetch(pipeline):
    proxy = pipeline.proxy("s3")
    store = ModelStore()
    store.ensure_local(Settings.from_env(), _s3)
    # New artifact at the same URI, pinned by checksum: the cached dir is stale.
    new_data = tar_bytes(pipeline.model.model_dir, top_dir="v2")
    upload_model(pipeline.server, BUCKET, MODEL_KEY, new_data)
    pipeline.set_env(MODEL_SHA256=hashlib.sha256(new_data).hexdigest())
    local = store.ensure_local(Settings.from_env(), _s3)
    assert local.fetched and local.sha256 == hashlib.sha256(new_data).hexdigest()
    assert _get_object_count(proxy) == 2
    assert _leftovers(local.path) == []


def test_concurrent_cold_starts_fetch_once(pipeline):
    proxy = pipeline.proxy("s3")
    settings = Settings.from_env()
    store = ModelStore()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def cold_start():
        try:
            barrier.wait(timeout=10)
            results.append(store.ensure_local(settings, _s3))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=cold_start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(r.fetched for r in results) == [False, True]
    assert _get_object_count(proxy) == 1 and store.fetch_count == 1


def test_failure_leaves_nothing_and_next_call_retries(pipeline):
    upload_model(pipeline.server, BUCKET, MODEL_KEY, b"garbage")
    settings = Settings.from_env()
    store = ModelStore()
    with pytest.raises(ModelFetchError, match="not valid gzip"):
        store.ensure_local(settings, _s3)
    assert not pipeline.model_dir.exists() and _leftovers(pipeline.model_dir) == []
    upload_model(pipeline.server, BUCKET, MODEL_KEY, pipeline.model.tarball)
    assert store.ensure_local(settings, _s3).fetched
    assert store.fetch_count == 2


def test_missing_object_error_names_cause(pipeline):
    pipeline.set_env(MODEL_S3_URI=f"s3://{BUCKET}/nope/model.tar.gz")
    with pytest.raises(ModelFetchError, match="NoSuchKey") as err:
        ModelStore().ensure_local(Settings.from_env(), _s3)
    assert "s3://models/nope/model.tar.gz" in str(err.value)
    assert not pipeline.model_dir.exists()


def test_model_path_mode_validates_directory(pipeline, tmp_path):
    pipeline.set_env(MODEL_S3_URI=None, MODEL_PATH=str(pipeline.model.model_dir))
    local = ModelStore().ensure_local(Settings.from_env(), _s3)
    assert local.path == pipeline.model.model_dir and not local.fetched
    empty = tmp_path / "empty-model"
    empty.mkdir()
    pipeline.set_env(MODEL_PATH=str(empty))
    with pytest.raises(ModelFetchError, match="config.json is missing"):
        ModelStore().ensure_local(Settings.from_env(), _s3)


def test_download_errors_surface_in_the_reading_thread():
    import io

    from lambdas.shared.model_store import _HashingReader

    class Flaky(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 3 << 20:
                raise ConnectionResetError("connection reset by peer")
            return super().read(size)

    reader = _HashingReader(Flaky(b"x" * (8 << 20)))
    with pytest.raises(ConnectionResetError):
        while reader.read(1 << 16):
            pass
    with pytest.raises(RuntimeError):
        reader.hexdigest()  # never a digest of a partial download
    reader.close()


def test_hashing_reader_matches_sha256_of_whole_body():
    import io
    import os

    from lambdas.shared.model_store import _HashingReader

    data = os.urandom(5 * 1024 * 1024 + 123)
    reader = _HashingReader(io.BytesIO(data))
    out = bytearray()
    while chunk := reader.read(8192):
        out += chunk
    assert bytes(out) == data and reader.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reader.count == len(data)


@pytest.mark.parametrize("case", hostile_tars.CASES, ids=[c.name for c in hostile_tars.CASES])
def test_hostile_tarball_rejected(pipeline, case, tmp_path):
    data = case.build(pipeline.model.model_dir)
    real_sha = hashlib.sha256(data).hexdigest()
    wrong = hashlib.sha256(b"something else").hexdigest()
    upload_model(pipeline.server, BUCKET, MODEL_KEY, data,
                 sha256_metadata=wrong if case.wrong_metadata_sha256 else None)
    env = dict(case.env)
    if case.wrong_sha256:
        env["MODEL_SHA256"] = wrong
    # The scratch dir lives next to MODEL_DIR; put both deep enough that a
    # "../" escape would land in a directory we can inspect.
    model_dir = tmp_path / "a" / "b" / "model"
    model_dir.parent.mkdir(parents=True)
    env["MODEL_DIR"] = str(model_dir)
    pipeline.set_env(**env)

    with pytest.raises(ModelFetchError) as err:
        ModelStore().ensure_local(Settings.from_env(), _s3)
    message = str(err.value)
    assert case.expected in message, message
    assert "s3://models/" in message  # names the artifact
    # Nothing published, no scratch left, nothing written outside.
    assert not model_dir.exists()
    assert list(model_dir.parent.iterdir()) == []
    assert not any(p.name in {"evil.txt", "outside.txt"} for p in tmp_path.rglob("*"))
    assert not Path("/tmp/evil-absolute.txt").exists()
    if case.wrong_sha256 or case.wrong_metadata_sha256:
        assert real_sha in message  # reports what was actually downloaded
