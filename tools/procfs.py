"""Memory figures of a process from /proc/PID/status."""

from __future__ import annotations


def status_kb(pid: int | str, *fields: str) -> dict[str, int]:
    """The named kB fields of /proc/PID/status (e.g. VmRSS, VmHWM); {} when the process is gone or unreadable."""
    found = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in fields:
                    found[name] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return found
