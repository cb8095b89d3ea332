"""Bodies and header values as they travel between invoker, emulator and runtime."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def error_doc(error_type: str, message: str) -> dict:
    return {"errorType": error_type, "errorMessage": message}


def posted_error(body: bytes | None, header_type: str | None, default_type: str) -> tuple[dict, bytes]:
    """The error document a runtime posted, completed from the error-type header when needed.

    The body goes back to the invoker untouched when it is already a complete document, so a
    runtime's own formatting (and stack trace) survives.
    """
    doc: dict | None = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            doc = parsed
    if doc is None:
        doc = error_doc(header_type or default_type, "" if body is None else body.decode("utf-8", "replace"))
        return doc, json_bytes(doc)
    if not doc.get("errorType"):
        doc["errorType"] = header_type or default_type
        return doc, json_bytes(doc)
    assert body is not None
    return doc, body


def event_bytes(event: Any) -> bytes:
    if event is None:
        return b"{}"
    if isinstance(event, (bytes, bytearray, memoryview)):
        return bytes(event)
    if isinstance(event, str):
        return event.encode("utf-8")
    return json_bytes(event)


def json_text(value: Any) -> str | None:
    """``value`` as JSON text for a header; text is trusted to be JSON already."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"
