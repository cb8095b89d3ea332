"""Publishing at a steady rate while one execution environment drains, for figures that depend on arrival rate.

Publishing everything at once and then draining measures the backlog (the last item waits for all the others);
a steady rate below what the function sustains measures what one item waits for: its batch to fill (SQS window),
its invocation, its write. PacedPublisher sends from its own thread and records when each message went out;
drain_while() delivers through the local stack's drain() until the publisher has finished and nothing is left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tools.lambda_emulator import InvokeResult
from tools.local.delivery import Invocation, SnsTopic, drain
from tools.local.sqs_source import SqsEventSource


class PacedPublisher(threading.Thread):
    """Calls PUBLISH(message) for each of MESSAGES, the i-th at start + i / RATE seconds; sent_at[i] is when
    (CLOCK, epoch seconds by default: comparable with the analyzed_at the function writes). A slow publish delays
    only itself: the next message still goes out at its own due time (at once if that has passed)."""

    def __init__(self, publish: Callable[[Any], Any], messages: Sequence[Any], rate: float, *,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(name="paced-publisher", daemon=True)
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.publish, self.messages, self.rate = publish, list(messages), rate
        self.clock, self.monotonic, self.sleep = clock, monotonic, sleep
        self.sent_at: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        start = self.monotonic()
        try:
            for i, message in enumerate(self.messages):
                wait = start + i / self.rate - self.monotonic()
                if wait > 0:
                    self.sleep(wait)
                self.sent_at.append(self.clock())
                self.publish(message)
        except BaseException as error:  # noqa: BLE001 - reported by drain_while, not lost in a thread
            self.error = error


def drain_while(publisher: PacedPublisher, invoke: Callable[[dict[str, Any]], InvokeResult],
                topic: SnsTopic | None = None, source: SqsEventSource | None = None,
                idle_s: float = 0.05) -> list[Invocation]:
    """Starts PUBLISHER and delivers what it publishes to TOPIC / SOURCE through INVOKE (one environment, one
    invocation at a time) until it has finished and drain() finds nothing outstanding."""
    publisher.start()
    done: list[Invocation] = []
    while True:
        finished = not publisher.is_alive()  # read before draining: whatever it published by now gets drained
        done += drain(invoke, topic, source, idle_s=idle_s)
        if publisher.error is not None:
            raise RuntimeError("publishing failed") from publisher.error
        if finished:
            return done
        time.sleep(idle_s)
