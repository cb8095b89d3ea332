"""Settings: defaults, parsing, and errors that name the variable."""

from pathlib import Path

import pytest

from lambdas.shared.settings import ConfigError, Settings

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/analysis-rejects"
BASE = {"MODEL_S3_URI": "s3://models/distilbert/v1.0.0/model.tar.gz", "MODEL_VERSION": "v1.0.0", "REJECTS_QUEUE_URL": QUEUE}


def test_defaults():
    s = Settings.from_env(BASE)
    assert s.dynamodb_table == "sentiment-items"
    assert s.confidence_threshold == 0.6
    assert s.batch_size == 32
    assert s.quantize_int8 is False
    assert s.model_dir == Path("/tmp/model")
    assert s.max_archive_bytes == 2 * 1024**3 and s.max_archive_members == 10000
    assert s.model_s3_location == ("models", "distilbert/v1.0.0/model.tar.gz")
    assert s.metrics_namespace == "SentimentPipeline"
    assert (s.strict_model_version, s.max_record_bytes) == (False, 256 * 1024)


def test_overrides():
    s = Settings.from_env({
        **BASE, "CONFIDENCE_THRESHOLD": "0.75", "QUANTIZE_INT8": "true", "INFERENCE_BATCH_SIZE": "8",
        "AWS_DEFAULT_REGION": "eu-west-1", "MODEL_SHA256": "AB" * 32,
    })
    assert (s.confidence_threshold, s.quantize_int8, s.batch_size) == (0.75, True, 8)
    assert s.aws_region == "eu-west-1"
    assert s.model_sha256 == "ab" * 32


@pytest.mark.parametrize("spelling, value", [("1", True), ("yes", True), ("on", True), ("0", False),
                                             ("no", False), ("off", False), ("FALSE", False)])
def test_boolean_spellings_are_pydantics(spelling, value):
    assert Settings.from_env({**BASE, "QUANTIZE_INT8": spelling}).quantize_int8 is value


def test_model_path_mode(tmp_path):
    s = Settings.from_env({"MODEL_PATH": str(tmp_path), "MODEL_VERSION": "v1", "REJECTS_QUEUE_URL": QUEUE})
    assert s.model_path == tmp_path and s.model_s3_uri is None


@pytest.mark.parametrize("env, variable", [
    ({"CONFIDENCE_THRESHOLD": "1.5"}, "CONFIDENCE_THRESHOLD"),
    ({"CONFIDENCE_THRESHOLD": "high"}, "CONFIDENCE_THRESHOLD"),
    ({"QUANTIZE_INT8": "maybe"}, "QUANTIZE_INT8"),
    ({"INFERENCE_BATCH_SIZE": "0"}, "INFERENCE_BATCH_SIZE"),
    ({"MODEL_SHA256": "xyz"}, "MODEL_SHA256"),
    ({"MODEL_S3_URI": "https://example.invalid/model.tar.gz"}, "MODEL_S3_URI"),
    ({"MODEL_DIR": "relative/dir"}, "MODEL_DIR"),
    ({"MODEL_VERSION": None}, "MODEL_VERSION"),
    ({"MAX_TOKENS": "4096"}, "MAX_TOKENS"),
    ({"REJECTS_QUEUE_URL": None}, "REJECTS_QUEUE_URL"),
    ({"REJECTS_QUEUE_URL": "analysis-rejects"}, "REJECTS_QUEUE_URL"),
    ({"MAX_RECORD_BYTES": "10"}, "MAX_RECORD_BYTES"),
    ({"STRICT_MODEL_VERSION": "sometimes"}, "STRICT_MODEL_VERSION"),
])
def test_invalid_values_name_the_variable(env, variable):
    merged = {**BASE, **env}
    merged = {k: v for k, v in merged.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        Settings.from_env(merged)
    assert variable in str(err.value)


def test_model_source_must_be_exactly_one(tmp_path):
    with pytest.raises(ConfigError, match="MODEL_S3_URI or MODEL_PATH"):
        Settings.from_env({"MODEL_VERSION": "v1", "REJECTS_QUEUE_URL": QUEUE})
    with pytest.raises(ConfigError, match="MODEL_S3_URI or MODEL_PATH"):
        Settings.from_env({**BASE, "MODEL_PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match="MODEL_SHA256"):
        Settings.from_env({"MODEL_PATH": str(tmp_path), "MODEL_VERSION": "v1", "MODEL_SHA256": "a" * 64,
                           "REJECTS_QUEUE_URL": QUEUE})
