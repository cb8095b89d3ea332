"""Where things are: this repository, the runner's home, workspace and temp, and the paths the rehearsal owns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]  # tools/ci/rehearsal/layout.py -> the repository
RUNNER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LEAD_SYSROOT_CACHE = "/root/.cache/analysis-lambda-sysroot"
SUDOERS_FILE = Path("/etc/sudoers.d/rehearsal-runner")
SYSROOT_CACHE_VAR = "TOOLS_BAZEL_SYSROOT_CACHE"


@dataclass
class Layout:
    user: str
    home: Path
    name: str

    @property
    def workspace(self) -> Path:
        return self.home / "work" / self.name / self.name

    @property
    def temp(self) -> Path:
        return self.home / "work" / "_temp"
