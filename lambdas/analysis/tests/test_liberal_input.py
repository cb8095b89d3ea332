"""What the function does not use is not required: minimal envelopes, newer payloads, another model version in
flight, and the upstream scheduler's warm-up ping are all served, not rejected."""

import json

import pytest

from lambdas.analysis import model_cache
from lambdas.shared.settings import load_settings
from tools.testing.events import make_item, sns_notification


def _minimal_sns(item):
    return {"Sns": {"Message": json.dumps(item)}}


def _minimal_sqs(item):
    return {"messageId": "m-1", "body": json.dumps(item)}


def _sqs_sns_wrapped(spelling):
    def build(item):
        note = sns_notification(json.dumps(item))
        if spelling == "URL":  # as an SQS subscription writes them
            note["SigningCertURL"], note["UnsubscribeURL"] = note.pop("SigningCertUrl"), note.pop("UnsubscribeUrl")
        return {"messageId": "m-1", "body": json.dumps(note), "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}
    return build


@pytest.mark.parametrize("build", [_minimal_sns, _minimal_sqs, _sqs_sns_wrapped("URL"), _sqs_sns_wrapped("Url")],
                         ids=["sns-without-subscription-arn-or-urls", "sqs-messageid-and-body-only",
                              "sqs-sns-envelope-URL-spelling", "sqs-sns-envelope-Url-spelling"])
def test_minimal_envelopes_are_analysed(pipeline, build):
    item = make_item(1, "I love this great product")
    pipeline.seed(item)
    summary = pipeline.invoke({"Records": [build(item)]})
    assert (summary["analyzed"], summary["rejected"]) == (1, []), summary
    assert pipeline.dead_letters() == []


def test_newer_payload_without_tags_or_source_type_is_analysed(pipeline):
    item = make_item(1, "stocks rally on strong earnings")
    del item["matched_tags"], item["source_type"]
    item.update(matched_tickers=["AAPL"], sources=["newsapi"])
    pipeline.seed(item)
    summary = pipeline.invoke({"Records": [_minimal_sns(item)]})
    assert (summary["analyzed"], summary["rejected"]) == (1, []), summary
    assert pipeline.get(item)["status"] == "analyzed"


def test_other_model_version_is_analysed_stored_as_ours_and_counted(pipeline, capsys):
    item = make_item(1, "great news", model_version="v0.9.0")
    pipeline.seed(item)
    summary = pipeline.invoke({"Records": [_minimal_sns(item)]})
    assert (summary["analyzed"], summary["model_version_mismatches"]) == (1, 1), summary
    assert pipeline.get(item)["model_version"] == "v1.0.0"  # the version that really analysed it
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(m.get("ModelVersionMismatch") == [1.0] for m in emf), emf


def test_strict_model_version_rejects_and_dead_letters(pipeline):
    pipeline.set_env(STRICT_MODEL_VERSION="true")
    item = make_item(1, "great news", model_version="v0.9.0")
    pipeline.seed(item)
    summary = pipeline.invoke({"Records": [_minimal_sns(item)]})
    assert summary["analyzed"] == 0 and "unknown model version 'v0.9.0'" in summary["rejected"][0]["reason"]
    (letter,) = pipeline.dead_letters()
    assert "model_version" in letter["reason"]
    assert pipeline.get(item)["status"] == "pending"


def test_warmup_ping_loads_the_model_and_rejects_nothing(pipeline):
    summary = pipeline.invoke({"warmup": True})
    assert summary["warmup"] is True and summary["rejected"] == [] and summary["received"] == 0
    assert pipeline.dead_letters() == []
    # The next real invocation finds the model loaded: no fetch, no load (get_model reports only a fresh load).
    _, report = model_cache.get_model(load_settings())
    assert report is None
