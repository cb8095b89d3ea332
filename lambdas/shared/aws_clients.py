"""boto3 clients with explicit retry/timeout configuration, cached per container.

Creating a client costs tens of milliseconds (endpoint and service-model
loading), so clients are built once and reused by warm invocations. The cache
key includes everything that shapes the client (endpoint, region, retry
mode), so a changed configuration - e.g. between tests - gets a new client.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import boto3
from botocore.config import Config

from lambdas.shared.settings import ConfigError, Settings

Service = Literal["s3", "dynamodb"]

_lock = threading.Lock()
_clients: dict[tuple, Any] = {}


def _config(settings: Settings, service: Service) -> Config:
    kwargs: dict[str, Any] = {
        # Throttling and 5xx are retried by botocore itself ("standard" or
        # "adaptive" mode); what still fails after max_attempts surfaces to us.
        # total_max_attempts counts the first call too, like the AWS_MAX_ATTEMPTS
        # env var / config-file setting (Config's "max_attempts" key would
        # mean *retries* and give one attempt more).
        "retries": {"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        "connect_timeout": 5,
        "read_timeout": 60 if service == "s3" else 10,
        "tcp_keepalive": True,
    }
    if service == "s3" and settings.endpoint_for("s3"):
        # Local endpoints (127.0.0.1:port) cannot do virtual-hosted buckets.
        kwargs["s3"] = {"addressing_style": "path"}
    return Config(**kwargs)


def client(service: Service, settings: Settings) -> Any:
    """Return the cached boto3 client for ``service`` under ``settings``."""
    if not settings.aws_region:
        raise ConfigError("invalid configuration: AWS_REGION (or AWS_DEFAULT_REGION) is not set")
    endpoint = settings.endpoint_for(service)
    key = (service, settings.aws_region, endpoint, settings.retry_mode, settings.max_attempts)
    with _lock:
        existing = _clients.get(key)
        if existing is None:
            existing = boto3.session.Session().client(
                service,
                region_name=settings.aws_region,
                endpoint_url=endpoint,
                config=_config(settings, service),
            )
            _clients[key] = existing
        return existing


def s3(settings: Settings) -> Any:
    return client("s3", settings)


def dynamodb(settings: Settings) -> Any:
    return client("dynamodb", settings)


def clear_cache() -> None:
    """Drop cached clients (tests; never needed in Lambda)."""
    with _lock:
        _clients.clear()
