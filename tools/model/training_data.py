"""Labelled training sentences for the demo model: flat headline frames plus words the VADER lexicon rates.

No labelled sentiment corpus can be fetched here, but vaderSentiment ships a human-rated lexicon (7,500 tokens,
each the mean of ten raters' valence on -4..+4) and the rules that combine ratings into a sentence score
(negation, boosters, "but"). So: draw a flat news-style frame (headline_frames.py) or a run of common unrated
words (filler_words.py), insert zero, one or two rated words (sometimes after a negator), and let VADER's analyser
score the sentence. Its ``compound`` (-1..1) becomes a soft P(positive) target; sentences with no rated word
target 0.5, which is what teaches the model to be unsure (-> ``neutral`` below the handler's confidence
threshold) about flat text.

Sentences sharing a word 4-gram with a held-out text (the evaluation headlines) are dropped, so no evaluation
text is ever trained on.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tools.model.headline_frames import Frames

# VADER's own neutral band is |compound| < 0.05; the curve maps that band below 0.6 (the handler's default
# CONFIDENCE_THRESHOLD) and a single clearly rated word (|compound| ~0.3-0.5) to a confident 0.8-0.95.
_TARGET_SPREAD, _TARGET_SCALE = 0.48, 0.3
NEGATORS = ["not", "no", "never", "without"]  # VADER's rules flip the rated word after each
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Example:
    text: str
    compound: float  # VADER's normalised score of the whole sentence, -1..1
    p_positive: float  # the training target


def target(compound: float) -> float:
    return 0.5 + _TARGET_SPREAD * math.tanh(compound / _TARGET_SCALE)


def rated_words(lexicon: Mapping[str, float], min_abs: float = 0.5) -> list[str]:
    """Plain words (no emoticons, no 1-2 letter slang) whose mean rating is clearly off zero."""
    return sorted(w for w, v in lexicon.items() if w.isalpha() and len(w) >= 3 and abs(v) >= min_abs)


def ngrams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class Generator:
    def __init__(self, analyzer, held_out: Iterable[str] = (), filler: Sequence[str] = ()) -> None:
        self._analyzer = analyzer
        self.frames = Frames(analyzer.lexicon)
        self.filler = list(filler)
        self.rated = rated_words(analyzer.lexicon)
        self._held_out = set().union(*(ngrams(t) for t in held_out)) if held_out else set()
        self.dropped = 0  # sentences skipped for sharing a 4-gram with a held-out text

    def _pseudo_word(self, rng: random.Random) -> str:
        # Made-up words (names, places, jargon the lists lack) teach that unknown text is not evidence.
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))

    def _flat(self, rng: random.Random) -> list[str]:
        if self.filler and rng.random() < 0.35:
            return rng.sample(self.filler, min(len(self.filler), rng.randint(4, 9)))
        words = self.frames.draw(rng)
        for _ in range(rng.randint(0, 2) if self.filler else 0):
            words.insert(rng.randrange(len(words) + 1), rng.choice(self.filler))
        return words

    def sentence(self, rng: random.Random) -> str:
        words = self._flat(rng)
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), self._pseudo_word(rng))
        roll = rng.random()
        inserts = 0 if roll < 0.3 else 1 if roll < 0.8 else 2
        for _ in range(inserts):
            phrase = [rng.choice(self.rated)]
            if rng.random() < 0.1:
                phrase.insert(0, rng.choice(NEGATORS))
            at = rng.randrange(len(words) + 1)
            words[at:at] = phrase
        return " ".join(words)

    def examples(self, n: int, seed: int) -> list[Example]:
        rng = random.Random(seed)
        out: list[Example] = []
        while len(out) < n:
            text = self.sentence(rng)
            if self._held_out and ngrams(text) & self._held_out:
                self.dropped += 1
                continue
            compound = self._analyzer.polarity_scores(text)["compound"]
            out.append(Example(text, compound, target(compound)))
        return out
