"""Replay dead-lettered records from the rejects queue into the function, after the cause was fixed.

    tools/bazel run //tools/rejects:redrive -- --queue-url URL --function NAME [--endpoint-url URL] [--limit N]

Each message of the rejects queue (lambdas/shared/dead_letter.py) holds one record as it arrived. It is sent back in
the envelope it came in (SNS or SQS record, direct item) with a synchronous Invoke, and deleted from the queue once
the function has taken it: analysed, found already analysed (a duplicate: replaying is idempotent, as the write is
conditional on `pending`), or rejected again (then the function has dead-lettered it anew, with the new reason).
A message stays in the queue when the invocation fails or asks for the record to be retried, and when its raw record
was cut to fit the queue (it cannot be replayed as it was; the reason and record id say what to look for).
--endpoint-url points the Lambda client at a local Runtime API emulator (tools/lambda_emulator serves Invoke).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from lambdas.shared.clock import utc_now_iso

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def event_for(letter: dict[str, Any]) -> dict[str, Any]:
    """The event that delivers the dead-lettered record again, in the envelope it came in."""
    raw = json.loads(letter["raw"])
    if letter["event_kind"] in ("sns", "sqs"):
        return {"Records": [raw]}
    if letter["event_kind"] == "direct":
        return {"items": [raw]}
    return raw  # a whole event that was not understood: as it was


def outcome(response: dict[str, Any]) -> str:
    """What the function did with one replayed record, from its response."""
    if response.get("batchItemFailures") or response.get("failed") or response.get("undelivered"):
        return "retry"
    if response.get("analyzed"):
        return "analyzed"
    if response.get("duplicates"):
        return "duplicate"
    return "rejected again"


def redrive(sqs: Any, queue_url: str, invoke: Invoke, limit: int | None = None,
            report: Callable[[str], None] = print) -> Counter[str]:
    """Replays the letters that were in the queue when it started (at most `limit`); returns how many ended how
    (the keys of outcome(), plus "not replayable"). A record rejected again comes back as a new letter: it is
    left for the next run, not replayed in a loop."""
    started = utc_now_iso()  # the format the function stamps rejected_at with, so the two compare
    counts: Counter[str] = Counter()
    while limit is None or sum(counts.values()) < limit:
        # One at a time, hidden for longer than a synchronous invocation may take (Lambda's limit is 900 s), so
        # its receipt handle is still valid when the replay is done.
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=960,
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            break
        message = messages[0]
        letter = json.loads(message["Body"])
        if letter.get("rejected_at", "") >= started:  # written during this run: give it back and stop
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                          VisibilityTimeout=0)
            break
        name = f"{letter['event_kind']} record {letter['record_id']}"
        if letter.get("raw_truncated"):
            counts["not replayable"] += 1
            report(f"{name}: left in the queue, its raw record was cut to fit ({letter['reason']})")
            continue
        try:
            response = invoke(event_for(letter))
            result = outcome(response)
        except Exception as exc:  # noqa: BLE001 - reported, the message stays for the next run
            result, response = "retry", {"error": f"{type(exc).__name__}: {exc}"}
        counts[result] += 1
        if result == "retry":
            report(f"{name}: left in the queue, the function asked for a retry: {json.dumps(response)[:300]}")
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        report(f"{name}: {result} (was: {letter['reason']})")
    return counts


def lambda_invoker(function: str, endpoint_url: str | None) -> Invoke:
    import boto3

    client = boto3.client("lambda", endpoint_url=endpoint_url)

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{response['FunctionError']}: {json.dumps(payload)[:300]}")
        return payload if isinstance(payload, dict) else {}
    return invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", required=True, help="the rejects queue (Terraform output rejects_queue_url)")
    parser.add_argument("--function", required=True, help="the function's name or ARN")
    parser.add_argument("--endpoint-url", help="Lambda endpoint, e.g. a local emulator's http://127.0.0.1:PORT")
    parser.add_argument("--sqs-endpoint-url", help="SQS endpoint, e.g. a local moto server")
    parser.add_argument("--limit", type=int, help="replay at most this many messages")
    args = parser.parse_args(argv)

    import boto3

    counts = redrive(boto3.client("sqs", endpoint_url=args.sqs_endpoint_url), args.queue_url,
                     lambda_invoker(args.function, args.endpoint_url), args.limit)
    print("redrive: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) if counts else "redrive: queue empty")
    return 1 if counts["retry"] else 0


if __name__ == "__main__":
    sys.exit(main())
