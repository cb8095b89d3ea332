"""Rejected records go to the rejects queue, as they arrived and with the reason, so they can be replayed after a fix.

A rejection is never only a log line: the item would stay `pending` and nobody could replay it. The message body is
JSON: record_id, reason, event_kind (sns, sqs, direct, unknown), source_arn, rejected_at (ISO 8601 UTC), raw (the
record as JSON text, at most MAX_RAW_BYTES of UTF-8) and raw_truncated. `//tools/rejects:redrive` replays them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.shared import aws_clients
from lambdas.shared.clock import utc_now_iso
from lambdas.shared.settings import Settings

# An SQS message holds 256 KiB; this leaves room for the reason and the other fields. (All ASCII: 1 byte a char.)
MAX_RAW_BYTES = 200 * 1024


@dataclass(frozen=True)
class DeadLetter:
    record_id: str
    reason: str
    event_kind: str
    raw: Any
    source_arn: str | None = None

    def body(self, rejected_at: str) -> str:
        raw, truncated = raw_json(self.raw)
        return json.dumps({
            "record_id": self.record_id, "reason": self.reason, "event_kind": self.event_kind,
            "source_arn": self.source_arn, "rejected_at": rejected_at, "raw": raw, "raw_truncated": truncated,
        })


def raw_json(raw: Any) -> tuple[str, bool]:
    """The record as JSON text that fits the message once escaped; True when it was cut (or not serialisable)."""
    try:
        text = json.dumps(raw, default=_undecodable)  # ASCII escapes: even lone surrogates survive the trip
    except (RecursionError, ValueError, TypeError):
        return json.dumps(f"<record of type {type(raw).__name__} that cannot be serialised>"), True
    truncated = False
    while len(json.dumps(text)) > MAX_RAW_BYTES:  # measured as it will stand in the body: quotes escaped
        text = text[:len(text) * MAX_RAW_BYTES // len(json.dumps(text)) - 16]
        truncated = True
    return text, truncated


def _undecodable(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return repr(value)


def send(letters: list[DeadLetter], settings: Settings) -> list[tuple[DeadLetter, str]]:
    """Sends each letter; returns those that could not be sent, with why (the caller must not drop them)."""
    if not letters:
        return []
    queue = aws_clients.sqs(settings)
    rejected_at = utc_now_iso()
    unsent = []
    for letter in letters:
        try:
            queue.send_message(QueueUrl=settings.rejects_queue_url, MessageBody=letter.body(rejected_at))
        except (BotoCoreError, ClientError) as exc:
            unsent.append((letter, f"dead-letter send failed: {exc}"))
    return unsent
