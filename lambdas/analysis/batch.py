"""One parsed event through the model and into DynamoDB: the analysis Lambda's work, apart from its entry point.

Failure semantics (at-least-once delivery):
* malformed records are rejected individually (logged with the field name, counted in AnalysisErrors): retrying
  cannot fix them, so they are never reported for retry;
* records whose write still fails after botocore's retries are reported: SQS -> ``batchItemFailures`` (partial
  batch response), SNS/direct -> the invocation raises so Lambda retries it; in both cases only after every other
  record was processed;
* model fetch/load errors and invalid configuration fail the invocation;
* an item published for another model version is analysed by this one (stored with this function's version) and
  counted in ModelVersionMismatch, unless STRICT_MODEL_VERSION rejects it;
* a warm-up ping ({"warmup": true}) loads the model, so the next real invocation is warm.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures

from lambdas.analysis import model_cache
from lambdas.analysis.sentiment import Prediction, SentimentModel
from lambdas.analysis.writer import WriteStatus, write_result
from lambdas.shared import aws_clients, dead_letter
from lambdas.shared import observability as obs
from lambdas.shared.dead_letter import DeadLetter
from lambdas.shared.events import AnalysisItem, EventKind, ParsedEvent, ParsedRecord
from lambdas.shared.observability import MetricUnit, logger, metrics, tracer
from lambdas.shared.settings import Settings

LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class RecordProblem:
    """A record that was rejected (never retried) or failed (reported for retry), with the reason."""

    id: str
    reason: str


@dataclass
class BatchSummary:
    """What became of each record of one event; returned to the caller as a dict."""

    event_type: EventKind
    received: int
    analyzed: int = 0
    duplicates: int = 0
    model_version_mismatches: int = 0
    rejected: list[RecordProblem] = field(default_factory=list)
    failed: list[RecordProblem] = field(default_factory=list)  # writes that failed after botocore's retries
    undelivered: list[RecordProblem] = field(default_factory=list)  # rejections whose dead letter was not sent
    labels: Counter[str] = field(default_factory=Counter)
    letters: list[DeadLetter] = field(default_factory=list)

    def reject(self, record: ParsedRecord, reason: str) -> None:
        self.rejected.append(RecordProblem(record.record_id, reason))
        self.letters.append(DeadLetter(record.record_id, reason, self.event_type, record.raw, record.source_arn))
        logger.warning("Record rejected", extra={"record_id": record.record_id, "reason": reason})

    @property
    def retry(self) -> list[RecordProblem]:
        """Records the event source must deliver again."""
        return self.failed + self.undelivered

    def response(self) -> dict[str, Any]:
        """The Lambda response: the summary, plus the partial batch response for SQS."""
        body = asdict(self)
        del body["labels"], body["letters"]  # in the metrics and the rejects queue, not the response
        if self.event_type == "sqs":
            body.update(partial_batch_response(self.retry))
        return body


class RecordsFailedError(RuntimeError):
    """Some records could not be written; raised so Lambda retries the event."""

    def __init__(self, summary: BatchSummary) -> None:
        detail = "; ".join(f"{f.id}: {f.reason}" for f in summary.retry[:10])
        super().__init__(f"{len(summary.retry)} record(s) failed after retries: {detail}")
        self.summary = summary


def partial_batch_response(failed: list[RecordProblem]) -> PartialItemFailureResponse:
    """SQS retries exactly these messages (ReportBatchItemFailures); the others are deleted from the queue."""
    return {"batchItemFailures": [PartialItemFailures(itemIdentifier=f.id) for f in failed]}


@tracer.capture_method(capture_response=False)
def process_event(parsed: ParsedEvent, settings: Settings) -> dict[str, Any]:
    summary = BatchSummary(event_type=parsed.kind, received=len(parsed.records))
    if parsed.kind == "warmup":
        _model(settings)
        logger.info("Warm-up ping: model loaded")
        return {**summary.response(), "warmup": True}
    valid: list[tuple[ParsedRecord, AnalysisItem]] = []
    for record in parsed.records:
        if record.item is None:
            summary.reject(record, record.result.reason)  # type: ignore[union-attr]
        else:
            valid.append((record, record.item))

    try:
        if valid:
            _analyze(valid, settings, summary)
    except Exception:
        # Fatal for the invocation (model fetch/load, ...): the exception makes Lambda/SQS retry the whole event
        # (rejections recur and are dead-lettered then); every record not yet analyzed or found duplicate counts as
        # an error.
        logger.exception("Invocation failed", extra={"valid_records": len(valid)})
        _emit_metrics(summary, errors=summary.received - summary.analyzed - summary.duplicates)
        raise
    for letter, why in dead_letter.send(summary.letters, settings):
        summary.undelivered.append(RecordProblem(letter.record_id, why))
        logger.error("Rejected record not dead-lettered; reported for retry", extra={
            "record_id": letter.record_id, "reason": why})
    _emit_metrics(summary)
    logger.info("Batch processed", extra={
        "event_type": summary.event_type, "received": summary.received, "analyzed": summary.analyzed,
        "duplicates": summary.duplicates, "rejected": len(summary.rejected), "failed": len(summary.failed),
        "undelivered": len(summary.undelivered), "model_version_mismatches": summary.model_version_mismatches})
    if summary.retry and parsed.kind != "sqs":
        raise RecordsFailedError(summary)
    return summary.response()


def _analyze(valid: list[tuple[ParsedRecord, AnalysisItem]], settings: Settings, summary: BatchSummary) -> None:
    model = _model(settings)
    predictions = _predict(model, valid, settings, summary)
    if len(predictions) != len(valid):
        raise AssertionError(f"{len(predictions)} predictions for {len(valid)} records: results would be misfiled")
    ddb = aws_clients.dynamodb(settings)
    for (record, item), prediction in zip(valid, predictions):
        if prediction is None:
            continue  # rejected during inference
        log = {"record_id": record.record_id, "source_id": item.source_id, "timestamp": item.timestamp}
        if item.model_version != settings.model_version:
            summary.model_version_mismatches += 1
            logger.info("Item published for another model version; analysed by this one", extra={
                **log, "item_model_version": item.model_version, "model_version": settings.model_version})
        result = write_result(ddb, settings.dynamodb_table, item, prediction, settings.model_version)
        if result.status is WriteStatus.ANALYZED:
            summary.analyzed += 1
            summary.labels[prediction.label] += 1
        elif result.status is WriteStatus.DUPLICATE:
            summary.duplicates += 1
            logger.info("Duplicate delivery skipped", extra={**log, "detail": result.detail})
        elif result.status is WriteStatus.MISSING:
            summary.reject(record, f"source_id/timestamp: {result.detail}")
        else:
            summary.failed.append(RecordProblem(record.record_id, result.detail))
            logger.error("Record write failed", extra={**log, "reason": result.detail})


def _model(settings: Settings) -> SentimentModel:
    model, report = model_cache.get_model(settings)
    if report is not None:
        metrics.add_metric(name=obs.MODEL_LOAD_TIME_MS, unit=MetricUnit.Milliseconds, value=report.total_ms)
        logger.info("Model loaded successfully", extra={
            "model_version": settings.model_version, "load_time_ms": round(report.total_ms, 1),
            "download_extract_ms": round(report.download_extract_ms, 1),
            "import_ms": round(report.import_ms, 1), "import_wait_ms": round(report.import_wait_ms, 1),
            "model_init_ms": round(report.load_ms, 1), "fetched": report.fetched,
            "model_sha256": report.model_sha256})
    return model


def _predict(model: SentimentModel, valid: list[tuple[ParsedRecord, AnalysisItem]], settings: Settings,
             summary: BatchSummary) -> list[Prediction | None]:
    """One prediction per record, in order; None where the record's own inference failed (it is rejected)."""
    texts = [item.text_for_analysis for _, item in valid]
    started = time.perf_counter()
    try:
        predictions: list[Prediction | None] = list(
            model.predict(texts, batch_size=settings.batch_size, threshold=settings.confidence_threshold))
    except Exception:
        # Isolate the record that breaks the batch instead of failing them all.
        logger.exception("Batch inference failed; retrying records one by one")
        predictions = []
        for (record, _), text in zip(valid, texts):
            try:
                predictions.append(model.predict([text], threshold=settings.confidence_threshold)[0])
            except Exception as exc:
                predictions.append(None)
                summary.reject(record, f"text_for_analysis: inference failed: {exc!r}")
    latency_ms = (time.perf_counter() - started) * 1000
    metrics.add_metric(name=obs.INFERENCE_LATENCY_MS, unit=MetricUnit.Milliseconds, value=latency_ms)
    logger.debug("Inference done", extra={"records": len(texts), "latency_ms": round(latency_ms, 1)})
    return predictions


def _emit_metrics(summary: BatchSummary, errors: int | None = None) -> None:
    metrics.add_metric(name=obs.SENTIMENT_ANALYSIS_COUNT, unit=MetricUnit.Count, value=summary.analyzed)
    for label, name in zip(LABELS, (obs.POSITIVE_COUNT, obs.NEUTRAL_COUNT, obs.NEGATIVE_COUNT)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary.labels[label])
    metrics.add_metric(name=obs.DUPLICATE_DELIVERIES, unit=MetricUnit.Count, value=summary.duplicates)
    metrics.add_metric(name=obs.MODEL_VERSION_MISMATCH, unit=MetricUnit.Count, value=summary.model_version_mismatches)
    metrics.add_metric(name=obs.DEAD_LETTERED, unit=MetricUnit.Count,
                       value=len(summary.letters) - len(summary.undelivered))
    if errors is None:
        errors = len(summary.rejected) + len(summary.failed)
    metrics.add_metric(name=obs.ANALYSIS_ERRORS, unit=MetricUnit.Count, value=errors)
