"""Powertools Logger / Tracer / Metrics singletons shared by the Lambda code.

* Logger: structured JSON to stdout (CloudWatch Logs).
* Tracer: X-Ray through aws-xray-sdk. Powertools disables it by itself outside
  Lambda (no ``LAMBDA_TASK_ROOT``) or when ``POWERTOOLS_TRACE_DISABLED`` is
  true; inside Lambda without an X-Ray daemon the SDK only logs (UDP emit,
  ``AWS_XRAY_CONTEXT_MISSING`` defaults to LOG_ERROR), so it cannot crash.
* Metrics: CloudWatch Embedded Metric Format printed to stdout at the end of
  each invocation (``@metrics.log_metrics``) - no PutMetricData calls.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "sentiment-analysis"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
# The namespace is Settings.metrics_namespace (POWERTOOLS_METRICS_NAMESPACE, validated, with its default), which
# the handler applies to each invocation: the singleton exists before any Settings object does.
metrics = Metrics(service=SERVICE)

# Metric names (one place, so tests and dashboards agree).
SENTIMENT_ANALYSIS_COUNT = "SentimentAnalysisCount"
POSITIVE_COUNT = "PositiveSentimentCount"
NEUTRAL_COUNT = "NeutralSentimentCount"
NEGATIVE_COUNT = "NegativeSentimentCount"
INFERENCE_LATENCY_MS = "InferenceLatencyMs"
MODEL_LOAD_TIME_MS = "ModelLoadTimeMs"
ANALYSIS_ERRORS = "AnalysisErrors"
DUPLICATE_DELIVERIES = "DuplicateDeliveries"
DEAD_LETTERED = "RecordsDeadLettered"  # rejected records sent to the rejects queue
MODEL_VERSION_MISMATCH = "ModelVersionMismatch"  # items published for another model version, analysed by this one

__all__ = [
    "MetricUnit", "logger", "tracer", "metrics", "SERVICE",
    "SENTIMENT_ANALYSIS_COUNT", "POSITIVE_COUNT", "NEUTRAL_COUNT", "NEGATIVE_COUNT",
    "INFERENCE_LATENCY_MS", "MODEL_LOAD_TIME_MS", "ANALYSIS_ERRORS", "DUPLICATE_DELIVERIES", "DEAD_LETTERED",
    "MODEL_VERSION_MISMATCH",
]
