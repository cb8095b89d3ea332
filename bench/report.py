"""bench/REPORT.md and bench/results/*.json: each benchmark owns one section and replaces only that."""

import json
from pathlib import Path

HEADER = "# Benchmarks\n\nFigures from one run of each benchmark on this machine; each section names its command.\n"


def write(workspace: Path, name: str, title: str, section: str, results: dict) -> None:
    out = workspace / "bench/results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    report = workspace / "bench/REPORT.md"
    text = report.read_text() if report.exists() else HEADER
    marker = f"## {title}"
    body = f"{marker}\n\n{section.strip()}\n"
    if marker in text:
        start = text.index(marker)
        end = text.find("\n## ", start + len(marker))
        text = text[:start] + body + ("\n" + text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    report.write_text(text)
    print(f"bench: wrote {out} and {report}")
