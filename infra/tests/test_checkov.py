"""checkov over infra/ must report zero failed checks, and every skip must be an in-code, justified
``#checkov:skip=CKV_...:why`` comment inside the resource it applies to.

checkov runs offline: ``--skip-download`` (plus BC_SKIP_MAPPING) stops the platform
guideline/metadata download, CKV_SKIP_PACKAGE_UPDATE_CHECK stops the PyPI version check it
otherwise makes at import, and no API key means nothing is uploaded. A skip that checkov would not
need (the check passes without it) fails the suite too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"

SKIP_RE = re.compile(r"#\s*checkov:skip=(?P<id>[A-Z0-9_]+)(?::(?P<why>.*))?$")
CHECK_ID_RE = re.compile(r"CKV2?_[A-Z0-9]+_\d+")
BLOCK_START_RE = re.compile(r'^(resource|data|module)\s+"[^"]+"(\s+"[^"]+")?\s*\{\s*$')
# Resources that exist only with enable_sqs_buffer = true: checkov must have seen them (infra/examples).
MUST_BE_SCANNED = ("aws_sqs_queue.buffer", "aws_sqs_queue_policy.buffer", "aws_sqs_queue.dlq", "aws_sqs_queue.rejects", "aws_lambda_function.this", "aws_ecr_repository.this")


def _offline_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
            "BC_SKIP_MAPPING": "TRUE",
            "LOG_LEVEL": "WARNING",
            # The child interpreter must find checkov where this one does (venv, or Bazel runfiles).
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
    )
    for credential in ("BC_API_KEY", "PRISMA_API_URL"):
        env.pop(credential, None)
    return env


def run_checkov(directory: Path) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "checkov.main",
        "--directory", str(directory),
        "--framework", "terraform",
        # Not --quiet: the passed and skipped lists are needed to check coverage and skips.
        "--compact",
        "--output", "json",
        "--skip-download",
        "--download-external-modules", "false",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_offline_env(), cwd=directory, timeout=600)
    # checkov exits 1 when a check fails; anything else (or no JSON) is a crash.
    hint = ""
    if "cannot import name" in proc.stderr and "hcl2" in proc.stderr:
        hint = "\n(python-hcl2 shadows the hcl2 module of checkov's bc-python-hcl2: keep them in separate environments)"
    assert proc.returncode in (0, 1), f"checkov crashed ({proc.returncode}):\n{proc.stderr[-4000:]}{hint}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    (terraform,) = [r for r in reports if r.get("check_type") == "terraform"]
    return terraform


@cache
def checkov_report() -> dict[str, Any]:
    return run_checkov(INFRA)


def skip_comments() -> list[tuple[Path, int, str, str | None]]:
    found = []
    for path in sorted(INFRA.rglob("*.tf")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "checkov:skip" in line:
                match = SKIP_RE.search(line.strip())
                assert match, f"{path}:{number}: malformed skip comment {line.strip()!r}"
                found.append((path, number, match.group("id"), match.group("why")))
    return found


def enclosing_block(path: Path, line_number: int) -> str | None:
    """Header of the top-level resource/data/module block containing ``line_number``, if any."""
    header = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if BLOCK_START_RE.match(line):
            header = line
        elif line.startswith("}"):
            header = None  # terraform fmt closes top-level blocks in column 0
        if number == line_number:
            return header
    return None


def test_checkov_reports_no_failed_checks() -> None:
    report = checkov_report()
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']}): {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 50, f"suspiciously few checks passed: {summary}"


def test_checkov_scanned_the_sqs_buffer_resources_too() -> None:
    scanned = {c["resource"].split("module.analysis_lambda.")[-1].split("[")[0] for kind in ("passed_checks", "skipped_checks") for c in checkov_report()["results"][kind]}
    missing = [r for r in MUST_BE_SCANNED if r not in scanned]
    assert missing == [], f"checkov never evaluated {missing}"


def test_every_skip_is_an_in_code_comment_with_a_justification() -> None:
    comments = skip_comments()
    for path, number, check_id, why in comments:
        where = f"{path.relative_to(REPO)}:{number}"
        assert CHECK_ID_RE.fullmatch(check_id), f"{where}: {check_id!r} is not a checkov check id"
        assert why and len(why.strip()) >= 20, f"{where}: skip of {check_id} needs a one-line justification after the colon"
        assert enclosing_block(path, number), f"{where}: skip of {check_id} must sit inside the resource it applies to"

    skipped = checkov_report()["results"]["skipped_checks"]
    for check in skipped:
        comment = (check.get("check_result") or {}).get("suppress_comment")
        assert comment and len(comment.strip()) >= 20, f"{check['check_id']} on {check['resource']} skipped without a justification"
    # Every skip checkov applied comes from one of these comments (no CLI or config-file skips).
    assert {c["check_id"] for c in skipped} == {check_id for _, _, check_id, _ in comments}


def test_every_skip_is_needed(tmp_path: Path) -> None:
    """Without its skip comment, each skipped check really fails on the resource it sits in."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    for path in copy.rglob("*.tf"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(line for line in lines if "checkov:skip" not in line), encoding="utf-8")
    failed = {(c["check_id"], c["resource"]) for c in run_checkov(copy)["results"]["failed_checks"]}
    skipped = {(c["check_id"], c["resource"]) for c in checkov_report()["results"]["skipped_checks"]}
    assert skipped, "no skips to verify"
    assert skipped <= failed, f"skips that suppress nothing (remove them): {sorted(skipped - failed)}"


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("#checkov:skip=CKV_AWS_117:The function only calls public regional AWS APIs.", True),
        ("#checkov:skip=CKV_AWS_117", False),
        ("#checkov:skip=CKV_AWS_117:", False),
        ("#checkov:skip=CKV_AWS_117:because", False),
    ],
)
def test_justification_rule_rejects_bare_skips(line: str, ok: bool) -> None:
    match = SKIP_RE.search(line)
    assert match
    why = match.group("why")
    assert (bool(why) and len(why.strip()) >= 20) is ok
