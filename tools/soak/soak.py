"""A soak of the real image under faults: several execution environments, one moto, one registry.

    result = run(image_layout, model_tarball, workdir, FULL, progress=print)   # or SHORT: the test's size
    result.verdict.ok, result.figures()

Two containers of the image (more with Size.environments), each under runc behind its own Runtime API emulator,
over one Services (tools/local). Their DynamoDB and S3 traffic goes through flaky proxies in front of moto (SQS,
for the rejects queue, goes straight to moto). The model is the tiny one (tools/testing/tiny_model.py): inference
costs next to nothing, so the figures measure the pipeline (delivery, parsing, writes, retries), not the model.

Phase 1, under faults: the plan (scenario.py: SNS single-record invocations and SQS batches, duplicates, out of order,
twins to two environments at once, poison records) while faults.py injects DynamoDB throttling and 500s, S3 errors and
a truncated model download at the cold starts, a burst of throttles that outlasts botocore's retries, and one
container SIGKILLed mid-batch (driver.py), then replaced behind the same emulator (its batch comes again from SQS).
Phase 2, the baseline: more items through the same, now warm, environments with no faults, for comparison.
Then the invariant (invariant.py) over everything both phases delivered.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.local.delivery import SnsTopic
from tools.local.environment import ExecutionEnvironment
from tools.local.services import TABLE, Services
from tools.soak import figures, invariant, scenario
from tools.soak.driver import Driver, Kill, Run
from tools.soak.faults import Faults
from tools.testing.flaky_proxy import FlakyProxy
from tools.testing.moto_server import drain_queue, scan_items


@dataclass(frozen=True)
class Size:
    items: int  # under faults
    baseline_items: int  # afterwards, no faults
    environments: int = 2
    duplicate_share: float = 0.05
    twins: int = 10
    poison_sets: int = 2
    deadline_s: float = 900  # per phase: past it, whatever is not done counts as lost
    seed: int = 7


SHORT = Size(items=300, baseline_items=100, twins=4, poison_sets=1, deadline_s=150)
FULL = Size(items=5000, baseline_items=1000, twins=20, poison_sets=3, deadline_s=1800)


@dataclass
class Result:
    size: Size
    sent: dict[str, int]
    verdict: invariant.Verdict
    under_faults: Run
    baseline: Run
    faults: dict[str, int]
    redeliveries: dict[str, int]
    kill: Kill
    environments: list[ExecutionEnvironment]
    reference: str

    def killed_call(self):
        return next((c for c in self.under_faults.calls if c.result.request_id == self.kill.request_id), None)

    def twin_pairs(self) -> list[list[dict[str, Any]]]:
        """The summaries of each twin pair's two invocations (both environments, same message)."""
        pairs: dict[str, list[dict[str, Any]]] = {}
        for call in self.under_faults.calls:
            if call.twin:
                pairs.setdefault(call.message_id, []).append(call.summary)
        return list(pairs.values())

    def figures(self) -> dict[str, Any]:
        killed = self.killed_call()
        return {
            "size": dataclasses.asdict(self.size), "image": self.reference, "sent": self.sent,
            "invariant": {"ok": self.verdict.ok, **{k: v if isinstance(v, int) else len(v)
                                                    for k, v in dataclasses.asdict(self.verdict).items()}},
            "under_faults": figures.phase(self.under_faults, self.environments),
            "baseline": figures.phase(self.baseline, self.environments),
            "faults_injected": self.faults, "redeliveries": self.redeliveries,
            "kill": {**dataclasses.asdict(self.kill),
                     "killed_invocation_status": killed.result.record.status if killed else None},
            "twins": {"pairs": len(self.twin_pairs()), "one_analyzed_one_duplicate": sum(
                1 for pair in self.twin_pairs() if sorted(s.get("analyzed", 0) for s in pair) == [0, 1]
                and sum(s.get("duplicates", 0) for s in pair) == 1)},
            "peak_memory": figures.memory(self.environments),
        }


def run(image_layout: Path, model_tarball: Path, workdir: Path, size: Size, progress=lambda message: None) -> Result:
    """MODEL_TARBALL: the tiny model (//tools/testing:tiny_model_tarball); see the module docstring."""
    faulted = scenario.plan(size.items, seed=size.seed, duplicate_share=size.duplicate_share, twins=size.twins,
                            poison_sets=size.poison_sets)
    clean = scenario.plan(size.baseline_items, seed=size.seed + 1, first=size.items)
    with contextlib.ExitStack() as stack:
        services = stack.enter_context(Services(image_layout, workdir / "stack", model_tarball, progress=progress))
        dynamodb = stack.enter_context(FlakyProxy(services.moto.endpoint))
        s3 = stack.enter_context(FlakyProxy(services.moto.endpoint))
        through_proxies = {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint, "AWS_ENDPOINT_URL_S3": s3.endpoint}
        environments = [stack.enter_context(ExecutionEnvironment(
            services, f"env{n}", timeout_s=60, progress=progress, extra_env=through_proxies))
            for n in range(size.environments)]
        services.seed(faulted.items + clean.items)
        progress(f"seeded {len(faulted.items) + len(clean.items)} pending items")

        faults = Faults(dynamodb, s3, seed=size.seed)
        faults.steady()
        faults.model_fetch()
        topic = SnsTopic()
        driver = Driver(environments, topic, services.buffer, faults, once=faulted.once, progress=progress)
        # env0's batches are about a quarter of the SQS-bound messages / batch size: kill it two fifths in.
        kill = Kill(environments[0].name, after_batches=max(1, len(faulted.messages) // 100))
        progress(f"phase 1, under faults: {len(faulted.messages)} messages")
        # About half the messages go through SQS, ten to an invocation: some 0.55 invocations a message.
        under_faults = driver.run(faulted.messages, deadline_s=size.deadline_s, kill=kill,
                                  burst_after=len(faulted.messages) // 3)
        faults.stop()
        progress(f"phase 2, baseline without faults: {len(clean.messages)} messages")
        baseline = driver.run(clean.messages, deadline_s=size.deadline_s)

        table = scan_items(services.moto, TABLE)
        letters = services.rejects()
        parked = drain_queue(services.moto, services.buffer.dlq_url)
        verdict = invariant.check(faulted.keys + clean.keys, faulted.poison, table, letters, dynamodb.seen)
        return Result(
            size=size, reference=services.reference, verdict=verdict, under_faults=under_faults, baseline=baseline,
            faults=faults.tally(), kill=kill, environments=environments,
            sent={"items": len(faulted.items) + len(clean.items), "poison": len(faulted.poison),
                  "messages": len(faulted.messages) + len(clean.messages),
                  "duplicate_deliveries": len(faulted.messages) - len(faulted.items) - len(faulted.poison),
                  "twins": size.twins},
            redeliveries={"sns_retries": topic.retried, "sns_on_failure": len(topic.on_failure),
                          "sqs_redelivered": services.buffer.redelivered, "sqs_dlq": len(parked)},
        )
