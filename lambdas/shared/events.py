"""Event parsing: SNS, SQS (SNS-wrapped or bare body) and direct invocations.

Parsing is per record: a malformed record becomes a :class:`Rejected` with a
reason that names the offending field, and never prevents the other records
of the same event from being processed. Envelopes are validated with
Powertools' parser models (``SnsRecordModel``, ``SqsRecordModel``,
``SnsNotificationModel``); the payload is our :class:`AnalysisItem`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser.models import (
    SnsNotificationModel,
    SnsRecordModel,
    SqsRecordModel,
)
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from lambdas.shared.validation import describe

EventKind = Literal["sns", "sqs", "direct", "unknown"]
ModelT = TypeVar("ModelT", bound=BaseModel)


def _utf8(value: str) -> str:
    # JSON can carry lone surrogates ("\udc80"): valid Python str, but not
    # encodable as UTF-8, so neither the tokenizer nor DynamoDB could use it.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at position {exc.start})") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or whitespace")
    return value


Utf8Str = Annotated[str, AfterValidator(_utf8)]
KeyStr = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_utf8), AfterValidator(_not_blank)]


class AnalysisItem(BaseModel):
    """One item to analyse, as published by the ingestion Lambda."""

    # strict: a number is not silently accepted where a string is expected.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, protected_namespaces=())

    source_id: KeyStr
    source_type: KeyStr
    text_for_analysis: Utf8Str
    model_version: KeyStr
    matched_tags: list[Utf8Str]
    timestamp: KeyStr

    @field_validator("text_for_analysis")
    @classmethod
    def _text(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("must not be empty or whitespace")
        limit = (info.context or {}).get("max_text_chars")
        if limit is not None and len(value) > limit:
            raise ValueError(f"too long ({len(value)} characters > limit {limit})")
        return value

    @field_validator("model_version")
    @classmethod
    def _version(cls, value: str, info: ValidationInfo) -> str:
        expected = (info.context or {}).get("model_version")
        if expected is not None and value != expected:
            raise ValueError(f"unknown model version {value!r} (this function serves {expected!r})")
        return value

    @field_validator("timestamp")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        # Kept verbatim (it is the DynamoDB sort key); only checked for ISO 8601.
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 timestamp: {value[:64]!r}") from None
        return value


@dataclass(frozen=True)
class Rejected:
    reason: str


@dataclass(frozen=True)
class ParsedRecord:
    record_id: str
    result: AnalysisItem | Rejected

    @property
    def item(self) -> AnalysisItem | None:
        return self.result if isinstance(self.result, AnalysisItem) else None


@dataclass(frozen=True)
class ParsedEvent:
    kind: EventKind
    records: list[ParsedRecord]


class _Reject(Exception):
    """Internal: abort parsing of one record with a field-naming reason."""


def _validated(model: type[ModelT], raw: Any, prefix: str, context: dict[str, Any] | None = None) -> ModelT:
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        raise _Reject(describe(exc, prefix, unnamed="record")) from None


def _json_object(raw: Any, field: str) -> dict[str, Any]:
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Reject(f"{field}: not valid UTF-8 (byte {exc.start})") from None
    if isinstance(raw, Mapping):
        return dict(raw)
    if not isinstance(raw, str):
        raise _Reject(f"{field}: expected a JSON object string, got {type(raw).__name__}")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise _Reject(f"{field}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise _Reject(f"{field}: expected a JSON object, got {type(value).__name__}")
    return value


class EventParser:
    """Turns a Lambda event into per-record items or rejections."""

    def __init__(self, *, model_version: str, max_text_chars: int) -> None:
        self._context = {"model_version": model_version, "max_text_chars": max_text_chars}

    def item(self, payload: dict[str, Any], prefix: str) -> AnalysisItem:
        return _validated(AnalysisItem, payload, prefix, self._context)

    def parse(self, event: Any) -> ParsedEvent:
        if not isinstance(event, Mapping):
            return ParsedEvent("unknown", [ParsedRecord(
                "event", Rejected(f"event: expected a JSON object, got {type(event).__name__}"))])
        if "Records" in event:
            return self._records(event["Records"])
        if "items" in event:
            return self._direct(event["items"])
        return ParsedEvent("unknown", [ParsedRecord(
            "event", Rejected("event: expected 'Records' (SNS/SQS) or 'items' (direct invocation)"))])

    # -- direct invocation: {"items": [item | json-string, ...]} ---------------
    def _direct(self, items: Any) -> ParsedEvent:
        if not isinstance(items, list):
            return ParsedEvent("direct", [ParsedRecord("items", Rejected(
                f"items: expected a list, got {type(items).__name__}"))])
        records = []
        for index, raw in enumerate(items):
            field = f"items[{index}]"
            try:
                records.append(ParsedRecord(field, self.item(_json_object(raw, field), field)))
            except _Reject as rej:
                records.append(ParsedRecord(field, Rejected(str(rej))))
        return ParsedEvent("direct", records)

    # -- SNS / SQS records ----------------------------------------------------
    def _records(self, raw_records: Any) -> ParsedEvent:
        if not isinstance(raw_records, list):
            return ParsedEvent("unknown", [ParsedRecord("Records", Rejected(
                f"Records: expected a list, got {type(raw_records).__name__}"))])
        kinds = {self._kind_of(r) for r in raw_records}
        kind: EventKind = "sqs" if "sqs" in kinds else ("sns" if "sns" in kinds else "unknown")
        records = []
        for index, raw in enumerate(raw_records):
            record_kind = self._kind_of(raw)
            record_id = self._record_id(raw, record_kind, index)
            try:
                if record_kind == "sns":
                    item = self._sns_record(raw, index)
                elif record_kind == "sqs":
                    item = self._sqs_record(raw, index)
                else:
                    raise _Reject(f"Records[{index}]: unrecognized record shape "
                                  "(expected an SNS record with 'Sns' or an SQS record with 'body')")
                records.append(ParsedRecord(record_id, item))
            except _Reject as rej:
                records.append(ParsedRecord(record_id, Rejected(str(rej))))
        return ParsedEvent(kind, records)

    @staticmethod
    def _kind_of(raw: Any) -> str:
        if not isinstance(raw, Mapping):
            return "unknown"
        if raw.get("EventSource") == "aws:sns" or "Sns" in raw:
            return "sns"
        if raw.get("eventSource") == "aws:sqs" or "body" in raw:
            return "sqs"
        return "unknown"

    @staticmethod
    def _record_id(raw: Any, kind: str, index: int) -> str:
        if isinstance(raw, Mapping):
            if kind == "sqs" and isinstance(raw.get("messageId"), str) and raw["messageId"]:
                return raw["messageId"]
            sns = raw.get("Sns")
            if kind == "sns" and isinstance(sns, Mapping) and isinstance(sns.get("MessageId"), str):
                return sns["MessageId"]
        return f"Records[{index}]"

    def _sns_record(self, raw: Any, index: int) -> AnalysisItem:
        prefix = f"Records[{index}]"
        record = _validated(SnsRecordModel, raw, prefix)
        message = record.Sns.Message
        if not isinstance(message, str):
            raise _Reject(f"{prefix}.Sns.Message: expected a string")
        return self.item(_json_object(message, f"{prefix}.Sns.Message"), f"{prefix}.Sns.Message")

    def _sqs_record(self, raw: Any, index: int) -> AnalysisItem:
        prefix = f"Records[{index}]"
        record = _validated(SqsRecordModel, raw, prefix)
        body_field = f"{prefix}.body"
        body = _json_object(record.body, body_field)
        if body.get("Type") == "Notification" and "Message" in body and "TopicArn" in body:
            # SNS -> SQS subscription without raw message delivery.
            note = _validated(SnsNotificationModel, body, body_field)
            if not isinstance(note.Message, str):
                raise _Reject(f"{body_field}.Message: expected a string")
            field = f"{body_field}.Message"
            return self.item(_json_object(note.Message, field), field)
        return self.item(body, body_field)
