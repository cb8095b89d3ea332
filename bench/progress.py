"""Progress lines of a long benchmark on stderr, seconds since it started, without the container's per-invocation
START/END/REPORT lines (the emulator passes them on; the benchmark's own figures replace them)."""

import sys
import time
from collections.abc import Callable

_PER_INVOCATION = ("START ", "END ", "REPORT ")


def progress(prefix: str) -> Callable[[str], None]:
    started = time.monotonic()

    def say(message: str) -> None:
        if not message.startswith(_PER_INVOCATION):
            print(f"[{prefix} {time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    return say
