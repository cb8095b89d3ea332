"""tools/ci/rehearse_workflow.py and its package rehearsal/, the parts that need no runner: the expression evaluator
and if: conditions, hashFiles() and the cache-path globs, cache matching (exact key, prefixes, restore keys, versions,
scopes), the file commands a step writes, a dry run of a job shaped like deploy.yml's build job, and the entry point
run as a script."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

# `rehearsal` is a top-level package, as for the entry point, which the host python runs outside Bazel.
sys.path.insert(0, str(Path(__file__).parent.parent))

from rehearsal.cache_actions import input_lines  # noqa: E402
from rehearsal.cache_store import (  # noqa: E402
    CacheEntry,
    CacheStore,
    cache_version,
    find_cache_entry,
    validate_cache_key,
)
from rehearsal.cli import DESCRIPTION  # noqa: E402
from rehearsal.expression_check import check_expressions  # noqa: E402
from rehearsal.expression_evaluator import Evaluator, JobStatus  # noqa: E402
from rehearsal.expression_syntax import ExpressionError  # noqa: E402
from rehearsal.expression_values import AnyName  # noqa: E402
from rehearsal.file_commands import FileCommandError, parse_file_command  # noqa: E402
from rehearsal.globs import glob_paths, parse_globs  # noqa: E402
from rehearsal.hash_files import hash_files  # noqa: E402
from rehearsal.job import Rehearsal  # noqa: E402
from rehearsal.layout import RUNNER_PATH, Layout  # noqa: E402
from rehearsal.script_step import shell_command  # noqa: E402
from rehearsal.step_results import StepFailed  # noqa: E402


def evaluate(text: str, contexts: dict | None = None, status: JobStatus | None = None):
    return Evaluator(contexts or {}, status).evaluate(text)


def condition(cond, contexts: dict | None = None, status: JobStatus | None = None) -> bool:
    return Evaluator(contexts or {}, status).condition(cond)


# --- expressions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'abc' == 'ABC'", True),  # strings compare case-insensitively
        ("'abc' != 'abd'", True),
        ("1 == '1'", True),  # mixed types compare as numbers
        ("null == ''", True),  # both coerce to 0
        ("'true' == true", False),  # 'true' is NaN as a number
        ("0 == false", True),
        ("'it''s' == 'IT''S'", True),
        ("true || false && false", True),  # && binds tighter than ||
        ("!(true && false)", True),
        ("!false == true", True),  # ! binds tighter than ==
        ("(1 == 1) && ('a' == 'b')", False),
        ("2 > 10", False),
        ("'b' > 'A'", True),
        ("1 == 1 == true", True),  # left-associative: (1 == 1) == true
        ("3 > 2 > 1", False),  # (3 > 2) > 1 is true > 1, and true is 1 as a number
        ("1 < 2 == 2 < 3", True),  # < binds tighter than ==
    ],
)
def test_operators(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


def test_and_or_return_an_operand() -> None:
    assert evaluate("'' || 'fallback'") == "fallback"
    assert evaluate("'a' && 'b'") == "b"
    assert evaluate("0 && 'b'") == 0


def test_contexts() -> None:
    contexts = {
        "github": {"event_name": "push", "ref": "refs/heads/main"},
        "runner": {"os": "Linux"},
        "steps": {"keys": {"outputs": {"sysroot": "abc"}, "outcome": "success"}},
        "secrets": AnyName(),
        "vars": AnyName(),
    }
    assert evaluate("steps.keys.outputs.sysroot", contexts) == "abc"
    assert evaluate("steps['keys'].outputs['sysroot']", contexts) == "abc"
    assert evaluate("STEPS.Keys.OUTPUTS.sysroot", contexts) == "abc"  # names are case-insensitive
    assert evaluate("steps.keys.outputs.missing", contexts) is None
    assert evaluate("steps.other.outcome", contexts) is None
    assert evaluate("secrets.BAZEL_REMOTE_CACHE_URL", contexts) == ""  # a fork pull request: no secrets
    assert evaluate("vars.AWS_REGION", contexts) == ""
    assert evaluate("github.event_name == 'push' && github.ref == 'refs/heads/main'", contexts) is True


def test_functions() -> None:
    assert evaluate("contains('Hello', 'ELL')") is True
    assert evaluate("startsWith('refs/heads/main', 'refs/heads/')") is True
    assert evaluate("endsWith('abc', 'BC')") is True
    assert evaluate("format('{0}-{1}-{{x}}', 'a', 1)") == "a-1-{x}"
    assert evaluate("join(fromJSON('[\"a\", \"b\"]'), '+')") == "a+b"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a * b",  # no arithmetic
        "github.event.*",  # object filters are not supported
        "foo.bar",  # unknown context
        "bogus()",  # unknown function
        "'unterminated",
        "steps.x ==",
        "(true",
        "true false",
        "github.",
        "success(1)",
    ],
)
def test_unknown_or_malformed_syntax_is_an_error(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text, {"steps": {}, "github": {}})


def test_interpolation() -> None:
    ev = Evaluator({"runner": {"os": "Linux"}, "steps": {}})
    assert ev.interpolate("key-${{ runner.os }}-${{ '}}' }}-end") == "key-Linux-}}-end"
    assert ev.interpolate("${{ steps.x.outputs.y }}") == ""  # null is the empty string
    assert ev.interpolate(True) == "true"
    assert ev.interpolate(90) == "90"
    with pytest.raises(ExpressionError):
        ev.interpolate("${{ runner.os ")


def test_if_without_a_status_function_means_success_and() -> None:
    failed = JobStatus(failed=True)
    assert condition(None) is True
    assert condition(None, status=failed) is False
    assert condition("true", status=failed) is False
    assert condition("${{ true }}", status=failed) is False
    assert condition("always()", status=failed) is True
    assert condition("failure()", status=failed) is True
    assert condition("success()", status=failed) is False
    cancelled = JobStatus(cancelled=True)
    assert condition("!cancelled()", status=cancelled) is False
    assert condition("true", status=cancelled) is False


def test_if_mixing_text_and_an_expression_is_refused() -> None:
    with pytest.raises(ExpressionError):
        condition("x == ${{ 'y' }}")


def test_deploy_style_conditions() -> None:
    """The pack steps run after a failed test step (their own status function), unless the run was cancelled."""
    contexts = {"github": {"event_name": "push"}, "steps": {"sysroot-cache": {"outputs": {}}}}
    pack = "${{ !cancelled() && github.event_name == 'push' && steps.sysroot-cache.outputs.cache-hit != 'true' }}"
    assert condition(pack, contexts, JobStatus(failed=True)) is True
    assert condition(pack, contexts, JobStatus(cancelled=True)) is False
    contexts["steps"]["sysroot-cache"]["outputs"]["cache-hit"] = "true"
    assert condition(pack, contexts) is False
    assert condition("steps.sysroot-cache.outputs.cache-hit == 'true'", contexts) is True
    # a miss leaves cache-matched-key unset: null != '' is false (both are 0 as numbers)
    assert condition("steps.repo-cache.outputs.cache-matched-key != ''", {"steps": {}}) is False
    pr = {"github": {"event_name": "pull_request"}, "steps": {}}
    assert condition(pack, pr) is False


# --- hashFiles() and globs ----------------------------------------------------------------------------------------


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "work" / "repo"
    (ws / "dir" / "sub").mkdir(parents=True)
    (ws / "a.txt").write_bytes(b"a")
    (ws / "B.txt").write_bytes(b"B")
    (ws / "dir" / "x.txt").write_bytes(b"x")
    (ws / "dir" / "sub" / "y.lock").write_bytes(b"y")
    (tmp_path / "work" / "outside.txt").write_bytes(b"o")
    return ws


def test_hash_files_is_sha256_over_file_digests_in_pattern_order(workspace: Path) -> None:
    expected = hashlib.sha256(digest(b"x") + digest(b"a")).hexdigest()
    assert hash_files(["dir/x.txt", "a.txt"], str(workspace)) == expected
    assert hash_files(["dir/x.txt", "missing.txt", "a.txt"], str(workspace)) == expected


def test_hash_files_globs_walk_in_byte_order(workspace: Path) -> None:
    expected = hashlib.sha256(digest(b"B") + digest(b"a") + digest(b"x")).hexdigest()
    assert hash_files(["**/*.txt"], str(workspace)) == expected


def test_hash_files_directory_negation_and_outside(workspace: Path) -> None:
    # a directory pattern hashes everything below it (implicit descendants), depth first: sub/ before x.txt
    assert hash_files(["dir"], str(workspace)) == hashlib.sha256(digest(b"y") + digest(b"x")).hexdigest()
    assert hash_files(["**/*.txt", "!dir/**"], str(workspace)) == hashlib.sha256(
        digest(b"B") + digest(b"a")).hexdigest()
    assert hash_files(["../outside.txt"], str(workspace)) == ""  # outside the workspace: ignored
    assert hash_files(["nothing/*"], str(workspace)) == ""


def test_hash_files_through_an_expression(workspace: Path) -> None:
    ev = Evaluator({"runner": {"os": "Linux"}}, hash_files=lambda pats: hash_files(pats, str(workspace)))
    key = ev.interpolate("bazel-repository-${{ runner.os }}-${{ hashFiles('a.txt', 'dir/x.txt') }}")
    assert key == "bazel-repository-Linux-" + hashlib.sha256(digest(b"a") + digest(b"x")).hexdigest()


def test_cache_paths_glob_without_implicit_descendants(workspace: Path) -> None:
    patterns = parse_globs(["dir", "~/cache.tar", "../../work/outside.txt"], str(workspace),
                              home=str(workspace.parent), implicit_descendants=False)
    (workspace.parent / "cache.tar").write_bytes(b"t")
    assert glob_paths(patterns) == [
        str(workspace / "dir"), str(workspace.parent / "cache.tar"), str(workspace.parent / "outside.txt")]


# --- cache matching -----------------------------------------------------------------------------------------------


MAIN = "refs/heads/main"
PR = "refs/pull/1/merge"


def entry(key: str, created: float, version: str = "v", scope: str = MAIN) -> CacheEntry:
    return CacheEntry(key, version, scope, created)


def test_cache_exact_key_wins() -> None:
    entries = [entry("k-1", 1), entry("k-12", 3), entry("k-123", 2)]
    assert find_cache_entry(entries, "k-1", ["k-"], "v", [MAIN]).key == "k-1"


def test_cache_prefix_of_the_key_then_restore_keys_in_order_newest_first() -> None:
    entries = [entry("repo-Linux-old", 1), entry("repo-Linux-new", 2), entry("other-Linux-x", 5)]
    assert find_cache_entry(entries, "repo-Linux-abc", ["repo-Linux-"], "v", [MAIN]).key == "repo-Linux-new"
    # restore keys are tried in order: the first one that matches wins even when another matches newer entries
    assert find_cache_entry(entries, "none", ["repo-", "other-"], "v", [MAIN]).key == "repo-Linux-new"
    assert find_cache_entry(entries, "none", ["other-", "repo-"], "v", [MAIN]).key == "other-Linux-x"
    # the primary key is itself a prefix to try before the restore keys
    assert find_cache_entry(entries, "repo-Linux-o", [], "v", [MAIN]).key == "repo-Linux-old"
    assert find_cache_entry(entries, "none", ["nothing-"], "v", [MAIN]) is None


def test_cache_version_and_scope() -> None:
    paths_a = ["/home/runner/work/_temp/ci-cache/sysroot.archive"]
    paths_b = ["/home/runner/work/_temp/ci-cache/other.archive"]
    assert cache_version(paths_a) != cache_version(paths_b)
    entries = [entry("k", 1, version=cache_version(paths_a))]
    assert find_cache_entry(entries, "k", [], cache_version(paths_b), [MAIN]) is None
    # a pull request reads its own caches first, then main's; main never reads a pull request's
    entries = [entry("k-main", 1), entry("k-pr", 2, scope=PR)]
    assert find_cache_entry(entries, "k-main", [], "v", [PR, MAIN]).key == "k-main"
    assert find_cache_entry(entries, "k-", [], "v", [PR, MAIN]).key == "k-pr"
    assert find_cache_entry(entries, "k-pr", [], "v", [MAIN]) is None


def test_cache_key_validation_and_inputs() -> None:
    validate_cache_key("analysis-sysroot-Linux-0123")
    for bad in ("", "a,b", "x" * 513):
        with pytest.raises(ValueError):
            validate_cache_key(bad)
    assert input_lines("bazel-repository-Linux-\n\n  second  \n") == ["bazel-repository-Linux-", "second"]


def test_cache_store_round_trip(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "store")
    assert store.entries() == []
    store.add("k", "v", MAIN, ["p"], lambda target: target.write_bytes(b"data"))
    [saved] = store.entries()
    assert (saved.key, saved.version, saved.scope) == ("k", "v", MAIN)
    assert saved.archive.read_bytes() == b"data"

    def failing(target: Path) -> None:
        raise StepFailed("tar exited 2: Permission denied")

    with pytest.raises(StepFailed):
        store.add("k2", "v", MAIN, ["p"], failing)
    assert [e.key for e in store.entries()] == ["k"]  # nothing half-saved


# --- file commands and shells -------------------------------------------------------------------------------------


def test_file_commands() -> None:
    text = "a=1\nempty=\n\nb<<EOF\nline 1\nline=2\nEOF\nc=d<<e\n"
    assert parse_file_command(text) == [("a", "1"), ("empty", ""), ("b", "line 1\nline=2"), ("c", "d<<e")]
    for bad in ("junk\n", "x<<EOF\nno end\n", "=value\n"):
        with pytest.raises(FileCommandError):
            parse_file_command(bad)


def test_shells() -> None:
    assert shell_command(None, "s.sh") == ["bash", "-e", "s.sh"]  # shell unspecified on Linux
    assert shell_command("bash", "s.sh") == ["bash", "--noprofile", "--norc", "-eo", "pipefail", "s.sh"]
    assert shell_command("bash -x {0}", "s.sh") == ["bash", "-x", "s.sh"]
    with pytest.raises(StepFailed):
        shell_command("pwsh", "s.sh")


# --- a dry run of a job shaped like deploy.yml's build job --------------------------------------------------------

WORKFLOW = """
env:
  PIP_EXTRA_INDEX_URL: https://download.pytorch.org/whl/cpu
