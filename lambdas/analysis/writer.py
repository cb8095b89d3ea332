"""Conditional DynamoDB update: pending -> analyzed, exactly once.

SNS and SQS deliver at least once, so the same item can arrive twice. The
update is conditioned on ``status = pending``; a failed condition means
another delivery already wrote the result (or the item was never pending),
which is a duplicate, not an error. ``ReturnValuesOnConditionCheckFailure``
tells us whether the item exists at all, so a missing item is reported
distinctly instead of being mistaken for a duplicate.

Throttling and 5xx are retried by botocore (retry mode/attempts from
settings); whatever still fails is returned as FAILED for the caller to
report for retry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.analysis.sentiment import Prediction
from lambdas.shared.clock import utc_now_iso
from lambdas.shared.events import AnalysisItem

SCORE_QUANTUM = Decimal("0.000001")  # 6 decimal places
STATUS_PENDING = "pending"
STATUS_ANALYZED = "analyzed"


class WriteStatus(enum.Enum):
    ANALYZED = "analyzed"
    DUPLICATE = "duplicate"  # exists but no longer pending
    MISSING = "missing"  # no item with this key: nothing to update
    FAILED = "failed"  # transient/unknown error after retries


@dataclass(frozen=True)
class WriteResult:
    status: WriteStatus
    detail: str = ""


def score_decimal(score: float) -> Decimal:
    return Decimal(repr(score)).quantize(SCORE_QUANTUM, rounding=ROUND_HALF_EVEN)


def write_result(ddb: Any, table: str, item: AnalysisItem, prediction: Prediction, model_version: str,
                 analyzed_at: str | None = None) -> WriteResult:
    try:
        ddb.update_item(
            TableName=table,
            Key={"source_id": {"S": item.source_id}, "timestamp": {"S": item.timestamp}},
            UpdateExpression=("SET sentiment = :sentiment, score = :score, model_version = :mv, "
                              "#status = :analyzed, analyzed_at = :at"),
            ConditionExpression="#status = :pending",
            # "status" is a DynamoDB reserved word.
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":sentiment": {"S": prediction.label},
                ":score": {"N": str(score_decimal(prediction.score))},
                ":mv": {"S": model_version},
                ":analyzed": {"S": STATUS_ANALYZED},
                ":pending": {"S": STATUS_PENDING},
                ":at": {"S": analyzed_at or utc_now_iso()},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return WriteResult(WriteStatus.ANALYZED)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        if code == "ConditionalCheckFailedException":
            old = exc.response.get("Item")
            if not old:
                return WriteResult(WriteStatus.MISSING, f"no item with source_id={item.source_id!r}, "
                                                        f"timestamp={item.timestamp!r} in table {table}")
            status = old.get("status", {}).get("S", "<unset>")
            return WriteResult(WriteStatus.DUPLICATE, f"item status is {status!r}, not {STATUS_PENDING!r}")
        return WriteResult(WriteStatus.FAILED, f"UpdateItem failed: {code}: {error.get('Message', exc)}")
    except BotoCoreError as exc:
        return WriteResult(WriteStatus.FAILED, f"UpdateItem failed: {exc}")
