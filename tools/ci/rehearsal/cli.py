"""The command line of tools/ci/rehearse_workflow.py: reads the workflow at the commit, checks its expressions,
prepares the machine as a new VM (or only a scratch checkout for --steps-dry-run) and runs the job."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("rehearse: needs PyYAML: run it with the host's /usr/bin/python3 (PyYAML 6.0)")

from .cache_store import CacheStore
from .console import die, log, run
from .expression_check import check_expressions
from .expression_syntax import ExpressionError
from .host import host_debian_mirrors
from .job import Rehearsal
from .layout import REPO, RUNNER_PATH, Layout
from .leftovers import is_rehearsal_cache_dir, kill_leftovers
from .new_vm import checkout, fresh_home, make_distdir, remove_tree
from .runner_user import ensure_runner_user, ensure_sudo
from .state import read_state, write_state

# --help's description: the first paragraph of rehearse_workflow.py's docstring, line break included (the help is
# formatted raw), so that the entry point's --help reads as it always has.
DESCRIPTION = ("Rehearses one job of .github/workflows/deploy.yml (default: build) the way a GitHub-hosted "
               "ubuntu-24.04 runner\nruns it, on this machine. "
               "See tools/ci/README.md for what it covers and what it does not.")


def load_workflow(args: argparse.Namespace, commit: str) -> tuple[dict, str]:
    if args.workflow:
        text, origin = Path(args.workflow).read_text(), args.workflow
    else:
        rel = ".github/workflows/deploy.yml"
        text = run(["git", "-C", str(REPO), "show", f"{commit}:{rel}"], capture_output=True).stdout
        origin = f"{rel} at {commit[:12]}"
    return yaml.safe_load(text), origin


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except ExpressionError as e:
        die(f"stopped: {e}")
        return 2


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--cold", action="store_true", help="empty the cache store first: nothing cached at all")
    mode.add_argument("--warm", action="store_true",
                      help="keep the cache store of the last run (the default); the runner is always a fresh VM")
    mode.add_argument("--steps-dry-run", action="store_true",
                      help="print each step, its condition and resolved environment; run nothing, change nothing")
    parser.add_argument("--commit", default="HEAD", help="commit to check out (default: HEAD of this repository)")
    parser.add_argument("--event", choices=("push", "pull_request"), default="push")
    parser.add_argument("--job", default="build")
    parser.add_argument("--workflow", help="workflow file to read instead of deploy.yml at --commit")
    parser.add_argument("--cache-dir", default="/var/tmp/rehearsal-cache", help="the emulated cache service's store")
    parser.add_argument("--state-file", default="/var/tmp/rehearsal-state.json")
    parser.add_argument("--user", default="runner")
    parser.add_argument("--repo-name", default=REPO.name, help="<name> in /home/<user>/work/<name>/<name>")
    parser.add_argument("--distdir-source", default="/work/shared/oci-image-spec/schema",
                        help="OCI schemas copied read-only for TOOLS_BAZEL_DISTDIR ('' for none)")
    parser.add_argument("--distdir-copy", default="/var/tmp/rehearsal-distdir")
    parser.add_argument("--find-links", default="/opt/wheels", help="PIP_FIND_LINKS stand-in ('' for none)")
    parser.add_argument("--stand-in", action="append", default=[], metavar="NAME=VALUE",
                        help="one more offline stand-in variable (e.g. PIP_DEFAULT_TIMEOUT=180)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    commit = run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{args.commit}^{{commit}}"],
                 capture_output=True).stdout.strip()
    workflow, origin = load_workflow(args, commit)
    if args.job not in (workflow.get("jobs") or {}):
        die(f"no job {args.job!r} in {origin}")
    problems = check_expressions(workflow, args.job)
    if problems:
        die("expressions the rehearsal does not understand (it never guesses):\n  " + "\n  ".join(problems))
    layout = Layout(args.user, Path("/home") / args.user, args.repo_name)

    stand_ins: dict[str, str] = {}
    if args.find_links:
        stand_ins["PIP_FIND_LINKS"] = args.find_links
    distdir = Path(args.distdir_copy) / "oci-image-spec" / "schema"
    if args.distdir_source:
        stand_ins["TOOLS_BAZEL_DISTDIR"] = str(distdir)
    for item in args.stand_in:
        name, sep, value = item.partition("=")
        if not sep or not name:
            die(f"--stand-in wants NAME=VALUE, not {item!r}")
        stand_ins[name] = value

    log(f"workflow: {origin}; job {args.job}; event {args.event}; commit {commit}")
    log(f"runner: user {layout.user} (passwordless sudo, no subordinate ids), HOME={layout.home}, "
        f"GITHUB_WORKSPACE={layout.workspace}, RUNNER_TEMP={layout.temp}; nothing beside the checkout (no ../shared)")
    log("offline stand-ins passed to every run: step (nothing else from this host's environment):")
    for name, value in stand_ins.items():
        log(f"    {name}={value}")
    log("    (PIP_FIND_LINKS: the CPU torch wheel on this disk; the workflow's PIP_EXTRA_INDEX_URL is unreachable "
        "here. TOOLS_BAZEL_DISTDIR: a read-only copy of the OCI schemas the real runner downloads from GitHub.)")
    log(f"Debian packages: tools/bazel takes this host's apt mirror ({', '.join(host_debian_mirrors()) or 'none'}) "
        "when it serves the recorded snapshot state: the stand-in for snapshot.debian.org")
    log("host-wide pip configuration also applies to the runner here: " + ", ".join(
        p for p in ("/etc/pip.conf", "/etc/xdg/pip/pip.conf") if Path(p).exists()) + " (a GitHub runner has none)")

    if args.steps_dry_run:
        with tempfile.TemporaryDirectory(prefix="rehearsal-dry-") as scratch:
            # hashFiles() reads the commit's files: a throw-away clone, not the working tree
            run(["git", "clone", "-q", "--no-checkout", str(REPO), scratch], capture_output=True)
            run(["git", "-C", scratch, "-c", "advice.detachedHead=false", "checkout", "-q", commit])
            rehearsal = Rehearsal(args, workflow, args.job, layout, commit, Path(scratch), stand_ins)
            rehearsal.run_job()
            return rehearsal.summary(time.monotonic() - started)

    if os.geteuid() != 0:
        die("run as root: sudo /usr/bin/python3 tools/ci/rehearse_workflow.py --cold (or --warm)")
    state_path = Path(args.state_file)
    state = read_state(state_path)
    cache_dirs = list(dict.fromkeys(state.get("sysroot_cache_dirs", []) + [
        f"{layout.home}/.cache/analysis-lambda-sysroot", "/mnt/ci-cache/analysis-lambda-sysroot"]))
    shutdown_env = {"HOME": str(layout.home), "PATH": RUNNER_PATH, "USER": layout.user, "CI": "true", **stand_ins}
    kill_leftovers(layout, cache_dirs, shutdown_env)
    ensure_sudo()
    ensure_runner_user(layout, state)
    write_state(state_path, state)
    if args.cold:
        log(f"cold: emptying the cache store {args.cache_dir}")
        remove_tree(Path(args.cache_dir))
    for cache in cache_dirs:  # a new VM has no sysroot cache, wherever the workflow put it
        if is_rehearsal_cache_dir(cache, layout) and os.path.exists(cache):
            log(f"removing the previous sysroot cache {cache}")
            remove_tree(Path(cache))
            if os.path.dirname(cache) == "/mnt/ci-cache":
                remove_tree(Path("/mnt/ci-cache"))
    fresh_home(layout)
    if args.distdir_source:
        if not Path(args.distdir_source).is_dir():
            die(f"{args.distdir_source} does not exist: pass --distdir-source DIR, or '' to go without")
        make_distdir(Path(args.distdir_source), Path(args.distdir_copy))
    checkout(layout, commit, "main", args.event)
    Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
    log(f"checked out {commit[:12]} into {layout.workspace}; cache store {args.cache_dir} holds "
        f"{len(CacheStore(Path(args.cache_dir)).entries())} entries")

    rehearsal = Rehearsal(args, workflow, args.job, layout, commit, layout.workspace, stand_ins)
    try:
        rehearsal.run_job()
    finally:
        # the VM would be gone now: end whatever the job left running (files stay for inspection)
        kill_leftovers(layout, list(dict.fromkeys(read_state(state_path).get("sysroot_cache_dirs", []) + cache_dirs)),
                       shutdown_env)
    return rehearsal.summary(time.monotonic() - started)

