"""The job runner: the job's state (status, steps context, environment), each step's if: and environment, and the
order of the steps with continue-on-error, the job's timeout-minutes and cancellation as on GitHub. A run: step is
script_step.py's, a uses: step action_step.py's, the final report summary.py's."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .action_step import run_action
from .cache_actions import CacheActions
from .cache_store import CacheStore
from .console import log
from .expression_evaluator import Evaluator, JobStatus
from .expression_values import AnyName
from .hash_files import hash_files
from .layout import RUNNER_PATH, Layout
from .script_step import run_script
from .state import read_state, write_state
from .step_process import StepProcesses
from .step_results import Cancelled, StepFailed, StepResult
from .summary import print_summary


class Rehearsal:
    """One run of one job: ARGS from the command line, the checkout at HASH_ROOT for hashFiles(), and STAND_INS
    passed to every run: step on top of what the workflow sets."""

    def __init__(self, args: argparse.Namespace, workflow: dict, job_id: str, layout: Layout, commit: str,
                 hash_root: Path, stand_ins: dict[str, str]):
        self.args = args
        self.workflow = workflow
        self.job_id = job_id
        self.job = workflow["jobs"][job_id]
        self.layout = layout
        self.commit = commit
        self.hash_root = hash_root  # where hashFiles() reads the checkout (the workspace, or a scratch copy)
        self.stand_ins = stand_ins
        self.dry = args.steps_dry_run
        self.status = JobStatus()
        self.steps_ctx: dict[str, dict] = {}
        self.global_env: dict[str, str] = {}
        self.env_source: dict[str, str] = {}
        self.path_prepend: list[str] = []
        self.results: list[StepResult] = []
        self.event = args.event
        self.ref = "refs/heads/main" if self.event == "push" else "refs/pull/1/merge"
        self.store = CacheStore(Path(args.cache_dir))
        self.cache = CacheActions(self.store, layout, self.ref, self.dry)
        self.processes = StepProcesses()
        self.deadline = time.monotonic() + 360 * 60
        self.state_path = Path(args.state_file)

    # -- contexts and environment ------------------------------------------------------------------------------

    def contexts(self, env: dict[str, str]) -> dict[str, Any]:
        github = {
            "event_name": self.event,
            "ref": self.ref,
            "ref_name": "main" if self.event == "push" else "1/merge",
            "ref_type": "branch",
            "sha": self.commit,
            "repository": f"rehearsal/{self.layout.name}",
            "repository_owner": "rehearsal",
            "workspace": str(self.layout.workspace),
            "job": self.job_id,
            "workflow": self.workflow.get("name", ""),
            "actor": "rehearsal",
            "server_url": "https://github.com",
            "api_url": "https://api.github.com",
            "run_id": "1",
            "run_number": "1",
            "run_attempt": "1",
            "head_ref": "" if self.event == "push" else "feature",
            "base_ref": "" if self.event == "push" else "main",
            "event": {},
            "token": "",
        }
        runner = {"os": "Linux", "arch": "X64", "name": "GitHub Actions 1", "temp": str(self.layout.temp),
                  "tool_cache": "/opt/hostedtoolcache", "environment": "github-hosted", "debug": ""}
        job_status = "cancelled" if self.status.cancelled else "failure" if self.status.failed else "success"
        return {"github": github, "runner": runner, "env": dict(env), "secrets": AnyName(), "vars": AnyName(),
                "steps": self.steps_ctx, "job": {"status": job_status}, "jobs": {}, "matrix": {}, "strategy": {},
                "needs": {}, "inputs": {}}

    def evaluator(self, env: dict[str, str]) -> Evaluator:
        return Evaluator(self.contexts(env), self.status, lambda pats: hash_files(pats, str(self.hash_root)))

    def evaluate_env(self, block: Any, base: dict[str, str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, value in (block or {}).items():
            result[str(name)] = self.evaluator({**base, **result}).interpolate(value)
        return result

    def runner_env(self, files: dict[str, str]) -> dict[str, str]:
        layout = self.layout
        return {
            "HOME": str(layout.home), "PATH": RUNNER_PATH, "USER": layout.user, "CI": "true",
            "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(layout.workspace),
            "GITHUB_EVENT_NAME": self.event, "GITHUB_REF": self.ref, "GITHUB_SHA": self.commit,
            "GITHUB_REPOSITORY": f"rehearsal/{layout.name}", "GITHUB_JOB": self.job_id,
            "RUNNER_TEMP": str(layout.temp), "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", **files,
        }

    def step_env(self, step: dict, files: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The process environment of a step and where each variable came from."""
        sources = {name: "runner" for name in self.runner_env(files)}
        env = dict(self.runner_env({}))
        for name, value in self.global_env.items():
            env[name] = value
            sources[name] = self.env_source.get(name, "workflow")
        own = self.evaluate_env(step.get("env"), dict(self.global_env))
        for name, value in own.items():
            env[name] = value
            sources[name] = "step env"
        env.update(self.runner_env(files))  # the runner's own variables win, as on GitHub
        if self.path_prepend:
            env["PATH"] = ":".join(self.path_prepend + [env["PATH"]])
            sources["PATH"] = "runner + GITHUB_PATH"
        for name, value in self.stand_ins.items():
            if name in env and sources.get(name) != "runner":
                log(f"warning: stand-in {name} replaces the workflow's value {env[name]!r}")
            env[name] = value
            sources[name] = "STAND-IN"
        return env, sources

    # -- running ------------------------------------------------------------------------------------------------

    def run_job(self) -> None:
        wf_env = self.evaluate_env(self.workflow.get("env"), {})
        job_env = self.evaluate_env(self.job.get("env"), wf_env)
        self.global_env = {**wf_env, **job_env}
        self.env_source = {**{k: "workflow env" for k in wf_env}, **{k: "job env" for k in job_env}}
        if self.job.get("needs"):
            log(f"warning: job {self.job_id} needs {self.job['needs']}: those jobs are not run here and their "
                "outputs and artifacts do not exist (the rehearsal is made for the build job)")
        job_if = self.job.get("if")
        if job_if is not None and not self.evaluator(self.global_env).condition(job_if):
            log(f"job {self.job_id} skipped: if: {job_if}")
            return
        timeout = float(self.evaluator(self.global_env).interpolate(self.job.get("timeout-minutes", 360))) * 60
        self.deadline = time.monotonic() + timeout
        for number, step in enumerate(self.job.get("steps", []), start=1):
            self.run_step(number, step)

    def defaults(self, key: str) -> Any:
        for scope in (self.job, self.workflow):
            value = ((scope.get("defaults") or {}).get("run") or {}).get(key)
            if value is not None:
                return value
        return None

    def run_step(self, number: int, step: dict) -> None:
        ev = self.evaluator(self.global_env)
        if "uses" in step:
            kind, default_name = "uses", f"Run {step['uses']}"
        else:
            kind, default_name = "run", "Run " + str(step.get("run", "")).strip().split("\n")[0]
        name = ev.interpolate(step.get("name", default_name))
        step_id = step.get("id")
        cond = step.get("if")
        go = ev.condition(cond)
        header = f"step {number}: {name}"
        log("")
        log(f"=== {header}  [{kind}{': ' + step['uses'] if kind == 'uses' else ''}]")
        log(f"    if: {cond if cond is not None else '(none: success())'} -> {'run' if go else 'skip'}")
        result = StepResult(number, name, kind, "skipped", "skipped")
        if not go:
            self.record(step_id, result)
            return
        continue_on_error = ev.interpolate(step.get("continue-on-error", False)).strip().lower() == "true"
        start = time.monotonic()
        try:
            if kind == "uses":
                run_action(self, step, result)
            else:
                run_script(self, number, step, result)
        except StepFailed as e:
            log(f"    step failed: {e}")
            result.outcome = "failure"
            result.notes.append(str(e))
        except Cancelled as e:
            result.outcome = "cancelled"
            result.notes.append(str(e))
            self.status.cancelled = True
        result.seconds = time.monotonic() - start
        if result.outcome in ("success", "dry-run"):
            result.conclusion = "success"
        elif result.outcome == "not-rehearsed":
            result.conclusion = "skipped"
        elif result.outcome == "failure":
            result.conclusion = "success" if continue_on_error else "failure"
            if continue_on_error:
                result.notes.append("continue-on-error: the job goes on")
        else:
            result.conclusion = result.outcome
        if result.conclusion == "failure":
            self.status.failed = True
        log(f"=== {header}: {result.outcome} in {result.seconds:.1f} s")
        self.record(step_id, result)

    def record(self, step_id: str | None, result: StepResult) -> None:
        self.results.append(result)
        if step_id:
            entry = self.steps_ctx.setdefault(step_id, {"outputs": {}})
            # a step the rehearsal did not run is `skipped` to later expressions: nothing claims it succeeded
            outcome = "success" if result.outcome == "dry-run" else result.outcome
            entry["outcome"] = "skipped" if outcome == "not-rehearsed" else outcome
            entry["conclusion"] = result.conclusion

    def set_output(self, step: dict, name: str, value: str) -> None:
        if step.get("id"):
            self.steps_ctx.setdefault(step["id"], {"outputs": {}})["outputs"][name] = value

    def remember_sysroot_cache(self, value: str) -> None:
        state = read_state(self.state_path)
        dirs = state.setdefault("sysroot_cache_dirs", [])
        if value not in dirs:
            dirs.append(value)
        if not self.dry:
            write_state(self.state_path, state)

    def summary(self, wall: float) -> int:
        return print_summary(self, wall)
