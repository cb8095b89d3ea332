"""The invariant's verdicts on made-up ends of a run: each way of breaking it is named."""

import json

from tools.soak.invariant import UPDATE_ITEM, check
from tools.soak.scenario import Poison
from tools.testing.flaky_proxy import SeenRequest

A, B = ("newsapi#a", "2025-01-15T10:00:00.000Z"), ("newsapi#b", "2025-01-15T10:00:01.000Z")
POISON = Poison("poison-0-empty-text", "empty text", "text_for_analysis")
LETTER = {"reason": "Records[0].Sns.Message.text_for_analysis: must not be empty",
          "raw": json.dumps({"Sns": {"MessageId": POISON.message_id}})}


def write(key, at, status=200, injected=False):
    body = {"Key": {"source_id": {"S": key[0]}, "timestamp": {"S": key[1]}},
            "ExpressionAttributeValues": {":at": {"S": at}}}
    return SeenRequest("POST", "/", UPDATE_ITEM, json.dumps(body).encode(), injected, status=status)


def row(at):
    return {"status": "analyzed", "analyzed_at": at}


def test_one_write_each_and_the_poison_dead_lettered_is_ok():
    # A throttled attempt (no status) and a conditional-check failure (400) are not writes.
    seen = [write(A, "t0", status=None, injected=True), write(A, "t1"), write(B, "t2"), write(B, "t3", status=400)]
    verdict = check([A, B], [POISON], {A: row("t1"), B: row("t2")}, [LETTER], seen)
    assert verdict.ok and verdict.analyzed == 2 and verdict.dead_lettered == 1


def test_two_successful_writes_of_one_key_are_a_double_write():
    verdict = check([A], [], {A: row("t2")}, [], [write(A, "t1"), write(A, "t2")])
    assert not verdict.ok and verdict.double_written == [A]


def test_an_item_still_pending_is_lost():
    verdict = check([A, B], [], {A: row("t1"), B: {"status": "pending"}}, [], [write(A, "t1")])
    assert not verdict.ok and verdict.lost == [B]


def test_an_analyzed_at_other_than_the_writes_is_an_overwrite():
    verdict = check([A], [], {A: row("t9")}, [], [write(A, "t1")])
    assert not verdict.ok and verdict.overwritten == [A]


def test_a_poison_record_without_a_fitting_dead_letter_is_missing():
    wrong_reason = {**LETTER, "reason": "something else"}
    verdict = check([], [POISON], {}, [wrong_reason], [])
    assert not verdict.ok and verdict.poison_missing == [POISON.message_id]


def test_a_good_item_in_the_rejects_queue_is_reported():
    letter = {"reason": "source_id/timestamp: no item", "raw": json.dumps({"source_id": A[0]})}
    verdict = check([A], [], {A: row("t1")}, [letter], [write(A, "t1")])
    assert not verdict.ok and verdict.good_dead_lettered == [A]
