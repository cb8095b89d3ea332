"""The soak's invariant, from what the table, the rejects queue and the DynamoDB proxy hold at the end.

Every item is analyzed exactly once (exactly one UpdateItem for its key answered 200 by the table, counted in the
proxy in front of it, and the analyzed_at stored is the one that write carried: never overwritten), or dead-lettered
with a reason. Nothing lost, nothing written twice. Poison records must be dead-lettered, each with the reason its
defect calls for; a good item must never be.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tools.soak.scenario import Key, Poison
from tools.testing.flaky_proxy import SeenRequest

UPDATE_ITEM = "DynamoDB_20120810.UpdateItem"


@dataclass
class Verdict:
    items: int
    analyzed: int  # items analyzed by exactly one successful write, analyzed_at as written
    dead_lettered: int  # poison records found in the rejects queue with the expected reason
    poison: int
    lost: list[Key] = field(default_factory=list)  # neither analyzed nor dead-lettered
    double_written: list[Key] = field(default_factory=list)  # more than one successful write
    overwritten: list[Key] = field(default_factory=list)  # analyzed_at is not the one the successful write set
    poison_missing: list[str] = field(default_factory=list)  # poison message ids with no fitting dead letter
    good_dead_lettered: list[Key] = field(default_factory=list)  # good items in the rejects queue
    letters: int = 0  # messages in the rejects queue (duplicate deliveries of a poison record add letters)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.double_written or self.overwritten or self.poison_missing
                    or self.good_dead_lettered)


def successful_writes(seen: list[SeenRequest]) -> dict[Key, list[str]]:
    """Per key, the analyzed_at of each UpdateItem the table answered 200."""
    writes: dict[Key, list[str]] = defaultdict(list)
    for request in seen:
        if request.target == UPDATE_ITEM and request.status == 200:
            body = json.loads(request.body)
            key = (body["Key"]["source_id"]["S"], body["Key"]["timestamp"]["S"])
            writes[key].append(body["ExpressionAttributeValues"][":at"]["S"])
    return writes


def check(keys: list[Key], poison: list[Poison], table: dict[Key, dict[str, Any]], letters: list[dict[str, Any]],
          seen: list[SeenRequest]) -> Verdict:
    """KEYS: the good items; TABLE: the table scanned at the end, by key; LETTERS: the rejects queue drained."""
    writes = successful_writes(seen)
    verdict = Verdict(items=len(keys), analyzed=0, dead_lettered=0, poison=len(poison), letters=len(letters))
    for key in keys:
        row, written = table.get(key) or {}, writes.get(key, [])
        if len(written) > 1:
            verdict.double_written.append(key)
        elif row.get("status") != "analyzed" or not written:
            verdict.lost.append(key)
        elif row.get("analyzed_at") != written[0]:
            verdict.overwritten.append(key)
        else:
            verdict.analyzed += 1
        if any(key[0] in letter["raw"] for letter in letters):
            verdict.good_dead_lettered.append(key)
    for record in poison:
        fitting = [letter for letter in letters if record.message_id in letter["raw"]
                   and record.reason in letter["reason"]]
        if fitting:
            verdict.dead_lettered += 1
        else:
            verdict.poison_missing.append(record.message_id)
    return verdict
