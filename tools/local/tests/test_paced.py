"""PacedPublisher keeps its schedule (on a fake clock: no timing in the assertions) and drain_while() delivers what
it publishes, including what arrives after the queue was once empty."""

import json

import pytest

from tools.lambda_emulator import InvokeResult
from tools.local.delivery import SnsTopic
from tools.local.paced import PacedPublisher, drain_while


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_each_message_waits_for_its_own_due_time():
    clock, published = FakeClock(), []

    def publish(message):
        published.append((message, clock.now))
        clock.now += 0.1 if message == "b" else 0  # a slow publish: the next one is already due

    publisher = PacedPublisher(publish, ["a", "b", "c", "d"], rate=4, clock=clock.monotonic,
                               monotonic=clock.monotonic, sleep=clock.sleep)
    publisher.run()
    assert [m for m, _ in published] == ["a", "b", "c", "d"]
    assert [round(t - 100, 6) for _, t in published] == [0.0, 0.25, 0.5, 0.75]
    assert clock.sleeps == [0.25, 0.15, 0.25]
    assert publisher.sent_at == [t for _, t in published]


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        PacedPublisher(print, ["a"], rate=0)


def ok() -> InvokeResult:
    return InvokeResult("request", b"{}", "application/json", None, record=None)


def test_drain_while_delivers_everything_published_one_record_per_sns_invocation():
    topic, events = SnsTopic(), []
    publisher = PacedPublisher(lambda m: topic.publish(m), [{"n": n} for n in range(6)], rate=50)
    done = drain_while(publisher, lambda event: events.append(event) or ok(), topic=topic, idle_s=0.01)
    assert len(done) == 6 and all(inv.records == 1 for inv in done)
    assert [json.loads(e["Records"][0]["Sns"]["Message"])["n"] for e in events] == list(range(6))
    assert len(publisher.sent_at) == 6


def test_a_failing_publish_is_raised_not_lost():
    def publish(message):
        raise ConnectionError("topic gone")

    with pytest.raises(RuntimeError, match="publishing failed"):
        drain_while(PacedPublisher(publish, ["a"], rate=10), lambda event: ok(), topic=SnsTopic(), idle_s=0.01)
