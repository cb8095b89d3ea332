"""What one rehearsal leaves for the next (the user it created, the sysroot caches its workflow chose), so that the
next run cleans up only what is its own."""

from __future__ import annotations

import json
from pathlib import Path


def read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")
