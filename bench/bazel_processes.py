"""Bazel's closing "INFO: N processes: 12 internal, 3 remote cache hit, ..." line, as numbers: which strategy ran
how many actions (the remote-cache and remote-execution benchmarks count hits and remote runs from it)."""

import re

PROCESSES = re.compile(r"INFO: (\d+) processes?: (.*)\.")


def process_counts(log_text: str) -> tuple[int, dict[str, int], str] | None:
    """(total, {strategy: count}, the line's detail) of the log's last process line; None when it has none.
    Cacheable actions are all but the "internal" ones."""
    match = PROCESSES.findall(log_text)
    if not match:
        return None
    total, detail = match[-1]
    return int(total), {kind.strip(): int(n) for n, kind in re.findall(r"(\d+) ([a-z -]+)", detail)}, detail
