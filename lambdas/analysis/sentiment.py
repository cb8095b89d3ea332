"""DistilBERT-style sequence classification on CPU, in padded batches.

Uses AutoTokenizer + AutoModelForSequenceClassification directly (not
``pipeline()``) so that batching, truncation and threading are explicit:

* texts are truncated by *tokens* to the model's maximum length (capped at
  512, the position-embedding limit of BERT-family models);
* batches are bounded (``INFERENCE_BATCH_SIZE`` texts and ``MAX_BATCH_TOKENS``
  once padded) and texts are sorted by token length first so each padded
  batch wastes little compute;
* ``torch.inference_mode()`` and ``torch.set_num_threads`` = CPUs this
  process may run on, at most Lambda's vCPUs for its memory rounded up;
* optional dynamic int8 quantization of the Linear layers.

label = ``config.id2label[argmax]`` lower-cased, score = max softmax
probability; below the confidence threshold the label becomes ``neutral``.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdas.analysis import ml_import

NEUTRAL = "neutral"
_HARD_TOKEN_CAP = 512
# Tokens one forward pass may hold (texts x padded length). Activations grow with it (attention scores with
# texts x heads x length^2): 32 texts of 512 tokens took the process from ~0.8 to ~1.2 GB and out of a 1,024 MB
# function (bench/REPORT.md, 'Memory and the 1,024 MB option'). 4,096 runs such texts 8 at a time, at about the same
# cost per text, while a batch of 32 headlines still goes in one pass.
MAX_BATCH_TOKENS = 4096


class ModelLoadError(RuntimeError):
    """The model directory exists but could not be loaded."""


@dataclass(frozen=True)
class Prediction:
    label: str  # after thresholding: e.g. "positive" / "negative" / "neutral"
    score: float  # max softmax probability
    model_label: str  # id2label[argmax], lower-cased, before thresholding


def plan_batches(lengths: Sequence[int], batch_size: int, max_batch_tokens: int) -> list[list[int]]:
    """Indices of texts of token LENGTHS in batches, shortest first: each at most BATCH_SIZE texts and at most
    MAX_BATCH_TOKENS once padded to its longest text (a text longer than that on its own still gets a batch)."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        batch = batches[-1] if batches else None
        # Sorted ascending, so the newcomer sets the padded length of the batch it joins.
        if batch is None or len(batch) >= batch_size or (len(batch) + 1) * lengths[i] > max_batch_tokens:
            batches.append([i])
        else:
            batch.append(i)
    return batches


# Lambda gives a function one vCPU per 1,769 MB of memory (docs: "Configuring Lambda function memory").
MB_PER_VCPU = 1769


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # non-Linux
        return max(1, os.cpu_count() or 1)


def torch_threads(environ=os.environ) -> int:
    """The CPUs this process may run on, but no more than Lambda's vCPUs for the function's memory, rounded up.

    Lambda shows the function more CPUs than its memory pays for (2 at 1,024 MB, where it gets 0.58 of one): a second
    thread then only splits the same quota and waits on it (//bench:lambda_sizing: at 1,024 MB one thread gave fp32
    16-28 % more items/s; at 2,048 MB, 1.16 vCPUs, two threads were level or better at batch 8 and 32).
    """
    cpus = available_cpus()
    memory_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if memory_mb.isdigit() and int(memory_mb) > 0:
        return max(1, min(cpus, math.ceil(int(memory_mb) / MB_PER_VCPU)))
    return cpus


