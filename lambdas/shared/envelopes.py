"""What the function needs of an SNS record, an SQS record, and an SNS notification inside an SQS body: no more.

Powertools' parser models (SnsRecordModel, SqsRecordModel, SnsNotificationModel) describe everything AWS sends and
require all of it; a record without, say, EventSubscriptionArn or UnsubscribeUrl (hand-written test events, replay
tools) would be rejected for metadata this function never reads. These models require only what it uses and ignore
the rest, so both URL spellings of an SNS notification (Lambda's "UnsubscribeUrl", SQS's "UnsubscribeURL") pass.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_LIBERAL = ConfigDict(extra="ignore", frozen=True, strict=True)


class SnsMessage(BaseModel):
    """The ``Sns`` object of a Lambda SNS record."""

    model_config = _LIBERAL

    Message: str
    MessageId: str | None = None
    TopicArn: str | None = None


class SnsRecord(BaseModel):
    model_config = _LIBERAL

    Sns: SnsMessage


class SqsRecord(BaseModel):
    model_config = _LIBERAL

    body: str
    messageId: str = Field(min_length=1)  # the partial batch response names records by it
    eventSourceARN: str | None = None


class SnsNotification(BaseModel):
    """An SQS body written by an SNS subscription without raw message delivery."""

    model_config = _LIBERAL

    Type: Literal["Notification"]
    Message: str
    MessageId: str | None = None
    TopicArn: str | None = None
