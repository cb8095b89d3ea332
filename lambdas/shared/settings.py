"""The one typed configuration object, read from the environment.

Every tunable of the Lambda that our code reads lives here, so that a misconfiguration is caught in one place and
reported with the *environment variable* name (pydantic error locations use the field alias, which is the variable
name). What botocore reads itself stays with botocore: AWS_RETRY_MODE, AWS_MAX_ATTEMPTS and
AWS_ENDPOINT_URL[_S3|_DYNAMODB] (see aws_clients.py); the image sets the retry defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lambdas.shared.validation import describe

# Public: //tools/model:publish accepts exactly the MODEL_S3_URI values the function does.
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ConfigError(ValueError):
    """Invalid or missing configuration; the message names the variable(s)."""


class Settings(BaseModel):
    # Populate by alias only: the alias IS the environment variable name, so
    # validation errors name the variable the operator has to fix.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False, protected_namespaces=())

    dynamodb_table: str = Field("sentiment-items", alias="DYNAMODB_TABLE", min_length=3, max_length=255)
    model_s3_uri: str | None = Field(None, alias="MODEL_S3_URI")
    model_path: Path | None = Field(None, alias="MODEL_PATH")
    model_version: str = Field(alias="MODEL_VERSION", min_length=1, max_length=128)
    model_sha256: str | None = Field(None, alias="MODEL_SHA256")
    model_dir: Path = Field(Path("/tmp/model"), alias="MODEL_DIR")
    confidence_threshold: float = Field(0.6, alias="CONFIDENCE_THRESHOLD", ge=0.0, le=1.0)
    quantize_int8: bool = Field(False, alias="QUANTIZE_INT8")
    batch_size: int = Field(32, alias="INFERENCE_BATCH_SIZE", ge=1, le=256)
    # Tokens, not characters: BERT-family position embeddings stop at 512.
    max_tokens: int = Field(512, alias="MAX_TOKENS", ge=8, le=512)
    max_text_chars: int = Field(20000, alias="MAX_TEXT_CHARS", ge=1, le=1_000_000)
    # A record's message or body, in UTF-8 bytes; SNS's own limit by default (an SQS body may be larger).
    max_record_bytes: int = Field(256 * 1024, alias="MAX_RECORD_BYTES", ge=1024, le=1024 * 1024)
    # Off: an item published for another model version is analysed by this one (a rollout must not strand items).
    strict_model_version: bool = Field(False, alias="STRICT_MODEL_VERSION")
    # Every rejected record goes here with its reason (lambdas/shared/dead_letter.py): nothing is only logged.
    rejects_queue_url: str = Field(alias="REJECTS_QUEUE_URL", pattern=r"^https?://[^/\s]+/.+")
    max_archive_bytes: int = Field(2 * 1024**3, alias="MODEL_MAX_UNCOMPRESSED_BYTES", ge=1024)
    max_archive_members: int = Field(10000, alias="MODEL_MAX_MEMBERS", ge=1)
    # Ranged GETs in flight for the model download (lambdas/shared/ranged_body.py); 1: one plain GetObject.
    model_download_parts: int = Field(1, alias="MODEL_DOWNLOAD_PARTS", ge=1, le=16)
    aws_region: str | None = Field(None, alias="AWS_REGION")
    metrics_namespace: str = Field("SentimentPipeline", alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1)

    @field_validator("model_sha256", mode="before")
    @classmethod
    def _parse_sha(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower() or None
            if value is not None and not _SHA256.match(value):
                raise ValueError("expected 64 hexadecimal characters (SHA-256)")
        return value

    @field_validator("model_s3_uri")
    @classmethod
    def _check_s3_uri(cls, value: str | None) -> str | None:
        if value is not None and not S3_URI.match(value):
            raise ValueError("expected s3://bucket/key")
        return value

    @field_validator("model_dir", "model_path")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError("expected an absolute path")
        return value

    @model_validator(mode="after")
    def _model_source(self) -> Settings:
        if (self.model_s3_uri is None) == (self.model_path is None):
            raise ValueError("set exactly one of MODEL_S3_URI or MODEL_PATH")
        if self.model_path is not None and self.model_sha256 is not None:
            raise ValueError("MODEL_SHA256 only applies to MODEL_S3_URI (a tarball), not MODEL_PATH")
        return self

    # -- derived values -------------------------------------------------
    @property
    def model_s3_location(self) -> tuple[str, str]:
        match = S3_URI.match(self.model_s3_uri or "")
        if not match:
            raise ConfigError("MODEL_S3_URI is not set")
        return match.group("bucket"), match.group("key")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        # Lambda sets AWS_REGION; local shells often only have AWS_DEFAULT_REGION.
        if not env.get("AWS_REGION") and env.get("AWS_DEFAULT_REGION"):
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
        aliases = {f.alias for f in cls.model_fields.values() if f.alias}
        # Empty strings mean "unset" (a common artefact of IaC templates).
        data = {k: v for k, v in env.items() if k in aliases and v != ""}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError("invalid configuration: " + describe(exc)) from None


def load_settings() -> Settings:
    """Read settings for this invocation (cheap; env can differ in tests)."""
    return Settings.from_env()
