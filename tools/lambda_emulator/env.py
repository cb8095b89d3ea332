"""The environment a Lambda runtime process expects, and a helper that measures memory.

Nothing here starts a process: ``lambda_env`` only builds a dict, so a caller that starts
the runtime itself (for example in a container) can put it in its own config.
"""

from __future__ import annotations

import datetime
import os
import secrets
from collections.abc import Mapping

from tools.procfs import status_kb

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_FUNCTION_VERSION = "$LATEST"
DEFAULT_EXECUTION_ENV = "AWS_Lambda_python3.11"


def function_arn(function_name: str, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID) -> str:
    """The unqualified ARN a function of this name would have."""
    return f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"


def default_log_stream_name(function_version: str = DEFAULT_FUNCTION_VERSION) -> str:
    """A log stream name shaped like Lambda's: ``YYYY/MM/DD/[VERSION]<32 hex>``."""
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y/%m/%d")
    return f"{today}/[{function_version}]{secrets.token_hex(16)}"


def lambda_env(
    runtime_api: str,
    *,
    handler: str = "",
    function_name: str = "function",
    function_version: str = DEFAULT_FUNCTION_VERSION,
    memory_mb: int = 128,
    region: str = DEFAULT_REGION,
    task_root: str = "/var/task",
    runtime_dir: str = "/var/runtime",
    execution_env: str = DEFAULT_EXECUTION_ENV,
    log_group_name: str | None = None,
    log_stream_name: str | None = None,
    initialization_type: str = "on-demand",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment variables Lambda sets for a runtime process (and that Powertools reads).

    ``runtime_api`` is the ``host:port`` of the emulator as the runtime must reach it. Only the
    variables listed here are set; PATH, PYTHONPATH, LD_LIBRARY_PATH, LANG and credentials are
    left to the caller (put them in ``extra``, which wins over everything else).
    """
    env = {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": function_version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(int(memory_mb)),
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name or f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name or default_log_stream_name(function_version),
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": execution_env,
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": runtime_dir,
        "_HANDLER": handler,
        "TZ": ":UTC",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    if extra:
        env.update({str(k): str(v) for k, v in extra.items()})
    return env


def process_peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size (VmHWM) of one process in MB, or None if it cannot be read.

    Counts that process only, not its children.
    """
    peak_kb = status_kb(pid, "VmHWM").get("VmHWM")
    return None if peak_kb is None else peak_kb / 1024.0


def merged_env(base: Mapping[str, str] | None, *layers: Mapping[str, str] | None) -> dict[str, str]:
    """``base`` (or the current environment when None) updated by each layer in turn."""
    env = dict(os.environ if base is None else base)
    for layer in layers:
        if layer:
            env.update({str(k): str(v) for k, v in layer.items()})
    return env
