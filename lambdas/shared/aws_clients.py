"""boto3 clients with explicit timeouts, cached per container.

Creating a client costs tens of milliseconds (endpoint and service-model loading), so clients are built once and
reused by warm invocations.

Retries and endpoints are botocore's own configuration, read by botocore when a client is created:
AWS_RETRY_MODE and AWS_MAX_ATTEMPTS (the image sets `standard` and 5; throttling and 5xx are retried by botocore,
what still fails after the last attempt surfaces to us), AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_S3 /
AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS for local runs. botocore also reports a bad value of any of
them, naming it. A local endpoint given as an IP address (http://127.0.0.1:port) gets path-style S3 addressing from
botocore's endpoint rules, as virtual-hosted buckets cannot resolve there.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from lambdas.shared.settings import ConfigError, Settings

Service = Literal["s3", "dynamodb", "sqs"]

# The variables botocore reads for us; named in the error when it rejects one.
BOTOCORE_VARIABLES = ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                      "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS")

_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}


def _config(service: Service) -> Config:
    # Timeouts only: a Config's "retries" would override AWS_RETRY_MODE / AWS_MAX_ATTEMPTS from the environment.
    return Config(connect_timeout=5, read_timeout=60 if service == "s3" else 10, tcp_keepalive=True)


def client(service: Service, settings: Settings) -> Any:
    """Return the cached boto3 client for ``service`` in the configured region."""
    if not settings.aws_region:
        raise ConfigError("invalid configuration: AWS_REGION (or AWS_DEFAULT_REGION) is not set")
    key = (service, settings.aws_region)
    with _lock:
        existing = _clients.get(key)
        if existing is None:
            try:
                existing = boto3.session.Session().client(service, region_name=settings.aws_region,
                                                          config=_config(service))
            except (BotoCoreError, ValueError) as exc:
                given = ", ".join(f"{name}={os.environ[name]!r}" for name in BOTOCORE_VARIABLES if name in os.environ)
                raise ConfigError(f"invalid configuration: botocore rejected {given or 'its configuration'}: {exc}") from None
            _clients[key] = existing
        return existing


def s3(settings: Settings) -> Any:
    return client("s3", settings)


def dynamodb(settings: Settings) -> Any:
    return client("dynamodb", settings)


def sqs(settings: Settings) -> Any:
    return client("sqs", settings)


def clear_cache() -> None:
    """Drop cached clients, so the next one reads the environment again (tests; never needed in Lambda)."""
    with _lock:
        _clients.clear()
