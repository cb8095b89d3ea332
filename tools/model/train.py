"""Train the demo sentiment model: a small DistilBERT-architecture classifier on VADER-labelled sentences.

    train.py --out DIR [--held-out FILE ...]     (Bazel: //tools/model:demo_model)

Writes DIR/model/ (a Hugging Face model directory, loadable by lambdas/analysis/sentiment.py) and
DIR/model.tar.gz (the same files under a top-level model/ directory, as production ships them). Every source of
randomness is seeded and torch runs one thread with deterministic algorithms, so the same inputs give the same
weights and tarball bytes on this machine (the action is then cacheable as a whole).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import string
import time
from dataclasses import dataclass
from pathlib import Path

from tools.model import training_data
from tools.model.filler_words import filler_words
from tools.testing.tiny_model import ID2LABEL, SPECIAL_TOKENS, pack_model


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the weights; changing any field changes the model."""

    seed: int = 20261127
    examples: int = 192_000
    epochs: int = 2
    batch_size: int = 64
    learning_rate: float = 4e-4
    warmup_share: float = 0.05
    vocab_size: int = 16_000
    dim: int = 128
    layers: int = 2
    heads: int = 4
    hidden_dim: int = 512
    max_tokens: int = 64


def held_out_texts(paths: list[Path]) -> list[str]:
    """Texts of evaluation files: TSV lines (label<TAB>text) or one text per line."""
    texts = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line.split("\t", 1)[-1])
    return texts


def deterministic_torch(seed: int):
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # one thread: reductions run in one order, and the benchmark keeps the other core
    torch.use_deterministic_algorithms(True)
    return torch


def train_tokenizer(texts: list[str], extra_words: list[str], recipe: Recipe, out_dir: Path):
    """A lower-casing WordPiece vocabulary learnt from the training text (tokenizers), saved as vocab.txt."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import DistilBertTokenizer

    # Digits and punctuation never occur in the training text but do in headlines: in the alphabet they get
    # pieces of their own instead of [UNK].
    alphabet = list(string.ascii_lowercase + string.digits + string.punctuation)
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    # The trainer numbers "##x" pieces in hash-map order, which differs per process, and breaks ties between
    # equally frequent merges by those numbers: the vocabulary would differ run to run. Listing every "##x" up
    # front fixes their numbers, and with them the whole vocabulary.
    # Every rated and filler word once besides the sentences, so rare ones still get pieces of their own.
    wordpiece.train_from_iterator(texts + extra_words, vocab_size=recipe.vocab_size, min_frequency=1,
                                  special_tokens=SPECIAL_TOKENS + ["##" + c for c in alphabet],
                                  initial_alphabet=alphabet, show_progress=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    wordpiece.save_model(str(out_dir))
    return DistilBertTokenizer(vocab=str(out_dir / "vocab.txt"), do_lower_case=True, model_max_length=512)


def build_model(recipe: Recipe, vocab_size: int):
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    config = DistilBertConfig(vocab_size=vocab_size, dim=recipe.dim, n_layers=recipe.layers, n_heads=recipe.heads,
                              hidden_dim=recipe.hidden_dim, max_position_embeddings=512, pad_token_id=0,
                              id2label=dict(ID2LABEL), label2id={v: k for k, v in ID2LABEL.items()})
    return DistilBertForSequenceClassification(config)


def encode(tokenizer, examples: list[training_data.Example], max_tokens: int) -> list[list[int]]:
    # Once for all sentences: per step only padding is left (the tokenizer call per batch cost a third of a step).
    return tokenizer([e.text for e in examples], truncation=True, max_length=max_tokens)["input_ids"]


def collate(torch, ids: list[list[int]], pad_id: int):
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, :len(row)] = torch.tensor(row)
    return {"input_ids": input_ids, "attention_mask": (input_ids != pad_id).long()}


def fit(model, tokenizer, examples: list[training_data.Example], recipe: Recipe, torch, log) -> None:
    rng = random.Random(recipe.seed)
    ids = encode(tokenizer, examples, recipe.max_tokens)
    steps_per_epoch = len(examples) // recipe.batch_size
    total = steps_per_epoch * recipe.epochs
    warmup = max(1, int(total * recipe.warmup_share))
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup))))
    model.train()
    step, running = 0, 0.0
    for epoch in range(recipe.epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for b in range(steps_per_epoch):
            batch = order[b * recipe.batch_size:(b + 1) * recipe.batch_size]
            enc = collate(torch, [ids[i] for i in batch], tokenizer.pad_token_id)
            pos = torch.tensor([examples[i].p_positive for i in batch])
            # Soft cross-entropy against (P(negative), P(positive)): flat sentences are trained towards 50/50.
            loss = -(torch.stack([1 - pos, pos], dim=-1) * torch.log_softmax(model(**enc).logits, -1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
            step += 1
            if step % 200 == 0:
                log(f"epoch {epoch + 1} step {step}/{total} loss {running / 200:.4f}")
                running = 0.0
    model.eval()


def _log(message: str) -> None:
    print(message, flush=True)  # progress of a minutes-long action, also when stdout is a file


def train(out: Path, held_out: list[Path], recipe: Recipe = Recipe(), log=_log) -> Path:
    """Writes out/model/ and out/model.tar.gz; returns the tarball path."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    started = time.monotonic()
    torch = deterministic_torch(recipe.seed)
    analyzer = SentimentIntensityAnalyzer()
    generator = training_data.Generator(analyzer, held_out_texts(held_out), filler_words(analyzer.lexicon))
    examples = generator.examples(recipe.examples, recipe.seed)
    log(f"{len(examples)} sentences ({generator.dropped} dropped for overlapping held-out text) "
        f"in {time.monotonic() - started:.0f} s")
    model_dir = out / "model"
    tokenizer = train_tokenizer([e.text for e in examples], generator.rated + generator.frames.words()
                                + generator.filler, recipe, model_dir)
    model = build_model(recipe, len(tokenizer))
    log(f"model: dim {recipe.dim}, {recipe.layers} layers, vocab {len(tokenizer)}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters")
    fit(model, tokenizer, examples, recipe, torch, log)
    tokenizer.save_pretrained(model_dir)
    model.save_pretrained(model_dir)
    tarball = out / "model.tar.gz"
    sha = pack_model(model_dir, tarball, top_dir="model")
    log(f"trained in {time.monotonic() - started:.0f} s; {tarball} sha256={sha}")
    return tarball


def recipe(overrides: list[str]) -> Recipe:
    fields = {f.name: f.type for f in dataclasses.fields(Recipe)}
    changes = {}
    for item in overrides:
        key, _, value = item.partition("=")
        if key not in fields:
            raise SystemExit(f"train: --recipe {item}: no field {key!r} (fields: {', '.join(fields)})")
        changes[key] = float(value) if fields[key] == "float" else int(value)
    return dataclasses.replace(Recipe(), **changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--held-out", type=Path, action="append", default=[],
                        help="texts never to train on (TSV label<TAB>text, or one per line); repeatable")
    parser.add_argument("--recipe", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a Recipe field when trying variants (the Bazel target uses the defaults)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    train(args.out, args.held_out, recipe(args.recipe))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
