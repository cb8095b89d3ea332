"""The locked torch is the CPU build and runs a DistilBERT forward pass inside a Bazel test."""

import torch
from transformers import DistilBertConfig, DistilBertForSequenceClassification


def test_torch_is_the_cpu_build():
    assert torch.version.cuda is None
    assert torch.__version__.endswith("+cpu"), torch.__version__
    assert not torch.cuda.is_available()


def test_tiny_distilbert_forward_pass():
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=64, dim=32, n_layers=2, n_heads=2, hidden_dim=64, num_labels=2)
    model = DistilBertForSequenceClassification(config).eval()
    input_ids = torch.tensor([[1, 5, 7, 9, 2], [1, 11, 2, 0, 0]])
    attention_mask = (input_ids != 0).long()

    with torch.inference_mode():
        batch = model(input_ids=input_ids, attention_mask=attention_mask).logits
        alone = model(input_ids=input_ids[1:, :3], attention_mask=attention_mask[1:, :3]).logits

    assert batch.shape == (2, 2)
    assert torch.isfinite(batch).all()
    # Padding is masked out: the padded row scores like the same text run alone.
    torch.testing.assert_close(batch[1:], alone, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(batch[0], batch[1])
