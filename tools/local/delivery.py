"""How AWS hands events to the function, for the local stack, the e2e test and the soak.

* SNS -> Lambda: an asynchronous invocation per message, so **exactly one record per invocation**, many invocations
  at once. A failed invocation (function error, timeout, runtime exit) is retried async_maximum_retry_attempts
  times, then the event goes to the on-failure destination: SnsTopic.
* SNS -> SQS -> Lambda: only the event source mapping batches. It polls the buffer queue and invokes with up to
  sqs_batch_size records, waiting up to sqs_maximum_batching_window_in_seconds to fill a batch once it has one
  record: SqsEventSource (sqs_source.py), over a real queue in moto.

Multi-record SNS events are not something AWS sends; tools.testing.events.sns_event still builds them for direct
invocations in unit tests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tools.lambda_emulator import InvokeResult
from tools.local.module_defaults import MODULE_DEFAULTS
from tools.local.sqs_source import SqsEventSource
from tools.testing.events import sns_record


def sns_event(message: Any, message_id: str | None = None) -> dict[str, Any]:
    """What SNS invokes the function with: one record, whatever else is in flight."""
    return {"Records": [sns_record(message, message_id)]}


@dataclass
class SnsDelivery:
    message_id: str
    message: Any
    attempts: int = 0  # invocations so far
    due: float = 0.0  # time.monotonic() before which Lambda does not retry it

    @property
    def event(self) -> dict[str, Any]:
        return sns_event(self.message, self.message_id)


class SnsTopic:
    """SNS -> Lambda: every published message is its own asynchronous invocation, retried when it fails.

    Lambda waits about a minute, then two, between retries; RETRY_DELAY_S stands in for that locally. Safe to use
    from several threads (one per execution environment).
    """

    def __init__(self, retries: int = MODULE_DEFAULTS["async_maximum_retry_attempts"], retry_delay_s: float = 1.0):
        self.retries, self.retry_delay_s = retries, retry_delay_s
        self.on_failure: list[SnsDelivery] = []  # the on-failure destination: events that ran out of retries
        self.retried = 0
        self._queue: deque[SnsDelivery] = deque()
        self._in_flight = 0
        self._lock = threading.Lock()

    def publish(self, message: Any, message_id: str | None = None) -> str:
        """Publishes MESSAGE (an item dict or raw text); the same MESSAGE_ID again is SNS delivering it twice."""
        delivery = SnsDelivery(message_id or str(uuid.uuid4()), message)
        with self._lock:
            self._queue.append(delivery)
        return delivery.message_id

    def take(self, message: Any, message_id: str) -> SnsDelivery:
        """An invocation of MESSAGE starting now, outside the queue: SNS delivering one message to two execution
        environments at once is two of these. settle() it like any other."""
        with self._lock:
            self._in_flight += 1
        return SnsDelivery(message_id, message, attempts=1)

    def next(self) -> SnsDelivery | None:
        """The next invocation that is due, or None."""
        now = time.monotonic()
        with self._lock:
            for _ in range(len(self._queue)):
                delivery = self._queue.popleft()
                if delivery.due <= now:
                    delivery.attempts += 1
                    self._in_flight += 1
                    return delivery
                self._queue.append(delivery)  # a retry that is not due yet
        return None

    def settle(self, delivery: SnsDelivery, result: InvokeResult) -> bool:
        """Records the invocation's outcome; True when the event is done with (succeeded, or out of retries)."""
        with self._lock:
            self._in_flight -= 1
            if result.ok:
                return True
            if delivery.attempts > self.retries:
                self.on_failure.append(delivery)
                return True
            self.retried += 1
            delivery.due = time.monotonic() + self.retry_delay_s * delivery.attempts
            self._queue.append(delivery)
            return False

    @property
    def outstanding(self) -> int:
        """Events queued, waiting for a retry or in flight."""
        with self._lock:
            return len(self._queue) + self._in_flight


@dataclass(frozen=True)
class Invocation:
    kind: str  # "sns" | "sqs"
    records: int  # records in the event
    result: InvokeResult


def drain(invoke: Callable[[dict[str, Any]], InvokeResult], topic: SnsTopic | None = None,
          source: SqsEventSource | None = None, idle_s: float = 0.1) -> list[Invocation]:
    """Delivers everything published to TOPIC and sent to SOURCE through INVOKE, one invocation at a time, as one
    execution environment would see it, until nothing is outstanding (retries and redeliveries included)."""
    done: list[Invocation] = []
    while True:
        sns = topic.next() if topic is not None else None
        if sns is not None:
            result = invoke(sns.event)
            topic.settle(sns, result)
            done.append(Invocation("sns", 1, result))
            continue
        batch = source.poll() if source is not None else None
        if batch is not None:
            result = invoke(batch.event)
            source.settle(batch, result)
            done.append(Invocation("sqs", len(batch.receipts), result))
            continue
        if (topic is None or not topic.outstanding) and (source is None or not source.outstanding()):
            return done
        time.sleep(idle_s)  # a retry or a redelivery that is not due yet
