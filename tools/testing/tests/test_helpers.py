"""The test helpers themselves: model generator, moto server, fault proxy."""

import json
import tarfile
import urllib.error
import urllib.request


from tools.testing import tiny_model
from tools.testing.flaky_proxy import FlakyProxy, dynamodb_error, target_is
from tools.testing.moto_server import create_table, get_item, seed_pending, start_moto_server


def test_tiny_model_is_packed_like_production(tiny_model_artifact, tmp_path):
    config = json.loads((tiny_model_artifact.model_dir / "config.json").read_text())
    assert config["model_type"] == "distilbert"
    assert config["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}
    assert (config["dim"], config["n_layers"]) == (32, 2)
    tarball = tmp_path / "model.tar.gz"
    tarball.write_bytes(tiny_model_artifact.tarball)
    with tarfile.open(tarball, "r:gz") as tar:
        names = set(tar.getnames())
        assert all(m.isreg() for m in tar.getmembers())
    assert {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt"} <= names  # at the root
    # Packing is reproducible: same directory -> same bytes.
    assert tiny_model.tar_bytes(tiny_model_artifact.model_dir) == tiny_model_artifact.tarball


def test_cli_writes_model_and_tarball(tmp_path, tiny_model_artifact, capsys):
    # tiny_model_artifact: makes sure the background ML import has finished.
    assert tiny_model.main([str(tmp_path / "out"), "--top-dir", "distilbert"]) == 0
    out = capsys.readouterr().out
    sha = out.split("sha256=")[1].strip()
    assert tiny_model.sha256_file(tmp_path / "out" / "model.tar.gz") == sha
    with tarfile.open(tmp_path / "out" / "model.tar.gz", "r:gz") as tar:
        assert "distilbert/config.json" in tar.getnames()


def test_vocab_sizes():
    assert len(tiny_model.build_vocab()) < 300
    assert len(tiny_model.build_vocab(tiny_model.FULL_VOCAB_SIZE)) == 30522


def test_moto_subprocess_mode_and_seeding():
    with start_moto_server("subprocess") as server:
        assert server.endpoint.startswith("http://127.0.0.1:")
        create_table(server, "t")
        seed_pending(server, "t", [{"source_id": "a#1", "timestamp": "2025-01-01T00:00:00Z"}])
        assert get_item(server, "t", "a#1", "2025-01-01T00:00:00Z")["status"] == "pending"
        server.reset()
        assert server.client("dynamodb").list_tables()["TableNames"] == []


def test_flaky_proxy_injects_then_forwards(aws_env):
    with FlakyProxy(aws_env.endpoint) as proxy:
        status, body = dynamodb_error("ThrottlingException")
        proxy.add_rule(target_is("DynamoDB_20120810.ListTables"), status, body, times=1)

        def list_tables():
            req = urllib.request.Request(proxy.endpoint + "/", data=b"{}", method="POST", headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/dynamodb/aws4_request, "
                                 "SignedHeaders=host, Signature=0"})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as err:
                return err.code, json.loads(err.read())

        first, second = list_tables(), list_tables()
        assert first[0] == 400 and first[1]["__type"].endswith("#ThrottlingException")
        assert second == (200, {"TableNames": []})
        assert [r.injected for r in proxy.seen] == [True, False]
