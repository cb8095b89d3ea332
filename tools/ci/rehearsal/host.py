"""Facts about this host that the rehearsal reports: its apt mirrors and the disk a directory uses."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def host_debian_mirrors() -> list[str]:
    """The host's apt source URIs, the way tools/sysroot/debian_sources.sh finds them."""
    uris: list[str] = []
    apt = Path("/etc/apt")
    for f in sorted(apt.glob("sources.list.d/*.sources")):
        for line in f.read_text().splitlines():
            if line.startswith("URIs:"):
                uris += line.split()[1:]
    for f in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        if f.is_file():
            for line in f.read_text().splitlines():
                m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)", line)
                if m:
                    uris.append(m.group(1))
    return list(dict.fromkeys(u.rstrip("/") for u in uris))


def du(path: Path) -> str:
    result = subprocess.run(["du", "-sxh", str(path)], text=True, capture_output=True)
    return result.stdout.split("\t", 1)[0] if result.returncode == 0 and result.stdout else "?"
