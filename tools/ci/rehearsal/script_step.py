"""A run: step: the shell the runner starts, the step's environment and script file, its process as the runner user
in a clean environment, and the file commands it wrote (outputs, GITHUB_ENV and GITHUB_PATH for the later steps)."""

from __future__ import annotations

import math
import os
import pwd
import shlex
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .console import log
from .file_commands import FileCommandError, file_command_paths, parse_file_command, parse_path_file
from .layout import SYSROOT_CACHE_VAR
from .step_results import StepFailed, StepResult

if TYPE_CHECKING:  # only for the annotation: job.py imports this module
    from .job import Rehearsal


def shell_command(shell: str | None, script: str) -> list[str]:
    """The command the runner starts for a run: step (workflow syntax, jobs.<id>.steps[*].shell)."""
    if shell is None:
        return ["bash", "-e", script]  # shell unspecified on Linux
    s = shell.strip()
    if s == "bash":
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail", script]
    if s == "sh":
        return ["sh", "-e", script]
    if "{0}" in s:
        return [part.replace("{0}", script) for part in shlex.split(s)]
    raise StepFailed(f"shell {s!r} is not supported by the rehearsal (bash, sh or a template with {{0}})")


def run_script(job: Rehearsal, number: int, step: dict, result: StepResult) -> None:
    """Step NUMBER of JOB; a dry run prints the step instead and leaves its outputs and GITHUB_ENV empty."""
    layout = job.layout
    files_dir = layout.temp / "_runner_file_commands"
    files = file_command_paths(files_dir)
    env, sources = job.step_env(step, files)
    ev = job.evaluator(env)
    script = ev.interpolate(step["run"])
    workdir_raw = step.get("working-directory", job.defaults("working-directory"))
    workdir = layout.workspace
    if workdir_raw is not None:
        workdir = layout.workspace / ev.interpolate(workdir_raw)
    script_path = layout.temp / f"{uuid.uuid4()}.sh"
    argv = shell_command(step.get("shell", job.defaults("shell")), str(script_path))
    timeout = step.get("timeout-minutes")
    if timeout is not None:
        timeout = float(ev.interpolate(timeout))
    log(f"    cwd: {workdir}")
    log(f"    command: runuser -u {layout.user} -- env -i <environment below> {shlex.join(argv)}")
    for key in sorted(env):
        if job.dry or sources.get(key) != "runner":
            log(f"    env {key}={env[key]}    [{sources.get(key, '?')}]")
    if job.dry:
        log("    script:")
        for line in script.rstrip("\n").split("\n"):
            log(f"      | {line}")
        result.outcome = "dry-run"
        result.notes.append("not run (dry run): its outputs and GITHUB_ENV are unknown, taken as empty")
        return
    entry = pwd.getpwnam(layout.user)
    files_dir.mkdir(parents=True, exist_ok=True)
    os.chown(files_dir, entry.pw_uid, entry.pw_gid)
    for path in files.values():
        Path(path).write_text("")
        os.chown(path, entry.pw_uid, entry.pw_gid)
    script_path.write_text(script)
    os.chown(script_path, entry.pw_uid, entry.pw_gid)
    if not workdir.is_dir():
        raise StepFailed(f"working directory {workdir} does not exist")
    argv_full = ["runuser", "-u", layout.user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv]
    step_deadline = math.inf if timeout is None else time.monotonic() + timeout * 60
    rc = job.processes.stream(argv_full, workdir, f"[{number:02d}] ", step_deadline, job.deadline)
    script_path.unlink(missing_ok=True)
    try:
        for key, value in parse_file_command(Path(files["GITHUB_OUTPUT"]).read_text()):
            job.set_output(step, key, value)
        for key, value in parse_file_command(Path(files["GITHUB_ENV"]).read_text()):
            job.global_env[key] = value
            job.env_source[key] = f"GITHUB_ENV (step {number})"
            log(f"    GITHUB_ENV: {key}={value}")
            if key == SYSROOT_CACHE_VAR:
                job.remember_sysroot_cache(value)
        for directory in parse_path_file(Path(files["GITHUB_PATH"]).read_text()):
            job.path_prepend.insert(0, directory)
    except FileCommandError as e:
        raise StepFailed(f"unable to process file command: {e}") from None
    outputs = job.steps_ctx.get(step.get("id") or "", {}).get("outputs", {})
    for key, value in outputs.items():
        log(f"    output {key}={value!r}" if "\n" in value else f"    output {key}={value}")
    if rc != 0:
        raise StepFailed(f"process completed with exit code {rc}")
    result.outcome = "success"
