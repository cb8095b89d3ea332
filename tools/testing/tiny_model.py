"""Generate a tiny DistilBERT sentiment model and pack it like production.

The production artifact is a Hugging Face model directory (config.json,
model.safetensors, tokenizer files) packed as ``model.tar.gz``
(``tools/bazel run //tools/model:publish`` puts them under ``model/``; the
function also takes them at the tar root, which is what this module packs by
default). Tests cannot download that model (no model hub here), so this
module builds a structurally identical one locally:

* a real WordPiece tokenizer (vocab.txt built from a small word list plus
  single characters, so every word tokenizes to known pieces, never only
  ``[UNK]``), saved with ``save_pretrained``;
* a ``DistilBertForSequenceClassification`` with ``id2label`` = {0: NEGATIVE,
  1: POSITIVE} like the SST-2 fine-tune. The tiny variant is trained for a few
  dozen steps on synthetic sentences so that its predictions mean something
  (clearly positive text -> POSITIVE with high confidence, mixed text -> low
  confidence), which lets tests exercise both the labelled and the
  below-threshold ("neutral") paths with natural inputs.

``full_size=True`` builds default DistilBERT dimensions (dim 768, 6 layers,
30522 vocab) with random weights, for cold-start / latency benchmarks.

CLI: ``python -m tools.testing.tiny_model OUT_DIR [--full-size]`` writes
``OUT_DIR/model/`` and ``OUT_DIR/model.tar.gz`` and prints the tarball SHA-256.
"""

from __future__ import annotations

import argparse
import io
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The same reproducible packing as the publish tool's (re-exported: callers use tiny_model.sha256_file).
from tools.model.archive import sha256_file, write_tar_gz

POSITIVE_WORDS = [
    "good", "great", "excellent", "love", "wonderful", "amazing", "happy", "best",
    "fantastic", "brilliant", "success", "win", "growth", "strong", "gain",
    "positive", "beautiful", "perfect", "enjoy", "delight", "superb", "profit",
    "record", "praise", "hope",
]
NEGATIVE_WORDS = [
    "bad", "terrible", "awful", "hate", "horrible", "worst", "sad", "poor",
    "failure", "lose", "loss", "crash", "weak", "decline", "negative", "ugly",
    "broken", "angry", "disaster", "fraud", "crisis", "fear", "scandal", "war",
    "collapse",
]
NEUTRAL_WORDS = [
    "the", "a", "an", "is", "was", "this", "that", "it", "of", "and", "to", "in",
    "on", "for", "with", "market", "company", "report", "today", "news", "said",
    "product", "movie", "service", "people", "city", "year", "new", "week",
    "government", "stock", "price", "team", "game", "data", "model", "analysis",
    "update", "announced", "about", "very", "really", "i", "we", "they", "you",
    "not", "but", "so", "quarter", "results",
]

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ID2LABEL = {0: "NEGATIVE", 1: "POSITIVE"}
FULL_VOCAB_SIZE = 30522  # bert-base-uncased / distilbert vocabulary size


@dataclass(frozen=True)
class ModelArtifact:
    model_dir: Path
    tarball: Path
    sha256: str


