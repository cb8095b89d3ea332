"""``POST /2015-03-31/functions/{name}/invocations``: the RIE-style invoke endpoint, an HTTP face for ``invoke()``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING

from .records import EmulatorError
from .wire import error_doc

if TYPE_CHECKING:
    from .emulator import LambdaEmulator
    from .transport import Handler


def handle(emu: LambdaEmulator, req: Handler) -> None:
    body, _size = req.read_body(emu.max_request_bytes)
    if body is None:
        req.send_json(
            413,
            error_doc(
                "RequestTooLargeException",
                f"Request must be smaller than {emu.max_request_bytes} bytes for the InvokeFunction operation",
            ),
        )
        return
    invocation_type = req.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    if invocation_type != "RequestResponse":
        req.send_json(
            400,
            error_doc("InvalidParameterValueException", f"only RequestResponse invokes are emulated, not {invocation_type}"),
        )
        return
    client_context = None
    raw_cc = req.headers.get("X-Amz-Client-Context")
    if raw_cc:
        try:
            client_context = base64.b64decode(raw_cc, validate=True).decode("utf-8")
            json.loads(client_context)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            req.send_json(400, error_doc("InvalidRequestContentException", "X-Amz-Client-Context must be base64 JSON"))
            return
    try:
        result = emu.invoke(body, client_context=client_context, trace_id=req.headers.get("X-Amzn-Trace-Id"))
    except EmulatorError as exc:
        req.send_json(503, error_doc("ServiceException", str(exc)))
        return
    headers = {"X-Amz-Executed-Version": emu.function_version, "X-Amzn-RequestId": result.request_id}
    if result.function_error:
        headers["X-Amz-Function-Error"] = result.function_error
    req.send(200, result.payload, result.content_type, headers)
