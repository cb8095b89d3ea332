"""SNS -> SQS -> Lambda locally: the buffer queue is a real queue in moto, and this is its event source mapping.

The mapping polls the queue and invokes the function with up to sqs_batch_size records; once it holds one record it
waits up to sqs_maximum_batching_window_in_seconds for more. With ReportBatchItemFailures it deletes what the function
handled and leaves the records named in batchItemFailures, or every record of a failed invocation (function error,
timeout, runtime killed), for SQS to deliver again once their visibility timeout ends. After sqs_max_receive_count
receives, moto moves a message to the DLQ, as SQS's redrive policy does. The body is what the topic's subscription puts
in the queue without raw message delivery (the module's default): the SNS notification as JSON.

The visibility timeout is the one thing not taken from the module: Terraform sets 6 x the function timeout + the
window (725 s by default), which would make a local redelivery wait twelve minutes; callers choose a short one that
still outlasts one invocation.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from tools.lambda_emulator import InvokeResult
from tools.local.module_defaults import MODULE_DEFAULTS
from tools.testing.events import sns_to_sqs_body
from tools.testing.moto_server import MotoServer

# As the Terraform module names them: <function>-buffer, <function>-dlq.
BUFFER_QUEUE, BUFFER_DLQ = "analysis-lambda-buffer", "analysis-lambda-dlq"
# What Lambda's SQS record carries of the message's attributes.
RECORD_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")


@dataclass(frozen=True)
class SqsBatch:
    event: dict[str, Any]  # {"Records": [...]}, as Lambda invokes with it
    receipts: dict[str, str]  # messageId -> receipt handle

    @property
    def message_ids(self) -> list[str]:
        return list(self.receipts)


class SqsEventSource:
    """The event source mapping of one queue (thread-safe: one poller per execution environment may share it)."""

    def __init__(self, moto: MotoServer, queue_url: str, dlq_url: str, *, visibility_s: int,
                 batch_size: int = MODULE_DEFAULTS["sqs_batch_size"],
                 window_s: float = MODULE_DEFAULTS["sqs_maximum_batching_window_in_seconds"], idle_s: float = 0.05):
        self.queue_url, self.dlq_url = queue_url, dlq_url
        self.batch_size, self.window_s, self.visibility_s, self.idle_s = batch_size, window_s, visibility_s, idle_s
        self._sqs = moto.client("sqs")
        self._region = moto.region
        self._arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.received = 0  # records handed to the function, redeliveries included
        self.redelivered = 0  # of those, records received before
        self.left_for_retry = 0  # records not deleted after an invocation (failed, or reported in batchItemFailures)
        self._lock = threading.Lock()

    @classmethod
    def create(cls, moto: MotoServer, *, visibility_s: int, name: str = BUFFER_QUEUE, dlq_name: str = BUFFER_DLQ,
               max_receive_count: int = MODULE_DEFAULTS["sqs_max_receive_count"], **options: Any) -> SqsEventSource:
        """Creates the queue and its DLQ in moto, with the module's redrive policy."""
        sqs = moto.client("sqs")
        dlq_url = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": str(visibility_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
        })["QueueUrl"]
        return cls(moto, queue_url, dlq_url, visibility_s=visibility_s, **options)

    # --- the topic's side ---
    def send(self, messages: list[tuple[Any, str | None]]) -> None:
        """Delivers (message, SNS message id or None) pairs to the queue as the topic's subscription does."""
        for start in range(0, len(messages), 10):  # SendMessageBatch takes ten
            entries = [{"Id": str(n), "MessageBody": sns_to_sqs_body(message, message_id)}
                       for n, (message, message_id) in enumerate(messages[start:start + 10])]
            failed = self._sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"SendMessageBatch failed: {failed}")

    # --- the mapping's side ---
    def poll(self) -> SqsBatch | None:
        """The next batch: up to batch_size records, or fewer once the window has passed; None when nothing is
        visible."""
        messages: list[dict[str, Any]] = []
        deadline: float | None = None
        while len(messages) < self.batch_size:
            got = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                VisibilityTimeout=self.visibility_s, WaitTimeSeconds=0, AttributeNames=["All"]).get("Messages", [])
            messages += got
            if not messages:
                return None
            if deadline is None:
                deadline = time.monotonic() + self.window_s
            if not got:
                if time.monotonic() >= deadline:
                    break
                time.sleep(self.idle_s)
        records = [self._record(m) for m in messages]
        with self._lock:
            self.received += len(records)
            self.redelivered += sum(int(r["attributes"]["ApproximateReceiveCount"]) > 1 for r in records)
        return SqsBatch({"Records": records}, {m["MessageId"]: m["ReceiptHandle"] for m in messages})

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": {k: attributes[k] for k in RECORD_ATTRIBUTES if k in attributes},
            "messageAttributes": {}, "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
            "eventSourceARN": self._arn, "awsRegion": self._region,
        }

    def settle(self, batch: SqsBatch, result: InvokeResult) -> list[str]:
        """Deletes what the function handled; returns the message ids left for SQS to deliver again."""
        retry = set(batch.receipts)
        if result.ok:
            named = {f.get("itemIdentifier") for f in (result.json() or {}).get("batchItemFailures", [])}
            # Lambda fails the whole batch when the response names a record that is not in it.
            retry = named if named <= set(batch.receipts) else retry
        done = [(message_id, receipt) for message_id, receipt in batch.receipts.items() if message_id not in retry]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": receipt} for n, (_, receipt) in enumerate(done[start:start + 10])])
        with self._lock:
            self.left_for_retry += len(retry)
        return sorted(retry)

    def outstanding(self) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return sum(int(v) for v in attributes.values())
