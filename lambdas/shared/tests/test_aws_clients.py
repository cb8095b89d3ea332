"""Clients take retries and endpoints from botocore's own environment variables, and a bad value is named."""

import pytest

from lambdas.shared import aws_clients
from lambdas.shared.settings import ConfigError, Settings

BASE = {"MODEL_S3_URI": "s3://models/m.tar.gz", "MODEL_VERSION": "v1", "AWS_REGION": "eu-west-1",
        "REJECTS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/analysis-rejects"}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    aws_clients.clear_cache()
    yield monkeypatch
    aws_clients.clear_cache()


def test_endpoints_and_retries_come_from_botocore_variables(clean_env):
    for name, value in {"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "7", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
                        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2"}.items():
        clean_env.setenv(name, value)
    settings = Settings.from_env(BASE)
    s3, ddb = aws_clients.s3(settings), aws_clients.dynamodb(settings)
    assert s3.meta.endpoint_url == "http://127.0.0.1:1"
    assert ddb.meta.endpoint_url == "http://127.0.0.1:2"
    assert ddb.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    # An IP-address endpoint gets path-style S3 addressing from botocore itself.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "models", "Key": "m.tar.gz"})
    assert url.startswith("http://127.0.0.1:1/models/m.tar.gz"), url


def test_clients_are_reused_until_the_cache_is_cleared(clean_env):
    settings = Settings.from_env(BASE)
    first = aws_clients.dynamodb(settings)
    assert aws_clients.dynamodb(settings) is first
    aws_clients.clear_cache()
    assert aws_clients.dynamodb(settings) is not first


@pytest.mark.parametrize("variable, value", [
    ("AWS_RETRY_MODE", "legacy-ish"),
    ("AWS_MAX_ATTEMPTS", "-1"),
    ("AWS_MAX_ATTEMPTS", "many"),
    ("AWS_ENDPOINT_URL", "localhost:4566"),
])
def test_invalid_botocore_variables_are_named(clean_env, variable, value):
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigError) as err:
        aws_clients.s3(Settings.from_env(BASE))
    assert variable in str(err.value) and value in str(err.value)


def test_missing_region_is_named(clean_env):
    clean_env.delenv("AWS_DEFAULT_REGION", raising=False)
    settings = Settings.from_env({k: v for k, v in BASE.items() if k != "AWS_REGION"})
    with pytest.raises(ConfigError, match="AWS_REGION"):
        aws_clients.dynamodb(settings)
