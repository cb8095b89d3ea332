"""EMF metrics, structured logs, cold/warm behaviour and X-Ray without a daemon."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambdas.shared.model_store import ModelFetchError
from lambdas.shared.settings import ConfigError
from tools.testing.events import direct_event, make_item, sns_event
from lambdas.analysis.tests.fixtures import BUCKET, MODEL_KEY, TABLE

REPO_ROOT = Path(__file__).resolve().parents[3]
METRIC_NAMES = {"SentimentAnalysisCount", "PositiveSentimentCount", "NeutralSentimentCount",
                "NegativeSentimentCount", "InferenceLatencyMs", "ModelLoadTimeMs", "AnalysisErrors"}


def _emf(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def _metric_names(blob):
    return {m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_emf_metrics_are_printed_with_all_names(pipeline, capsys):
    items = [make_item(0, "I love this great product"), make_item(1, "terrible awful disaster"),
             make_item(2, "the company announced results")]
    pipeline.seed(*items)
    pipeline.invoke(sns_event(*items, {**make_item(3), "text_for_analysis": ""}))
    blobs = _emf(capsys.readouterr().out)
    app = [b for b in blobs if "SentimentAnalysisCount" in b]
    assert len(app) == 1
    blob = app[0]
    assert METRIC_NAMES <= _metric_names(blob)
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SentimentPipeline"
    assert blob["SentimentAnalysisCount"] == [3.0]
    assert blob["PositiveSentimentCount"] == [1.0]
    assert blob["NegativeSentimentCount"] == [1.0]
    assert blob["NeutralSentimentCount"] == [1.0]
    assert blob["AnalysisErrors"] == [1.0]
    assert blob["InferenceLatencyMs"][0] > 0 and blob["ModelLoadTimeMs"][0] > 0
    units = {m["Name"]: m["Unit"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["InferenceLatencyMs"] == "Milliseconds" and units["AnalysisErrors"] == "Count"


def test_metrics_namespace_is_configurable(pipeline, capsys):
    pipeline.set_env(POWERTOOLS_METRICS_NAMESPACE="CustomNs")
    pipeline.invoke(direct_event({"bad": 1}))
    blobs = [b for b in _emf(capsys.readouterr().out) if "AnalysisErrors" in b]
    assert blobs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CustomNs"


def test_cold_then_warm_fetches_once_and_logs_phases(pipeline, capsys, log_capture):
    proxy = pipeline.proxy("s3")
    items = [make_item(i, "good") for i in range(3)]
    pipeline.seed(*items)
    pipeline.invoke(direct_event(items[0]))
    cold = capsys.readouterr().out
    pipeline.invoke(direct_event(items[1]))
    pipeline.invoke(direct_event(items[2]))
    warm = capsys.readouterr().out

    assert proxy.count(lambda r: r.method == "GET" and r.path.startswith(f"/{BUCKET}/{MODEL_KEY}")) == 1
    assert any("ModelLoadTimeMs" in b for b in _emf(cold))
    assert not any("ModelLoadTimeMs" in b for b in _emf(warm))  # warm: no load
    logs = log_capture.records()
    loaded = [r for r in logs if r.get("message") == "Model loaded successfully"]
    assert len(loaded) == 1
    assert loaded[0]["model_version"] == "v1.0.0" and loaded[0]["load_time_ms"] > 0
    assert loaded[0]["model_sha256"] == pipeline.model.sha256
    phases = {r.get("phase") for r in logs if "phase" in r}
    assert phases == {"download_extract", "import", "load"}
    assert all(pipeline.get(i)["status"] == "analyzed" for i in items)


def test_model_fetch_failure_fails_invocation_with_cause(pipeline, capsys):
    pipeline.server.client("s3").put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=b"not a tarball")
    item = make_item(1)
    pipeline.seed(item)
    with pytest.raises(ModelFetchError, match="not valid gzip"):
        pipeline.invoke(sns_event(item, {"broken": True}))
    assert pipeline.get(item)["status"] == "pending"
    blobs = [b for b in _emf(capsys.readouterr().out) if "AnalysisErrors" in b]
    assert blobs and blobs[0]["AnalysisErrors"] == [2.0]  # the rejected one + the unprocessed one
    # The next invocation retries the fetch and succeeds once the artifact is fixed.
    pipeline.server.client("s3").put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=pipeline.model.tarball)
    assert pipeline.invoke(sns_event(item))["analyzed"] == 1


def test_invalid_config_fails_with_variable_name(pipeline):
    pipeline.set_env(CONFIDENCE_THRESHOLD="lots")
    with pytest.raises(ConfigError, match="CONFIDENCE_THRESHOLD"):
        pipeline.invoke(direct_event(make_item(1)))


_CHILD = """
import json, sys
from lambdas.shared.observability import tracer
from lambdas.analysis.handler import lambda_handler
from tools.testing.events import FakeLambdaContext, direct_event
item = json.loads(sys.argv[1])
out = lambda_handler(direct_event(item), FakeLambdaContext())
print("RESULT " + json.dumps({"tracer_disabled": tracer.disabled, "summary": out}))
"""


def test_tracer_enabled_in_lambda_env_without_xray_daemon_does_not_crash(pipeline):
    item = make_item(1, "I love this great product")
    pipeline.seed(item)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_X_AMZN", "AWS_XRAY", "POWERTOOLS_TRACE"))}
    env.update({
        # What Lambda sets; makes Powertools enable X-Ray (no daemon is listening).
        "LAMBDA_TASK_ROOT": str(REPO_ROOT), "AWS_LAMBDA_FUNCTION_NAME": "sentiment-analysis",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "MODEL_S3_URI": "", "MODEL_PATH": str(pipeline.model.model_dir), "DYNAMODB_TABLE": TABLE,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT)] + [p for p in sys.path if p]),
    })
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(item)], env=env, cwd=str(pipeline.tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])
    assert result["tracer_disabled"] is False
    assert result["summary"]["analyzed"] == 1
    assert pipeline.get(item)["status"] == "analyzed"
