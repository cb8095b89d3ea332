"""Delivers a soak's messages to several execution environments at once, as Lambda's event sources do.

One worker thread per environment, as each execution environment takes one event at a time: in turn it takes an SNS
invocation (SnsTopic: one record, retried when it fails) or polls the buffer queue for a batch (SqsEventSource), and
invokes its environment. A publisher thread feeds the messages in order while keeping the backlog bounded, so the run
is a stream: a duplicate arrives after its first delivery was handled, and the queue's batches fill as under load.
Twins reach two environments at the same moment (a barrier). The kill: when the victim's worker takes an SQS batch
past the chosen point, one record's write is held in the DynamoDB proxy and, as soon as the function sends it, the
container gets SIGKILL; the batch was not deleted, so SQS delivers it again after its visibility timeout.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.lambda_emulator import InvokeResult
from tools.local.delivery import SnsDelivery, SnsTopic
from tools.local.environment import ExecutionEnvironment
from tools.local.sqs_source import SqsBatch, SqsEventSource
from tools.soak.faults import Faults
from tools.soak.scenario import Key, Message

BACKLOG = 300  # messages published but not yet handled, at most (the publisher waits)
TWIN_WAIT_S = 120  # how long one twin waits for the other environment to be free


@dataclass
class Call:
    """One invocation."""

    environment: str
    path: str  # "sns" | "sqs"
    records: int
    twin: bool
    result: InvokeResult
    message_id: str | None = None  # SNS: the message's id

    @property
    def summary(self) -> dict[str, Any]:
        return self.result.json() if self.result.ok else {}


@dataclass
class Kill:
    """SIGKILL to ENVIRONMENT's container in the middle of its SQS batch number AFTER_BATCHES + 1."""

    environment: str
    after_batches: int
    hold_s: float = 3.0  # how long the held write waits in the proxy (the kill comes as it arrives)
    held: str | None = None  # the source_id whose write was held
    container_id: str | None = None  # the container killed
    request_id: str | None = None  # the invocation it was running


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    seconds: float = 0.0
    timed_out: bool = False


