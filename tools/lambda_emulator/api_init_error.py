"""``POST /2018-06-01/runtime/init/error``: the runtime could not initialise (e.g. the handler failed to import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .wire import error_doc, posted_error

if TYPE_CHECKING:
    from .emulator import LambdaEmulator
    from .transport import Handler


def handle(emu: LambdaEmulator, req: Handler) -> None:
    body, _size = req.read_body(emu.max_response_bytes)
    error_type_header = req.headers.get("Lambda-Runtime-Function-Error-Type")
    error, payload = posted_error(body, error_type_header, default_type="Runtime.Unknown")
    if not emu._init_failed(error, payload):
        req.send_json(403, error_doc("InvalidStateTransition", "init error after init completed or already reported"))
        return
    req.send_json(202, {"status": "OK"})
