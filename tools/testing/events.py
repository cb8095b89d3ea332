"""Builders for realistic Lambda events (SNS, SQS, direct) and a fake context.

Shapes follow what Lambda actually delivers (all envelope fields present),
because the handler validates envelopes with Powertools' parser models.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:sentiment-items"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:sentiment-analysis"


def make_item(n: int = 0, text: str = "great product, I love it", *, model_version: str = "v1.0.0",
              source_type: str = "newsapi", tags: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    digest = hashlib.sha256(f"item-{n}".encode()).hexdigest()[:16]
    item = {
        "source_id": f"{source_type}#{digest}",
        "source_type": source_type,
        "text_for_analysis": text,
        "model_version": model_version,
        "matched_tags": ["ai"] if tags is None else tags,
        "timestamp": f"2025-01-15T10:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
    }
    item.update(overrides)
    return item


def sns_notification(message: str, message_id: str | None = None) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": TOPIC_ARN,
        "Subject": None,
        "Message": message,
        "Timestamp": "2025-01-15T10:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}:1",
        "MessageAttributes": {},
    }


def sns_record(message: Any, message_id: str | None = None) -> dict[str, Any]:
    """An SNS record; ``message`` is a dict (JSON-encoded) or a raw string."""
    body = message if isinstance(message, str) else json.dumps(message)
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC_ARN}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": sns_notification(body, message_id),
    }


def sns_event(*messages: Any) -> dict[str, Any]:
    """An event with one SNS record per message. SNS itself never sends more than one (it invokes once per message:
    tools/local/delivery.py); several are for direct invocations in unit tests."""
    return {"Records": [sns_record(m) for m in messages]}


def sns_to_sqs_body(message: Any, message_id: str | None = None) -> str:
    """The body an SNS -> SQS subscription without raw message delivery puts in the queue: the notification as JSON,
    with the URL keys spelt as SQS sees them."""
    note = sns_notification(message if isinstance(message, str) else json.dumps(message), message_id)
    note["SigningCertURL"] = note.pop("SigningCertUrl")
    note["UnsubscribeURL"] = note.pop("UnsubscribeUrl")
    return json.dumps(note)


def sqs_record(body: Any, *, wrap_sns: bool = False, message_id: str | None = None) -> dict[str, Any]:
    """An SQS record. ``wrap_sns`` puts the message in an SNS envelope, as an
    SNS->SQS subscription without raw delivery does (keys as SQS sees them)."""
    text = body if isinstance(body, str) else json.dumps(body)
    if wrap_sns:
        text = sns_to_sqs_body(text)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1736935200000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1736935200001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def sqs_event(*bodies: Any, wrap_sns: bool = False) -> dict[str, Any]:
    return {"Records": [sqs_record(b, wrap_sns=wrap_sns) for b in bodies]}


def direct_event(*items: Any) -> dict[str, Any]:
    return {"items": list(items)}


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the Lambda context object."""

    function_name: str = "sentiment-analysis"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sentiment-analysis"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/sentiment-analysis"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


POISON_BASE = 10**6  # make_item numbers of poison records: apart from any run's good items


def poison_messages(n: int = 0) -> dict[str, tuple[Any, str]]:
    """Messages the function must reject and dead-letter, by what is wrong with them: (message, a fragment of the
    reason it gives). N keeps the keys of several sets apart."""
    base = POISON_BASE + 3 * n
    return {
        "empty text": (make_item(base, ""), "text_for_analysis"),
        "JSON nested 5000 deep": ('{"a": ' * 5000 + "1" + "}" * 5000, "nested deeper"),
        "text not a string": ({**make_item(base + 1), "text_for_analysis": 12345}, "text_for_analysis"),
    }
