"""A uses: step: actions/checkout is the clone made before the job, actions/cache/restore and actions/cache/save are
emulated (cache_actions.py), and any other action is skipped and marked not rehearsed, never counted a success."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from .console import log
from .step_results import StepResult

if TYPE_CHECKING:  # only for the annotation: job.py imports this module
    from .job import Rehearsal


def action_name(uses: str) -> str:
    return uses.split("@", 1)[0].strip().lower()


def run_action(job: Rehearsal, step: dict, result: StepResult) -> None:
    env, _ = job.step_env(step, {})
    ev = job.evaluator(env)
    inputs = {str(k): ev.interpolate(v) for k, v in (step.get("with") or {}).items()}
    for key, value in inputs.items():
        log(f"    with.{key}: {value!r}")
    name = action_name(step["uses"])
    if name == "actions/checkout":
        result.outcome = "success"
        result.notes.append(f"done before the job: {job.commit[:12]} cloned into $GITHUB_WORKSPACE (depth 1)")
        log(f"    {result.notes[-1]}")
    elif name == "actions/cache/restore":
        job.cache.restore(inputs, result, partial(job.set_output, step))
    elif name == "actions/cache/save":
        job.cache.save(inputs, result)
    else:
        result.outcome = "not-rehearsed"
        result.notes.append("NOT REHEARSED: only actions/checkout and actions/cache/{restore,save} are emulated")
        log(f"    {result.notes[-1]}")
