"""Event parsing: SNS, SQS (SNS-wrapped or bare body), direct invocations and warm-up pings.

Parsing is per record: a malformed record becomes a :class:`Rejected` with a reason that names the offending
field, and never prevents the other records of the same event from being processed: whatever goes wrong inside one
record (even an exception nobody foresaw) is that record's rejection. Envelopes require only what the function uses
(lambdas/shared/envelopes.py); the payload is our :class:`AnalysisItem`. A record keeps its raw form and source ARN,
so a rejection can be dead-lettered as it arrived.

Bounds: a record's message or body is at most ``max_record_bytes`` of UTF-8 (SNS's own limit, 256 KiB, by default)
and its JSON nests at most ``MAX_JSON_DEPTH`` levels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from lambdas.shared.envelopes import SnsNotification, SnsRecord, SqsRecord
from lambdas.shared.validation import describe

EventKind = Literal["sns", "sqs", "direct", "warmup", "unknown"]
MAX_JSON_DEPTH = 32  # an item is two levels deep; Python's own parser gives up near 1,000 with RecursionError
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

    # What the function uses, strictly typed.
    source_id: KeyStr
    timestamp: KeyStr
    text_for_analysis: Utf8Str
    model_version: KeyStr
    # Carried by older publishers; newer ones send matched_tickers / sources instead (ignored, like any extra key).
    source_type: KeyStr | None = None
    matched_tags: list[Utf8Str] | None = None

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
        # Only with STRICT_MODEL_VERSION: otherwise a rollout in flight would strand items; the batch counts the
        # mismatch and stores the version that really analysed the item.
        expected = (info.context or {}).get("strict_model_version")
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
    raw: Any = None  # the record (or direct item) as it arrived: what a dead letter carries
    source_arn: str | None = None  # the topic or queue it came from, when the envelope says

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


def _json_object(raw: Any, field: str, max_bytes: int) -> dict[str, Any]:
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Reject(f"{field}: not valid UTF-8 (byte {exc.start})") from None
    if isinstance(raw, Mapping):
        value: Any = dict(raw)
    elif isinstance(raw, str):
        size = len(raw.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise _Reject(f"{field}: {size} bytes, more than the {max_bytes} a record may have")
        try:
            value = json.loads(raw)
        except RecursionError:
            raise _Reject(f"{field}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as exc:
            raise _Reject(f"{field}: not valid JSON ({exc})") from None
    else:
        raise _Reject(f"{field}: expected a JSON object string, got {type(raw).__name__}")
    if not isinstance(value, dict):
        raise _Reject(f"{field}: expected a JSON object, got {type(value).__name__}")
    if _depth(value) > MAX_JSON_DEPTH:
        raise _Reject(f"{field}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of decoded JSON, without recursion (the value may be as deep as the parser allowed)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _unforeseen(field: str, exc: Exception) -> Rejected:
    # The last line of defence: one record's surprise is that record's rejection, never its batch's failure.
    return Rejected(f"{field}: could not be parsed ({type(exc).__name__}: {str(exc)[:200]})")


class EventParser:
    """Turns a Lambda event into per-record items or rejections."""

    def __init__(self, *, model_version: str, max_text_chars: int, max_record_bytes: int = 256 * 1024,
                 strict_model_version: bool = False) -> None:
        self._context = {"max_text_chars": max_text_chars,
                         "strict_model_version": model_version if strict_model_version else None}
        self._max_bytes = max_record_bytes

    def _object(self, raw: Any, field: str) -> dict[str, Any]:
        return _json_object(raw, field, self._max_bytes)

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
        if event.get("warmup") is True:
            # The upstream scheduler's keep-warm ping: no records, nothing to reject.
            return ParsedEvent("warmup", [])
        return ParsedEvent("unknown", [ParsedRecord(
            "event", Rejected("event: expected 'Records' (SNS/SQS), 'items' (direct invocation) or "
                              "'warmup': true"), raw=dict(event))])

    # -- direct invocation: {"items": [item | json-string, ...]} ---------------
    def _direct(self, items: Any) -> ParsedEvent:
        if not isinstance(items, list):
            return ParsedEvent("direct", [ParsedRecord("items", Rejected(
                f"items: expected a list, got {type(items).__name__}"))])
        records = []
        for index, raw in enumerate(items):
            field = f"items[{index}]"
            try:
                result: AnalysisItem | Rejected = self.item(self._object(raw, field), field)
            except _Reject as rej:
                result = Rejected(str(rej))
            except Exception as exc:  # noqa: BLE001 - see _unforeseen
                result = _unforeseen(field, exc)
            records.append(ParsedRecord(field, result, raw=raw))
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
                    result: AnalysisItem | Rejected = self._sns_record(raw, index)
                elif record_kind == "sqs":
                    result = self._sqs_record(raw, index)
                else:
                    raise _Reject(f"Records[{index}]: unrecognized record shape "
                                  "(expected an SNS record with 'Sns' or an SQS record with 'body')")
            except _Reject as rej:
                result = Rejected(str(rej))
            except Exception as exc:  # noqa: BLE001 - see _unforeseen
                result = _unforeseen(f"Records[{index}]", exc)
            records.append(ParsedRecord(record_id, result, raw=raw, source_arn=self._source_arn(raw)))
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
    def _source_arn(raw: Any) -> str | None:
        if not isinstance(raw, Mapping):
            return None
        sns = raw.get("Sns")
        arn = sns.get("TopicArn") if isinstance(sns, Mapping) else raw.get("eventSourceARN")
        return arn if isinstance(arn, str) else None

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
        field = f"Records[{index}].Sns.Message"
        record = _validated(SnsRecord, raw, f"Records[{index}]")
        return self.item(self._object(record.Sns.Message, field), field)

    def _sqs_record(self, raw: Any, index: int) -> AnalysisItem:
        body_field = f"Records[{index}].body"
        record = _validated(SqsRecord, raw, f"Records[{index}]")
        body = self._object(record.body, body_field)
        if body.get("Type") == "Notification" and "Message" in body and "TopicArn" in body:
            # SNS -> SQS subscription without raw message delivery.
            note = _validated(SnsNotification, body, body_field)
            field = f"{body_field}.Message"
            return self.item(self._object(note.Message, field), field)
        return self.item(body, body_field)
