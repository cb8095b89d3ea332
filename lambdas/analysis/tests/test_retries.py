"""Throttling/5xx are retried by botocore; what still fails is reported."""

import pytest

from lambdas.analysis.batch import RecordsFailedError
from tools.testing.events import direct_event, make_item, sns_event, sqs_record
from tools.testing.flaky_proxy import dynamodb_error, target_is

UPDATE = "DynamoDB_20120810.UpdateItem"


def _updates(proxy):
    return proxy.count(lambda r: r.target.endswith(UPDATE))


@pytest.mark.parametrize("code, retry_mode", [
    ("ProvisionedThroughputExceededException", "standard"),
    ("ThrottlingException", "adaptive"),
])
def test_throttling_is_retried_then_succeeds(pipeline, code, retry_mode):
    items = [make_item(i, "great news") for i in range(3)]
    pipeline.seed(*items)
    proxy = pipeline.proxy("dynamodb")
    pipeline.set_env(AWS_RETRY_MODE=retry_mode, AWS_MAX_ATTEMPTS="4")
    status, body = dynamodb_error(code)
    rule = proxy.add_rule(target_is(UPDATE), status, body, times=2)

    summary = pipeline.invoke(sns_event(*items))

    assert rule.hits == 2
    assert summary["analyzed"] == 3 and summary["failed"] == []
    assert _updates(proxy) == 3 + 2  # two throttled attempts were retried
    assert all(pipeline.get(i)["status"] == "analyzed" for i in items)


def test_server_errors_are_retried(pipeline):
    item = make_item(1, "good")
    pipeline.seed(item)
    proxy = pipeline.proxy("dynamodb")
    status, body = dynamodb_error("InternalServerError", status=500)
    proxy.add_rule(target_is(UPDATE), status, body, times=1)
    assert pipeline.invoke(direct_event(item))["analyzed"] == 1


def test_sqs_persistent_failure_reports_exactly_that_record(pipeline):
    good1, doomed, good2 = make_item(1, "good"), make_item(2, "bad"), make_item(3, "great")
    pipeline.seed(good1, doomed, good2)
    proxy = pipeline.proxy("dynamodb")
    status, body = dynamodb_error("ProvisionedThroughputExceededException")
    proxy.add_rule(target_is(UPDATE, body_contains=doomed["source_id"]), status, body)  # forever
    records = [sqs_record(good1, message_id="m-1"), sqs_record(doomed, message_id="m-2"),
               sqs_record(good2, message_id="m-3", wrap_sns=True)]

    summary = pipeline.invoke({"Records": records})

    assert summary["batchItemFailures"] == [{"itemIdentifier": "m-2"}]
    assert summary["analyzed"] == 2
    assert [f["id"] for f in summary["failed"]] == ["m-2"]
    assert "ProvisionedThroughputExceededException" in summary["failed"][0]["reason"]
    # Retried up to AWS_MAX_ATTEMPTS (3 in the fixture) before giving up.
    assert proxy.count(lambda r: r.injected) == 3
    assert pipeline.get(good1)["status"] == "analyzed"
    assert pipeline.get(good2)["status"] == "analyzed"
    assert pipeline.get(doomed)["status"] == "pending"


@pytest.mark.parametrize("builder", [sns_event, lambda *i: direct_event(*i)], ids=["sns", "direct"])
def test_sns_persistent_failure_raises_after_others_are_written(pipeline, builder):
    doomed, good = make_item(1, "bad"), make_item(2, "good")
    pipeline.seed(doomed, good)  # the failing record comes first on purpose
    proxy = pipeline.proxy("dynamodb")
    status, body = dynamodb_error("InternalServerError", status=500)
    proxy.add_rule(target_is(UPDATE, body_contains=doomed["source_id"]), status, body)

    with pytest.raises(RecordsFailedError) as err:
        pipeline.invoke(builder(doomed, good))

    assert "1 record(s) failed" in str(err.value)
    assert err.value.summary.analyzed == 1
    assert pipeline.get(good)["status"] == "analyzed"  # written before raising
    assert pipeline.get(doomed)["status"] == "pending"
    # Lambda's retry of the whole event then succeeds and the other record is a duplicate.
    proxy.clear()
    summary = pipeline.invoke(builder(doomed, good))
    assert (summary["analyzed"], summary["duplicates"]) == (1, 1)