def build_vocab(size: int | None = None) -> list[str]:
    """WordPiece vocab: specials, chars and ``##`` chars (full coverage), words."""
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    punct = list(".,!?;:'\"-()#@&/$%")
    vocab = list(SPECIAL_TOKENS) + chars + punct + ["##" + c for c in chars]
    seen = set(vocab)
    for word in POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS + ["##s", "##ing", "##ed", "##ly"]:
        if word not in seen:
            vocab.append(word)
            seen.add(word)
    if size is not None:
        if size < len(vocab):
            raise ValueError(f"vocab size {size} is smaller than the base vocab {len(vocab)}")
        vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def _synthetic_batch(rng: random.Random, n: int) -> tuple[list[str], list[float]]:
    """Sentences with a P(positive) target: 1.0, 0.0, or 0.5 for neutral-only ones."""
    texts, targets = [], []
    for _ in range(n):
        kind = rng.randint(0, 2)
        words = rng.sample(NEUTRAL_WORDS, rng.randint(2, 6))
        if kind < 2:
            polar = POSITIVE_WORDS if kind == 1 else NEGATIVE_WORDS
            words += rng.sample(polar, rng.randint(1, 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
        targets.append(float(kind) if kind < 2 else 0.5)
    return texts, targets


def _train_briefly(model, tokenizer, seed: int, steps: int = 60) -> None:
    # A few dozen steps are enough for a 2-layer, 32-dim model to pick up the
    # word polarities; neutral-only sentences are trained towards 50/50 so
    # the model also produces low-confidence (-> "neutral") predictions.
    import torch

    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        texts, targets = _synthetic_batch(rng, 32)
        enc = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        logits = model(**enc).logits
        pos = torch.tensor(targets)
        target = torch.stack([1.0 - pos, pos], dim=-1)
        loss = -(target * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def build_model_dir(out_dir: Path, *, full_size: bool = False, seed: int = 1234,
                    weights: str = "safetensors") -> Path:
    """Write a Hugging Face model directory (config, weights, tokenizer) to out_dir."""
    import torch
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        DistilBertTokenizer,
    )

    if weights not in ("safetensors", "bin"):
        raise ValueError("weights must be 'safetensors' or 'bin'")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)

    vocab = build_vocab(FULL_VOCAB_SIZE if full_size else None)
    vocab_file = out_dir / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = DistilBertTokenizer(vocab=str(vocab_file), do_lower_case=True, model_max_length=512)

    common = dict(
        vocab_size=len(vocab),
        max_position_embeddings=512,
        id2label=dict(ID2LABEL),
        label2id={v: k for k, v in ID2LABEL.items()},
        pad_token_id=0,
    )
    if full_size:
        config = DistilBertConfig(**common)  # library defaults: dim 768, 6 layers, 12 heads
    else:
        config = DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                  dropout=0.0, attention_dropout=0.0, seq_classif_dropout=0.0,
                                  **common)
    model = DistilBertForSequenceClassification(config)
    if not full_size:
        _train_briefly(model, tokenizer, seed)
    model.eval()

    tokenizer.save_pretrained(out_dir)
    model.save_pretrained(out_dir)
    if weights == "bin":
        # Older exports ship pytorch_model.bin instead of safetensors.
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        torch.save(state, out_dir / "pytorch_model.bin")
        (out_dir / "model.safetensors").unlink()
    return out_dir


def pack_model(model_dir: Path, tarball: Path, *, top_dir: str | None = None) -> str:
    """Pack model_dir as a .tar.gz (files at the root, or under top_dir).

    Returns the tarball's SHA-256 hex digest.
    """
    tarball = Path(tarball)
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with open(tarball, "wb") as raw:
        write_tar_gz(raw, Path(model_dir), top_dir=top_dir)
    return sha256_file(tarball)


def build_artifact(out_dir: Path, *, full_size: bool = False, seed: int = 1234,
                   top_dir: str | None = None) -> ModelArtifact:
    out_dir = Path(out_dir)
    model_dir = build_model_dir(out_dir / "model", full_size=full_size, seed=seed)
    tarball = out_dir / "model.tar.gz"
    sha = pack_model(model_dir, tarball, top_dir=top_dir)
    return ModelArtifact(model_dir=model_dir, tarball=tarball, sha256=sha)


def tar_bytes(model_dir: Path, *, top_dir: str | None = None, extra_files: Mapping[str, bytes] | None = None) -> bytes:
    """Pack into memory (convenience for tests uploading to S3); extra_files (name -> content), e.g. a
    publish.json, are packed beside the model's files."""
    buf = io.BytesIO()
    write_tar_gz(buf, Path(model_dir), top_dir=top_dir, extra_files=extra_files)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--full-size", action="store_true",
                        help="default DistilBERT dimensions with random weights (benchmarks)")
    parser.add_argument("--top-dir", default=None,
                        help="pack files under this top-level directory instead of the tar root")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    art = build_artifact(args.out_dir, full_size=args.full_size, seed=args.seed, top_dir=args.top_dir)
    print(f"model_dir={art.model_dir}")
    print(f"tarball={art.tarball}")
    print(f"sha256={art.sha256}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
