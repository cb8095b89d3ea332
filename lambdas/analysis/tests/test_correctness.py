"""Handler results equal a direct transformers forward pass on the same texts."""

import pytest

from lambdas.analysis.sentiment import SentimentModel
from tools.testing.events import direct_event, make_item, sns_event, sqs_event

TEXTS = [
    "I love this great product",
    "terrible awful disaster, the worst crash",
    "the market report today",
    "Stocks rallied on strong earnings and record profit",
    "the company announced results for the quarter",
    "Unbelievable xyzzy qwerty",
    "good",
    "fear and scandal in the government, a sad week",
]
LONG_TEXT = " ".join(["great news about the market today"] * 400)  # ~2400 tokens > 512


def _reference(model_dir, texts):
    """Unbatched, unpadded forward pass per text: (label, max prob)."""
    # Imported here, not at module level: the handler's background import of
    # the same libraries may be running during collection.
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    out = []
    with torch.inference_mode():
        for text in texts:
            enc = tok(text, truncation=True, max_length=512, return_tensors="pt")
            probs = torch.softmax(model(**enc).logits, dim=-1)[0]
            idx = int(probs.argmax())
            out.append((model.config.id2label[idx].lower(), float(probs[idx])))
    return out


def _invoke_and_read(pipeline, texts, event_builder=sns_event):
    items = [make_item(i, t) for i, t in enumerate(texts)]
    pipeline.seed(*items)
    summary = pipeline.invoke(event_builder(*items))
    assert summary["analyzed"] == len(items), summary
    return [pipeline.get(i) for i in items]


@pytest.mark.parametrize("event_builder", [sns_event, sqs_event, direct_event])
def test_scores_match_direct_forward_pass(pipeline, event_builder):
    pipeline.set_env(CONFIDENCE_THRESHOLD="0", INFERENCE_BATCH_SIZE="3")  # several padded batches
    texts = TEXTS + [LONG_TEXT]
    stored = _invoke_and_read(pipeline, texts, event_builder)
    expected = _reference(pipeline.model.model_dir, texts)
    for row, (label, score), text in zip(stored, expected, texts):
        assert row["status"] == "analyzed"
        assert row["sentiment"] == label, text
        assert abs(float(row["score"]) - score) < 1e-5, (text, row["score"], score)
    labels = {row["sentiment"] for row in stored}
    assert labels == {"positive", "negative"}  # id2label mapped and lower-cased


def test_threshold_turns_low_confidence_into_neutral(pipeline):
    expected = _reference(pipeline.model.model_dir, TEXTS)
    scores = sorted(score for _, score in expected)
    # A threshold strictly between the scores: some labelled, some neutral.
    cut = (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
    pipeline.set_env(CONFIDENCE_THRESHOLD=str(cut))
    stored = _invoke_and_read(pipeline, TEXTS)
    for row, (label, score) in zip(stored, expected):
        assert row["sentiment"] == (label if score >= cut else "neutral")
        assert abs(float(row["score"]) - score) < 1e-5  # the score is kept either way
    assert "neutral" in {r["sentiment"] for r in stored}
    assert {"positive", "negative"} & {r["sentiment"] for r in stored}


def test_threshold_one_makes_everything_neutral(pipeline):
    pipeline.set_env(CONFIDENCE_THRESHOLD="1")
    stored = _invoke_and_read(pipeline, TEXTS)
    assert {r["sentiment"] for r in stored} == {"neutral"}


def test_default_threshold_gives_natural_neutral(pipeline):
    # The tiny model is ~50/50 on neutral-only sentences: below 0.6.
    stored = _invoke_and_read(pipeline, ["the company announced results", "I love this great product"])
    assert [r["sentiment"] for r in stored] == ["neutral", "positive"]


def test_truncation_is_by_tokens_and_batch_order_preserved(pipeline):
    model = SentimentModel.load(pipeline.model.model_dir)
    assert model.max_length == 512
    texts = [LONG_TEXT, "good", LONG_TEXT + " terrible awful", "bad"]
    batched = model.predict(texts, batch_size=2, threshold=0.0)
    single = [model.predict([t], batch_size=1, threshold=0.0)[0] for t in texts]
    for b, s in zip(batched, single):
        assert b.label == s.label and abs(b.score - s.score) < 1e-5
    # Tokens beyond 512 are cut: the suffix after the limit cannot change the result.
    assert abs(batched[0].score - batched[2].score) < 1e-6


def test_a_token_budget_splits_batches_without_changing_results(pipeline):
    model = SentimentModel.load(pipeline.model.model_dir)
    texts = [LONG_TEXT, "good", LONG_TEXT + " terrible awful", "bad", *TEXTS]
    whole = model.predict(texts, batch_size=32, threshold=0.0, max_batch_tokens=10**6)
    split = model.predict(texts, batch_size=32, threshold=0.0, max_batch_tokens=600)  # the long texts one by one
    for w, s in zip(whole, split):
        assert w.label == s.label and abs(w.score - s.score) < 1e-5
    assert model.predict([], threshold=0.0) == []


def test_int8_quantization_loads_and_predicts(pipeline):
    model = SentimentModel.load(pipeline.model.model_dir, quantize_int8=True)
    assert any("quantized" in type(m).__module__ for m in model._model.modules())
    preds = model.predict(["I love this great product", "terrible awful disaster"], threshold=0.0)
    assert [p.label for p in preds] == ["positive", "negative"]
    pipeline.set_env(QUANTIZE_INT8="true", CONFIDENCE_THRESHOLD="0")
    stored = _invoke_and_read(pipeline, ["I love this great product"])
    assert stored[0]["sentiment"] == "positive"


def test_pytorch_model_bin_weights(pipeline, tmp_path):
    from tools.testing.tiny_model import build_model_dir

    model_dir = build_model_dir(tmp_path / "bin-model", weights="bin")
    assert (model_dir / "pytorch_model.bin").exists() and not (model_dir / "model.safetensors").exists()
    pipeline.set_env(MODEL_S3_URI=None, MODEL_PATH=str(model_dir), CONFIDENCE_THRESHOLD="0")
    items = [make_item(0, "I love this great product")]
    pipeline.seed(*items)
    assert pipeline.invoke(direct_event(*items))["analyzed"] == 1
    expected = _reference(model_dir, ["I love this great product"])[0]
    row = pipeline.get(items[0])
    assert row["sentiment"] == expected[0] and abs(float(row["score"]) - expected[1]) < 1e-5
