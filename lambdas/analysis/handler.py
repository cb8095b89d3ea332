"""Analysis Lambda entry point: settings -> parse -> process (lambdas.analysis.batch does the work)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.analysis import ml_import
from lambdas.analysis.batch import process_event
from lambdas.shared.events import EventParser
from lambdas.shared.observability import logger, metrics, tracer
from lambdas.shared.settings import load_settings

# Cold start: begin importing torch/transformers now, so the import overlaps with the model download done in the
# first invocation.
ml_import.start()


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
    parser = EventParser(model_version=settings.model_version, max_text_chars=settings.max_text_chars,
                         max_record_bytes=settings.max_record_bytes,
                         strict_model_version=settings.strict_model_version)
    return process_event(parser.parse(event), settings)