class SentimentModel:
    def __init__(self, tokenizer, model, torch_module, max_length: int, load_ms: float) -> None:
        self._tokenizer = tokenizer
        self._model = model
        self._torch = torch_module
        self.max_length = max_length
        self.load_ms = load_ms
        self.id2label = {int(k): str(v).lower() for k, v in model.config.id2label.items()}

    @classmethod
    def load(cls, model_dir: Path, *, quantize_int8: bool = False, max_tokens: int = _HARD_TOKEN_CAP,
             num_threads: int | None = None) -> SentimentModel:
        mods, _ = ml_import.wait()
        torch = mods.torch
        started = time.perf_counter()
        torch.set_num_threads(num_threads or torch_threads())
        try:
            tokenizer = mods.auto_tokenizer.from_pretrained(str(model_dir), local_files_only=True)
            model = mods.auto_model.from_pretrained(str(model_dir), local_files_only=True)
        except Exception as exc:  # transformers raises OSError/ValueError/...
            raise ModelLoadError(f"failed to load model from {model_dir}: {exc}") from exc
        model.eval()
        if quantize_int8:
            model = cls._quantize(torch, model)
        if not getattr(model.config, "id2label", None):
            raise ModelLoadError(f"model in {model_dir} has no id2label mapping in config.json")
        max_length = cls._max_length(tokenizer, model, max_tokens)
        return cls(tokenizer, model, torch, max_length, (time.perf_counter() - started) * 1000)

    @staticmethod
    def _quantize(torch, model):
        # Dynamic int8 quantization of the Linear layers (weights int8,
        # activations quantized on the fly): ~2x faster matmuls on CPU and a
        # ~4x smaller Linear footprint, at a small accuracy cost. torch marks
        # torch.ao.quantization as deprecated (torchao is its successor) but
        # still ships it; silence the warnings so they don't flood the logs.
        quantize_dynamic = getattr(getattr(torch, "ao", None) and torch.ao.quantization, "quantize_dynamic", None)
        if quantize_dynamic is None:
            raise ModelLoadError(f"QUANTIZE_INT8 is set but torch {torch.__version__} has no "
                                 "torch.ao.quantization.quantize_dynamic")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            # inplace: the default deep-copies the fp32 model first, a second ~270 MB at the peak of the cold start
            # (int8 peaked above fp32 before: bench/REPORT.md, 'Memory and the 1,024 MB option').
            return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)

    @staticmethod
    def _max_length(tokenizer, model, cap: int) -> int:
        limits = [min(cap, _HARD_TOKEN_CAP)]
        tok_max = getattr(tokenizer, "model_max_length", None)
        if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:  # HF uses ~1e30 for "unset"
            limits.append(tok_max)
        pos = getattr(model.config, "max_position_embeddings", None)
        if isinstance(pos, int) and pos > 0:
            limits.append(pos)
        return min(limits)

    def predict(self, texts: Sequence[str], *, batch_size: int = 32, threshold: float = 0.6,
                max_batch_tokens: int = MAX_BATCH_TOKENS) -> list[Prediction]:
        torch = self._torch
        results: list[Prediction | None] = [None] * len(texts)
        if not texts:
            return []
        # Token lengths first (a fast tokenizer: ~1 % of a forward pass), so that each padded batch holds similarly
        # long texts and stays within max_batch_tokens.
        lengths = [len(ids) for ids in self._tokenizer(list(texts), truncation=True,
                                                        max_length=self.max_length)["input_ids"]]
        with torch.inference_mode():
            for idx in plan_batches(lengths, batch_size, max_batch_tokens):
                enc = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                      max_length=self.max_length, return_tensors="pt")
                logits = self._model(**enc).logits
                probs = torch.softmax(logits.float(), dim=-1)
                scores, label_ids = probs.max(dim=-1)
                for i, score, label_id in zip(idx, scores.tolist(), label_ids.tolist()):
                    model_label = self.id2label.get(int(label_id), str(label_id))
                    label = model_label if score >= threshold else NEUTRAL
                    results[i] = Prediction(label, float(score), model_label)
        # Every index was filled above; dropping a None would shift every later result onto the wrong text.
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            raise AssertionError(f"no prediction for texts {missing[:10]} of {len(texts)}")
        return results  # type: ignore[return-value]  # no None left, checked above
