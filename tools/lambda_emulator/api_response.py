"""``POST /2018-06-01/runtime/invocation/{id}/response`` and ``.../{id}/error``: the runtime's answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .invocation import Outcome, error_outcome
from .records import OUTCOME_ERROR, OUTCOME_RESPONSE_TOO_LARGE, OUTCOME_SUCCESS
from .wire import error_doc, posted_error

if TYPE_CHECKING:
    from .emulator import LambdaEmulator
    from .transport import Handler


def handle(emu: LambdaEmulator, req: Handler, request_id: str, kind: str) -> None:
    """``kind`` is "response" or "error", the last part of the path."""
    body, size = req.read_body(emu.max_response_bytes)
    if kind == "response":
        if body is None:
            msg = f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({emu.max_response_bytes} bytes)."
            outcome = error_outcome("Function.ResponseSizeTooLarge", msg, OUTCOME_RESPONSE_TOO_LARGE, None)
            status, doc = 413, error_doc("RequestEntityTooLarge", msg)
        else:
            ctype = req.headers.get("Content-Type") or "application/json"
            outcome = Outcome(kind=OUTCOME_SUCCESS, payload=body, content_type=ctype)
            status, doc = 202, {"status": "OK"}
    else:
        error_type_header = req.headers.get("Lambda-Runtime-Function-Error-Type")
        error, payload = posted_error(body, error_type_header, default_type="Unhandled")
        outcome = Outcome(kind=OUTCOME_ERROR, payload=payload, error=error)
        status, doc = 202, {"status": "OK"}
    if not emu._finish_inflight(request_id, outcome):
        req.send_json(400, error_doc("InvalidRequestID", f"unknown or finished request id: {request_id}"))
        return
    req.send_json(status, doc)
