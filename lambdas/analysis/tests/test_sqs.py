"""SQS: SNS-enveloped and bare bodies, partial batch responses."""

import json

import pytest

from tools.testing.events import make_item, sqs_record
from tools.testing.flaky_proxy import dynamodb_error, target_is


@pytest.mark.parametrize("wrap_sns", [True, False], ids=["sns-envelope", "bare"])
def test_sqs_bodies_are_analyzed(pipeline, wrap_sns):
    items = [make_item(i, t) for i, t in enumerate(["I love this great product", "terrible awful disaster"])]
    pipeline.seed(*items)
    summary = pipeline.invoke({"Records": [sqs_record(i, wrap_sns=wrap_sns) for i in items]})
    assert summary["event_type"] == "sqs"
    assert summary["analyzed"] == 2 and summary["batchItemFailures"] == []
    assert [pipeline.get(i)["sentiment"] for i in items] == ["positive", "negative"]


def test_mixed_envelopes_in_one_batch(pipeline):
    a, b = make_item(1, "good"), make_item(2, "bad")
    pipeline.seed(a, b)
    summary = pipeline.invoke({"Records": [sqs_record(a, wrap_sns=True), sqs_record(b)]})
    assert summary["analyzed"] == 2


def test_partial_batch_response_only_lists_transient_failures(pipeline):
    ok, poison, doomed = make_item(1, "good"), make_item(2, "bad"), make_item(3, "great")
    pipeline.seed(ok, doomed)
    proxy = pipeline.proxy("dynamodb")
    pipeline.set_env(AWS_MAX_ATTEMPTS="2")
    status, body = dynamodb_error("InternalServerError", status=500)
    proxy.add_rule(target_is("DynamoDB_20120810.UpdateItem", body_contains=doomed["source_id"]), status, body)
    records = [
        sqs_record(ok, message_id="ok"),
        sqs_record({**poison, "text_for_analysis": ""}, message_id="poison"),
        sqs_record(doomed, message_id="doomed", wrap_sns=True),
    ]
    summary = pipeline.invoke({"Records": records})
    # The Lambda response must be exactly what the SQS event source mapping expects.
    assert summary["batchItemFailures"] == [{"itemIdentifier": "doomed"}]
    assert [r["id"] for r in summary["rejected"]] == ["poison"]
    assert "text_for_analysis" in summary["rejected"][0]["reason"]
    json.dumps(summary)  # serialisable as a Lambda response
    assert pipeline.get(ok)["status"] == "analyzed"
