"""Local AWS Lambda Runtime API emulator (our own; see README.md)."""

from .emulator import MAX_PAYLOAD_BYTES, LambdaEmulator
from .env import function_arn, lambda_env, process_peak_rss_mb
from .records import (
    OUTCOME_ERROR,
    OUTCOME_INIT_ERROR,
    OUTCOME_INIT_TIMEOUT,
    OUTCOME_RESPONSE_TOO_LARGE,
    OUTCOME_RUNTIME_EXIT,
    OUTCOME_SUCCESS,
    OUTCOME_TIMEOUT,
    EmulatorError,
    InvocationRecord,
    InvokeResult,
    PayloadTooLarge,
    format_report,
)

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "OUTCOME_ERROR",
    "OUTCOME_INIT_ERROR",
    "OUTCOME_INIT_TIMEOUT",
    "OUTCOME_RESPONSE_TOO_LARGE",
    "OUTCOME_RUNTIME_EXIT",
    "OUTCOME_SUCCESS",
    "OUTCOME_TIMEOUT",
    "EmulatorError",
    "InvocationRecord",
    "InvokeResult",
    "LambdaEmulator",
    "PayloadTooLarge",
    "format_report",
    "function_arn",
    "lambda_env",
    "process_peak_rss_mb",
]
