"""What the rehearsal prints, and the setup commands whose failure stops it (exit status 2)."""

from __future__ import annotations

import shlex
import subprocess
import sys


def log(message: str = "") -> None:
    print(f"rehearse: {message}" if message else "", flush=True)


def one_line(text: str, limit: int = 400) -> str:
    """Tool output (tar's stderr) as one short line for notes and warnings."""
    text = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= limit else "..." + text[-limit:]


def die(message: str) -> None:
    print(f"rehearse: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def run(argv: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, text=True, **kwargs)
    if check and result.returncode != 0:
        die(f"{shlex.join(argv)} exited {result.returncode}")
    return result
