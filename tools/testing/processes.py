"""Process state for tests that check nothing outlives what they started."""


def alive(pid: int) -> bool:
    """True while PID exists and is not a zombie (a zombie is dead; only its parent has not reaped it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
