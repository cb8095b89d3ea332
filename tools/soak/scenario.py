"""What a soak publishes, decided up front from a seed: items, poison records, duplicates, twins, and their order.

* Each item goes to SNS (one invocation per message) or to the SNS -> SQS buffer queue (batches).
* Order: shuffled, so items arrive out of timestamp order; a duplicate comes again later, on the same path with the
  same SNS message id (SNS delivering one message twice; through SQS it is a second queue message).
* Twins: an SNS message delivered to two execution environments at the same moment.
* Poison: the sets of tools.testing.events.poison_messages, each with a message id that names it, so its dead letter
  can be found: the id is in the letter's raw record whichever path it took.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from tools.testing.events import make_item, poison_messages
from tools.testing.tiny_model import NEGATIVE_WORDS, NEUTRAL_WORDS, POSITIVE_WORDS

Key = tuple[str, str]  # (source_id, timestamp): the table's key


@dataclass(frozen=True)
class Message:
    body: Any  # an item, or a poison message (item-like dict or raw text)
    message_id: str  # the SNS message id: the same for both deliveries of a duplicate
    path: str  # "sns" | "sqs"
    key: Key | None = None  # the item's key; None for poison
    twin: bool = False  # delivered to two environments at once


@dataclass(frozen=True)
class Poison:
    message_id: str
    name: str  # what is wrong with it (events.poison_messages)
    reason: str  # a fragment its rejection reason must contain


@dataclass
class Plan:
    items: list[dict[str, Any]]  # to seed as pending
    messages: list[Message]  # in publish order
    poison: list[Poison] = field(default_factory=list)
    once: set[Key] = field(default_factory=set)  # items delivered exactly once (no duplicate, no twin)

    @property
    def keys(self) -> list[Key]:
        return [(item["source_id"], item["timestamp"]) for item in self.items]


def text(rng: random.Random) -> str:
    words = POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS
    return " ".join(rng.choice(words) for _ in range(rng.randint(4, 16)))


def plan(items: int, *, seed: int, first: int = 0, sqs_share: float = 0.5, duplicate_share: float = 0.0,
         twins: int = 0, poison_sets: int = 0, version: str = "v1.0.0") -> Plan:
    """ITEMS items numbered from FIRST (make_item numbers: plans with separate ranges never share a key)."""
    rng = random.Random(seed)
    made = [make_item(first + n, text(rng), model_version=version) for n in range(items)]
    messages = [Message(item, f"item-{first + n}", "sqs" if rng.random() < sqs_share else "sns",
                        (item["source_id"], item["timestamp"])) for n, item in enumerate(made)]
    rng.shuffle(messages)
    sns = [n for n, m in enumerate(messages) if m.path == "sns"]
    for n in rng.sample(sns, min(twins, len(sns))):
        messages[n] = replace(messages[n], twin=True)
    repeated = rng.sample([m for m in messages if not m.twin], int(duplicate_share * items))
    for message in repeated:  # somewhere after the first delivery
        messages.insert(rng.randint(messages.index(message) + 1, len(messages)), message)
    poison = []
    for k in range(poison_sets):
        for name, (body, reason) in poison_messages(k).items():
            message_id = f"poison-{k}-{name.replace(' ', '-')}"
            poison.append(Poison(message_id, name, reason))
            messages.insert(rng.randint(0, len(messages)), Message(body, message_id, rng.choice(["sns", "sqs"])))
    again = {m.key for m in repeated} | {m.key for m in messages if m.twin}
    return Plan(made, messages, poison, {m.key for m in messages if m.key is not None} - again)
