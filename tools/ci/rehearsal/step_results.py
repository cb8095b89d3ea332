"""How a step ended, as the job runner, the actions and the summary share it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepResult:
    number: int
    name: str
    kind: str
    outcome: str  # success | failure | skipped | not-rehearsed | dry-run
    conclusion: str
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class StepFailed(Exception):
    """The step fails; its continue-on-error decides whether the job does."""


class Cancelled(Exception):
    """The run is cancelled (the job's timeout or Ctrl-C): from here on only always() and cancelled() steps run."""