def _source_id(record: dict[str, Any]) -> str | None:
    """The item's source_id in an SQS record (SNS envelope in the body), None for what is not an item."""
    try:
        return json.loads(json.loads(record["body"])["Message"])["source_id"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


class Driver:
    def __init__(self, environments: list[ExecutionEnvironment], topic: SnsTopic, source: SqsEventSource,
                 faults: Faults, *, once: set[Key], progress: Callable[[str], None] = lambda message: None):
        """ONCE: the items delivered exactly once, the ones whose write may be held for a kill."""
        self.environments, self.topic, self.source, self.faults = environments, topic, source, faults
        self.once = {source_id for source_id, _ in once}
        self.progress = progress

    def run(self, messages: list[Message], *, deadline_s: float, kill: Kill | None = None,
            burst_after: int | None = None) -> Run:
        """Publishes MESSAGES and delivers until nothing is outstanding or DEADLINE_S has passed. BURST_AFTER: the
        number of invocations after which a burst of throttles starts."""
        self._run, self._kill, self._lock, self._burst_after = Run(), kill, threading.Lock(), burst_after
        self._stop, self._published = threading.Event(), threading.Event()
        self._twins: list[queue.Queue] = [queue.Queue() for _ in self.environments]
        self._batches = [0] * len(self.environments)
        started = time.monotonic()
        threads = [threading.Thread(target=self._publish, args=(messages,), name="publisher", daemon=True)]
        threads += [threading.Thread(target=self._work, args=(n,), name=f"worker-{env.name}", daemon=True)
                    for n, env in enumerate(self.environments)]
        for thread in threads:
            thread.start()
        for thread in threads[1:]:
            thread.join(max(0.0, deadline_s - (time.monotonic() - started)))
        if any(thread.is_alive() for thread in threads):
            self._run.timed_out = True
            self._stop.set()  # workers finish the invocation in hand
            for thread in threads:
                thread.join()
        self._run.seconds = time.monotonic() - started
        return self._run

    # --- the publisher ---
    def _publish(self, messages: list[Message]) -> None:
        pending: list[tuple[Any, str]] = []
        for n, message in enumerate(messages):
            if self._stop.is_set():
                return
            if n % 25 == 0:
                while self._backlog() > BACKLOG and not self._stop.is_set():
                    time.sleep(0.05)
            if message.path == "sqs":
                pending.append((message.body, message.message_id))
                if len(pending) == 10:
                    self.source.send(pending)
                    pending = []
            elif message.twin:
                barrier = threading.Barrier(2)
                for twins in self._twins[:2]:
                    twins.put((self.topic.take(message.body, message.message_id), barrier))
            else:
                self.topic.publish(message.body, message.message_id)
        self.source.send(pending)
        self._published.set()

    def _backlog(self) -> int:
        return self.topic.outstanding + self.source.outstanding() + sum(t.qsize() for t in self._twins)

    def _finished(self) -> bool:
        return (self._published.is_set() and not self.topic.outstanding
                and not any(t.qsize() for t in self._twins) and not self.source.outstanding())

    # --- the workers ---
    def _work(self, index: int) -> None:
        env, sns_first = self.environments[index], index % 2 == 0
        while not self._stop.is_set():
            try:
                delivery, barrier = self._twins[index].get_nowait()
            except queue.Empty:
                pass
            else:
                try:
                    barrier.wait(TWIN_WAIT_S)  # both environments invoke together
                except threading.BrokenBarrierError:
                    pass
                self._sns(env, delivery, twin=True)
                continue
            sns_first = not sns_first
            for path in (("sns", "sqs") if sns_first else ("sqs", "sns")):
                if path == "sns" and (delivery := self.topic.next()) is not None:
                    self._sns(env, delivery)
                    break
                if path == "sqs" and (batch := self.source.poll()) is not None:
                    self._sqs(index, env, batch)
                    break
            else:
                if self._finished():
                    return
                time.sleep(0.05)

    def _sns(self, env: ExecutionEnvironment, delivery: SnsDelivery, twin: bool = False) -> None:
        result = env.invoke(delivery.event)
        self.topic.settle(delivery, result)
        self._record(Call(env.name, "sns", 1, twin, result, delivery.message_id))

    def _sqs(self, index: int, env: ExecutionEnvironment, batch: SqsBatch) -> None:
        kill = self._kill
        if kill is not None and kill.environment == env.name and kill.held is None \
                and self._batches[index] >= kill.after_batches:
            self._arm_kill(env, batch, kill)
        self._batches[index] += 1
        result = env.invoke(batch.event)
        self.source.settle(batch, result)
        self._record(Call(env.name, "sqs", len(batch.receipts), False, result))
        if kill is not None and kill.held is not None and kill.request_id is None and kill.environment == env.name:
            kill.request_id = result.request_id

    def _arm_kill(self, env: ExecutionEnvironment, batch: SqsBatch, kill: Kill) -> None:
        """Holds the write of a record past the batch's first two, and kills the container when it arrives."""
        candidates = [s for s in map(_source_id, batch.event["Records"][2:]) if s in self.once]
        if not candidates:
            return  # the next batch, then
        kill.held = candidates[0]
        rule = self.faults.hold(kill.held, kill.hold_s)
        self.faults.model_fetch()  # the replacement's cold start fetches the model through faults too
        self.progress(f"{env.name}: holding the write of {kill.held}; SIGKILL when it arrives")

        def kill_when_held() -> None:
            deadline = time.monotonic() + 120
            while not rule.hits and time.monotonic() < deadline and not self._stop.is_set():
                time.sleep(0.005)
            if rule.hits:
                kill.container_id = env.kill()
                self.progress(f"{env.name}: SIGKILL to container {kill.container_id} mid-batch")

        threading.Thread(target=kill_when_held, name="killer", daemon=True).start()

    def _record(self, call: Call) -> None:
        with self._lock:
            self._run.calls.append(call)
            burst = len(self._run.calls) == self._burst_after
        if burst:
            self.progress(f"burst of throttles after {self._burst_after} invocations")
            self.faults.throttle_burst()
