"""The one timestamp format the function writes: UTC, milliseconds, `Z` (analyzed_at, a dead letter's rejected_at).

ISO 8601 strings of one fixed shape sort as they compare in time, which the redrive tool relies on.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
