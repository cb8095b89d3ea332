"""``GET /2018-06-01/runtime/invocation/next``: hand the runtime its next event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .invocation import Invocation, RuntimeHungUp
from .wire import error_doc

if TYPE_CHECKING:
    from .emulator import LambdaEmulator
    from .transport import Handler


def handle(emu: LambdaEmulator, req: Handler) -> None:
    try:
        inv = emu._next_invocation(req.peer_closed, req.client_address)
    except RuntimeHungUp:
        req.close_connection = True
        return
    if inv is None:
        # This runtime was replaced or the emulator is stopping: tell it to exit.
        req.send_json(500, error_doc("Runtime.Reset", "the execution environment was reset; exit"), close=True)
        return
    if not req.send(200, inv.event, inv.content_type, _event_headers(inv)):
        # The runtime went away before it got the event: offer it to the next /next.
        emu._undeliver(inv)


def _event_headers(inv: Invocation) -> dict[str, str]:
    assert inv.deadline_epoch_ms is not None
    headers = {
        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
        "Lambda-Runtime-Deadline-Ms": str(inv.deadline_epoch_ms),
        "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
        "Lambda-Runtime-Trace-Id": inv.trace_id,
    }
    if inv.client_context is not None:
        headers["Lambda-Runtime-Client-Context"] = inv.client_context
    if inv.cognito_identity is not None:
        headers["Lambda-Runtime-Cognito-Identity"] = inv.cognito_identity
    return headers