jobs:
  build:
    steps:
      - uses: actions/checkout@0000000000000000000000000000000000000000
      - id: keys
        run: echo "sysroot=abc" >>"$GITHUB_OUTPUT"
      - id: sysroot-cache
        uses: actions/cache/restore@0000000000000000000000000000000000000000
        with:
          path: ${{ runner.temp }}/ci-cache/sysroot.archive
          key: analysis-sysroot-${{ runner.os }}-${{ hashFiles('a.txt') }}
      - name: Unpack
        if: steps.sysroot-cache.outputs.cache-hit == 'true'
        run: echo unpack
      - name: Test
        env:
          BAZEL_REMOTE_CACHE_URL: ${{ secrets.BAZEL_REMOTE_CACHE_URL }}
          EVENT_NAME: ${{ github.event_name }}
        run: .ci/run
      - id: pack
        continue-on-error: true
        if: ${{ !cancelled() && github.event_name == 'push' && steps.sysroot-cache.outputs.cache-hit != 'true' }}
        run: echo pack
      - name: Save
        if: ${{ !cancelled() && steps.pack.outcome == 'success' }}
        uses: actions/cache/save@0000000000000000000000000000000000000000
        with:
          path: ${{ runner.temp }}/ci-cache/sysroot.archive
          key: ${{ steps.sysroot-cache.outputs.cache-primary-key }}
      - name: Upload
        uses: actions/upload-artifact@0000000000000000000000000000000000000000
