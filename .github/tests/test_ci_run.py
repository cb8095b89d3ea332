""".ci/run, the one CI entry point (CI's `bash .ci/run` and the workflow's test step), against a stand-in tools/bazel:
the Bazel command line it builds (the remote cache only with a URL, the caller's flags last), its summary line and
exit status, and the clean-up that ends the sysroot's namespace holder in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CI_RUN = REPO / ".ci" / "run"

# Records every call; for `test`, prints $STUB_SUMMARY's lines the way Bazel's summary does and exits $STUB_RC.
STUB_BAZEL = """#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$STUB_CALLS"
if [ "$1" = test ]; then cat "$STUB_SUMMARY"; exit "${STUB_RC:-0}"; fi
"""
STUB_LIB = """sysroot_cache_dir() { printf '%s\\n' "$TOOLS_BAZEL_SYSROOT_CACHE"; }
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout holding the real .ci/run, a stand-in tools/bazel and a stand-in tools/sysroot/lib.sh."""
    root = tmp_path / "checkout"
    (root / ".ci").mkdir(parents=True)
    shutil.copy(CI_RUN, root / ".ci" / "run")
    (root / "tools" / "sysroot").mkdir(parents=True)
    (root / "tools" / "bazel").write_text(STUB_BAZEL)
    (root / "tools" / "bazel").chmod(0o755)
    (root / "tools" / "sysroot" / "lib.sh").write_text(STUB_LIB)
    return root


def run_ci(checkout: Path, *flags: str, summary: list[str] = (), rc: int = 0, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    calls = checkout.parent / "calls"
    summary_file = checkout.parent / "summary"
    calls.unlink(missing_ok=True)
    summary_file.write_text("".join(line + "\n" for line in summary))
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "BAZEL_REMOTE_CACHE_URL", "TOOLS_BAZEL_SYSROOT_CACHE")}
    clean.update(STUB_CALLS=str(calls), STUB_SUMMARY=str(summary_file), STUB_RC=str(rc),
                 TOOLS_BAZEL_SYSROOT_CACHE=str(checkout.parent / "cache"), **env)
    result = subprocess.run(["bash", str(checkout / ".ci" / "run"), *flags], env=clean, capture_output=True, text=True,
                            timeout=60, cwd=checkout.parent)
    return result, calls.read_text().splitlines() if calls.exists() else []


PASSING = ["//a:a_test                    PASSED in 1.2s", "//b:b_test           (cached) PASSED in 0.4s"]


def test_remote_cache_config_only_with_a_url_and_the_callers_flags_last(checkout: Path) -> None:
    flags = ("--config=ci", "--noremote_upload_local_results")
    result, calls = run_ci(checkout, *flags, summary=PASSING, BAZEL_REMOTE_CACHE_URL="grpc://cache.example:9092")
    assert result.returncode == 0, result.stdout + result.stderr
    # After the config: Bazel expands --config in place and the last value wins, so a pull request's
    # --noremote_upload_local_results overrides the config's --remote_upload_local_results=true.
    assert calls[0] == "test //... --config=remote-cache --config=ci --noremote_upload_local_results"
    assert calls[-1] == "shutdown"

    result, calls = run_ci(checkout, *flags, summary=PASSING)  # a fork's pull request: no secret, no URL
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls[0] == "test //... --config=ci --noremote_upload_local_results"

    result, calls = run_ci(checkout, summary=PASSING, BAZEL_REMOTE_CACHE_URL="")
    assert calls[0] == "test //..."


@pytest.mark.parametrize(
    ("summary", "rc", "ok", "line"),
    [
        (PASSING, 0, True, "bazel: 2 passed, 0 failed"),
        (PASSING + ["//c:c_test                    FAILED in 3.0s"], 3, False, "bazel: 2 passed, 1 failed"),
        (PASSING + ["//d:d_test                    FAILED TO BUILD"], 1, False, "bazel: 2 passed, 1 failed"),
        ([], 0, False, "bazel: 0 passed, 0 failed"),  # nothing ran: not a success
        (PASSING, 1, False, "bazel: 2 passed, 0 failed"),  # Bazel itself failed
    ],
)
def test_summary_line_and_exit_status(checkout: Path, summary: list[str], rc: int, ok: bool, line: str) -> None:
    result, _ = run_ci(checkout, "--config=ci", summary=summary, rc=rc)
    assert (result.returncode == 0) is ok, result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == line


@pytest.mark.parametrize("ci", ["true", ""])
def test_in_ci_the_namespace_holder_is_ended(checkout: Path, ci: str) -> None:
    holder = subprocess.Popen(["sleep", "300"])
    try:
        cache = checkout.parent / "cache"
        cache.mkdir()
        (cache / "namespace.pid").write_text(f"{holder.pid} {cache}/sysroot-0123456789abcdef\n")
        result, calls = run_ci(checkout, summary=PASSING, CI=ci)
        assert result.returncode == 0, result.stdout + result.stderr
        assert calls[-1] == "shutdown"
        if ci == "true":
            assert holder.wait(timeout=10) != 0, "the holder must be ended in CI"
        else:
            with pytest.raises(subprocess.TimeoutExpired):
                holder.wait(timeout=1)  # a developer's holder stays for the next call
    finally:
        holder.kill()
        holder.wait()
