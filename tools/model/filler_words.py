"""Common English words that carry no rated sentiment: the filler that teaches the model what flat text looks like.

wordfreq ranks English words by how often they occur (subtitles, news, web, books...); its top 30,000, minus every
word the VADER lexicon rates and every near-inflection of a rated word, are the words a headline is mostly made of
and that the lexicon calls neutral. Without them the model only ever sees a few hundred flat words and reads
sentiment into pieces of unseen ones ("dis-" of *discuss* from *disaster*, *dislike*).

Near-inflections (*kills* of *kill*, *injure* of *injured*) are left out, not trained as flat: the lexicon rates
their stem, so calling them neutral would teach the opposite of what it says.
"""

from __future__ import annotations

from collections.abc import Mapping

SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "est", "ly", "y", "ness", "ful", "ment", "ments")


def near_rated(word: str, rated: Mapping[str, float]) -> bool:
    """True when word is a rated word plus or minus a common suffix."""
    for suffix in SUFFIXES:
        if word + suffix in rated:
            return True
        stem = word[:-len(suffix)]
        if word.endswith(suffix) and stem and (stem in rated or stem + "e" in rated):
            return True
    return False


def filler_words(lexicon: Mapping[str, float], top: int = 30_000) -> list[str]:
    from wordfreq import top_n_list

    words = top_n_list("en", top)
    return sorted({w for w in words if w.isalpha() and w.isascii() and len(w) >= 2
                   and w not in lexicon and not near_rated(w, lexicon)})
