"""Analysis Lambda entry point: parse -> predict (one batch) -> write.

Only parsing and orchestration live here; the work is in
``lambdas.shared.events`` (parsing), ``model_cache``/``sentiment`` (model)
and ``writer`` (DynamoDB).

Failure semantics (at-least-once delivery):
* malformed records are rejected individually (logged with the field name,
  counted in AnalysisErrors) - retrying cannot fix them, so they are never
  reported for retry;
* records whose write still fails after botocore's retries are reported:
  SQS -> ``batchItemFailures`` (partial batch response), SNS/direct -> the
  invocation raises so Lambda retries it; in both cases only after every
  other record was processed;
* model fetch/load errors and invalid configuration fail the invocation.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.analysis import ml_import, model_cache
from lambdas.analysis.sentiment import Prediction, SentimentModel
from lambdas.analysis.writer import WriteStatus, write_result
from lambdas.shared import aws_clients
from lambdas.shared import observability as obs
from lambdas.shared.events import AnalysisItem, EventParser, ParsedEvent
from lambdas.shared.observability import MetricUnit, logger, metrics, tracer
from lambdas.shared.settings import Settings, load_settings

# Cold start: begin importing torch/transformers now, so the import overlaps
# with the model download done in the first invocation.
ml_import.start()


class RecordsFailedError(RuntimeError):
    """Some records could not be written; raised so Lambda retries the event."""

    def __init__(self, summary: dict[str, Any]) -> None:
        failed = summary["failed"]
        detail = "; ".join(f"{f['id']}: {f['reason']}" for f in failed[:10])
        super().__init__(f"{len(failed)} record(s) failed after retries: {detail}")
        self.summary = summary


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = load_settings()
    except Exception:
        logger.exception("Invalid configuration")
        raise
    metrics.namespace = settings.metrics_namespace
    parser = EventParser(model_version=settings.model_version, max_text_chars=settings.max_text_chars)
    return process_event(parser.parse(event), settings)


@tracer.capture_method(capture_response=False)
def process_event(parsed: ParsedEvent, settings: Settings) -> dict[str, Any]:
    summary: dict[str, Any] = {"event_type": parsed.kind, "received": len(parsed.records),
                               "analyzed": 0, "duplicates": 0, "rejected": [], "failed": []}
    counts = {"positive": 0, "neutral": 0, "negative": 0}

    valid: list[tuple[str, AnalysisItem]] = []
    for record in parsed.records:
        if record.item is None:
            _reject(summary, record.record_id, record.result.reason)  # type: ignore[union-attr]
        else:
            valid.append((record.record_id, record.item))

    try:
        if valid:
            _analyze(valid, settings, summary, counts)
    except Exception:
        # Fatal for the invocation (model fetch/load, ...): the exception makes
        # Lambda/SQS retry the whole event; every record not yet analyzed or
        # found duplicate counts as an error.
        logger.exception("Invocation failed", extra={"valid_records": len(valid)})
        _emit_metrics(summary, counts, errors=summary["received"] - summary["analyzed"] - summary["duplicates"])
        raise
    _emit_metrics(summary, counts)
    logger.info("Batch processed", extra={k: (len(v) if isinstance(v, list) else v) for k, v in summary.items()})
    if parsed.kind == "sqs":
        summary["batchItemFailures"] = [{"itemIdentifier": f["id"]} for f in summary["failed"]]
    elif summary["failed"]:
        raise RecordsFailedError(summary)
    return summary


def _analyze(valid: list[tuple[str, AnalysisItem]], settings: Settings, summary: dict[str, Any],
             counts: dict[str, int]) -> None:
    model = _model(settings)
    predictions = _predict(model, valid, settings, summary)
    ddb = aws_clients.dynamodb(settings)
    for (record_id, item), prediction in zip(valid, predictions):
        if prediction is None:
            continue  # rejected during inference
        result = write_result(ddb, settings.dynamodb_table, item, prediction, settings.model_version)
        log = {"record_id": record_id, "source_id": item.source_id, "timestamp": item.timestamp}
        if result.status is WriteStatus.ANALYZED:
            summary["analyzed"] += 1
            counts[prediction.label] = counts.get(prediction.label, 0) + 1
        elif result.status is WriteStatus.DUPLICATE:
            summary["duplicates"] += 1
            logger.info("Duplicate delivery skipped", extra={**log, "detail": result.detail})
        elif result.status is WriteStatus.MISSING:
            _reject(summary, record_id, f"source_id/timestamp: {result.detail}")
        else:
            summary["failed"].append({"id": record_id, "reason": result.detail})
            logger.error("Record write failed", extra={**log, "reason": result.detail})


def _reject(summary: dict[str, Any], record_id: str, reason: str) -> None:
    summary["rejected"].append({"id": record_id, "reason": reason})
    logger.warning("Record rejected", extra={"record_id": record_id, "reason": reason})


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


def _predict(model: SentimentModel, valid: list[tuple[str, AnalysisItem]], settings: Settings,
             summary: dict[str, Any]) -> list[Prediction | None]:
    texts = [item.text_for_analysis for _, item in valid]
    started = time.perf_counter()
    try:
        predictions: list[Prediction | None] = list(
            model.predict(texts, batch_size=settings.batch_size, threshold=settings.confidence_threshold))
    except Exception:
        # Isolate the record that breaks the batch instead of failing them all.
        logger.exception("Batch inference failed; retrying records one by one")
        predictions = []
        for (record_id, _), text in zip(valid, texts):
            try:
                predictions.append(model.predict([text], threshold=settings.confidence_threshold)[0])
            except Exception as exc:
                predictions.append(None)
                _reject(summary, record_id, f"text_for_analysis: inference failed: {exc!r}")
    latency_ms = (time.perf_counter() - started) * 1000
    metrics.add_metric(name=obs.INFERENCE_LATENCY_MS, unit=MetricUnit.Milliseconds, value=latency_ms)
    logger.debug("Inference done", extra={"records": len(texts), "latency_ms": round(latency_ms, 1)})
    return predictions


def _emit_metrics(summary: dict[str, Any], counts: dict[str, int], errors: int | None = None) -> None:
    metrics.add_metric(name=obs.SENTIMENT_ANALYSIS_COUNT, unit=MetricUnit.Count, value=summary["analyzed"])
    metrics.add_metric(name=obs.POSITIVE_COUNT, unit=MetricUnit.Count, value=counts.get("positive", 0))
    metrics.add_metric(name=obs.NEUTRAL_COUNT, unit=MetricUnit.Count, value=counts.get("neutral", 0))
    metrics.add_metric(name=obs.NEGATIVE_COUNT, unit=MetricUnit.Count, value=counts.get("negative", 0))
    metrics.add_metric(name=obs.DUPLICATE_DELIVERIES, unit=MetricUnit.Count, value=summary["duplicates"])
    if errors is None:
        errors = len(summary["rejected"]) + len(summary["failed"])
    metrics.add_metric(name=obs.ANALYSIS_ERRORS, unit=MetricUnit.Count, value=errors)
