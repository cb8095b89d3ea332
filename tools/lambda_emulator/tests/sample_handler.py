"""Handlers the emulator tests run under the real awslambdaric."""

import os
import time


def echo(event, context):
    client_context = context.client_context
    return {
        "event": event,
        "pid": os.getpid(),
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "client_context_custom": getattr(client_context, "custom", None) if client_context else None,
        "cognito_identity_id": context.identity.cognito_identity_id,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "env": {
            k: os.environ.get(k)
            for k in (
                "AWS_LAMBDA_RUNTIME_API",
                "AWS_REGION",
                "AWS_DEFAULT_REGION",
                "AWS_EXECUTION_ENV",
                "_HANDLER",
                "TZ",
                "LAMBDA_TASK_ROOT",
            )
        },
    }


def sleep(event, context):
    time.sleep(float(event["seconds"]))
    return {"slept": event["seconds"], "pid": os.getpid()}


def boom(event, context):
    raise ValueError("boom")


def big(event, context):
    return "x" * int(event["bytes"])


def crash(event, context):
    os._exit(int(event.get("code", 3)))