"""


def dry_run(tmp_path: Path, workspace: Path, event: str = "push") -> Rehearsal:
    import yaml

    args = argparse.Namespace(steps_dry_run=True, cold=False, cache_dir=str(tmp_path / "store"), event=event,
                              state_file=str(tmp_path / "state.json"))
    layout = Layout("runner", Path("/home/runner"), "repo")
    rehearsal = Rehearsal(args, yaml.safe_load(WORKFLOW), "build", layout, "0" * 40, workspace,
                             {"PIP_FIND_LINKS": "/opt/wheels"})
    rehearsal.run_job()
    return rehearsal


def outcomes(rehearsal: Rehearsal) -> list[str]:
    return [r.outcome for r in rehearsal.results]


def test_dry_run_cold(tmp_path: Path, workspace: Path) -> None:
    rehearsal = dry_run(tmp_path, workspace)
    assert outcomes(rehearsal) == ["success", "dry-run", "success", "skipped", "dry-run", "dry-run", "success",
                                   "not-rehearsed"]
    key = "analysis-sysroot-Linux-" + hashlib.sha256(digest(b"a")).hexdigest()
    assert rehearsal.steps_ctx["sysroot-cache"]["outputs"] == {"cache-primary-key": key}
    assert rehearsal.steps_ctx["pack"]["outcome"] == "success"
    assert rehearsal.summary(0.0) == 0


def test_dry_run_warm_and_pull_request(tmp_path: Path, workspace: Path) -> None:
    key = "analysis-sysroot-Linux-" + hashlib.sha256(digest(b"a")).hexdigest()
    version = cache_version(["/home/runner/work/_temp/ci-cache/sysroot.archive"])
    CacheStore(tmp_path / "store").add(key, version, MAIN, [], lambda t: t.write_bytes(b"archive"))
    rehearsal = dry_run(tmp_path, workspace)
    assert rehearsal.steps_ctx["sysroot-cache"]["outputs"]["cache-hit"] == "true"
    assert outcomes(rehearsal)[3:7] == ["dry-run", "dry-run", "skipped", "skipped"]  # unpack; no pack, no save

    pr = dry_run(tmp_path, workspace, event="pull_request")  # restores main's cache, never packs
    assert pr.steps_ctx["sysroot-cache"]["outputs"]["cache-hit"] == "true"
    del pr
    (tmp_path / "store").rename(tmp_path / "store-old")
    pr = dry_run(tmp_path, workspace, event="pull_request")
    assert outcomes(pr)[3:7] == ["skipped", "dry-run", "skipped", "skipped"]


def test_dry_run_environment(tmp_path: Path, workspace: Path) -> None:
    rehearsal = dry_run(tmp_path, workspace)
    env, sources = rehearsal.step_env(yaml_step("env: {EVENT_NAME: '${{ github.event_name }}', X: '${{ vars.X }}'}"),
                                      {})
    assert env["EVENT_NAME"] == "push" and env["X"] == ""
    assert env["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert sources["PIP_FIND_LINKS"] == "STAND-IN"
    assert env["HOME"] == "/home/runner" and env["CI"] == "true" and env["RUNNER_OS"] == "Linux"
    assert env["PATH"] == RUNNER_PATH
    assert set(env) <= {"HOME", "PATH", "USER", "CI", "GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITHUB_EVENT_NAME",
                        "GITHUB_REF", "GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_JOB", "RUNNER_TEMP", "RUNNER_OS",
                        "RUNNER_ARCH", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "EVENT_NAME", "X"}


def yaml_step(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


def test_every_expression_is_checked_before_anything_runs() -> None:
    import yaml

    workflow = yaml.safe_load(WORKFLOW)
    assert check_expressions(workflow, "build") == []
    workflow["jobs"]["build"]["steps"].append({"if": "github.event.commits.*.id", "run": "true"})
    workflow["jobs"]["build"]["steps"].append({"run": "echo ${{ matrix.os || foo.bar }}"})
    problems = check_expressions(workflow, "build")
    assert [p.split(":")[0] for p in problems] == ["jobs.build.steps[8].if", "jobs.build.steps[9].run"]


# --- the entry point -----------------------------------------------------------------------------------------------

SCRIPT = Path(__file__).parent.parent / "rehearse_workflow.py"


@pytest.mark.parametrize("python_flags", [[], ["-P"]])  # -P: the script's directory is not put on sys.path
def test_entry_point_runs_as_a_script_from_another_directory(tmp_path: Path, python_flags: list[str]) -> None:
    import yaml

    # Only PyYAML's directory on the path, as on the host: the package must be found through the script itself.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(yaml.__file__).parent.parent)}
    result = subprocess.run([sys.executable, *python_flags, str(SCRIPT.absolute()), "--help"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: rehearse_workflow.py [-h] [--cold | --warm | --steps-dry-run]")
    assert DESCRIPTION in result.stdout and "--stand-in NAME=VALUE" in result.stdout
