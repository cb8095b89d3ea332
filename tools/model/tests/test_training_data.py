"""The demo model's training sentences: labels follow the VADER lexicon, flat frames stay flat, held-out text
is never generated."""

import random

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tools.model import filler_words, headline_frames, training_data

ANALYZER = SentimentIntensityAnalyzer()


def test_target_maps_vader_neutral_band_below_the_threshold_and_rated_words_above():
    assert training_data.target(0.0) == 0.5
    assert 0.4 < training_data.target(-0.04) < training_data.target(0.04) < 0.6
    assert training_data.target(ANALYZER.polarity_scores("council wins award")["compound"]) > 0.8
    assert training_data.target(ANALYZER.polarity_scores("council fraud scandal")["compound"]) < 0.2


def test_frames_hold_no_rated_word():
    frames = headline_frames.Frames(ANALYZER.lexicon)
    assert not set(frames.words()) & set(ANALYZER.lexicon)
    # the filter works: a rated word in a list would be dropped
    assert headline_frames.neutral_words(["budget", "support"], {"support": 1.7}) == ["budget"]


def test_examples_are_labelled_by_vader_and_deterministic():
    generator = training_data.Generator(ANALYZER)
    examples = generator.examples(300, seed=7)
    assert examples == training_data.Generator(ANALYZER).examples(300, seed=7)
    for e in examples:
        assert e.compound == ANALYZER.polarity_scores(e.text)["compound"]
        assert e.p_positive == pytest.approx(training_data.target(e.compound))
    flat = [e for e in examples if not set(e.text.split()) & set(ANALYZER.lexicon)]
    assert flat and all(e.p_positive == 0.5 for e in flat)
    assert any(e.p_positive > 0.8 for e in examples) and any(e.p_positive < 0.2 for e in examples)


def test_sentences_sharing_four_words_with_held_out_text_are_dropped():
    frames = headline_frames.Frames(ANALYZER.lexicon)
    # A held-out text made of the commonest frame start: many generated sentences would share its 4-grams.
    rng = random.Random(1)
    held_out = [" ".join(frames.draw(rng)) for _ in range(200)]
    generator = training_data.Generator(ANALYZER, held_out)
    examples = generator.examples(500, seed=3)
    banned = set().union(*(training_data.ngrams(t) for t in held_out))
    assert generator.dropped > 0
    assert not any(training_data.ngrams(e.text) & banned for e in examples)


def test_filler_leaves_out_rated_words_and_their_inflections():
    lexicon = {"kill": -3.7, "injured": -1.7, "win": 2.8}
    assert filler_words.near_rated("kills", lexicon)
    assert filler_words.near_rated("injure", lexicon)
    assert filler_words.near_rated("winning", lexicon) is False  # doubled consonant: not caught, and not rated
    assert not filler_words.near_rated("discuss", lexicon)
    words = filler_words.filler_words(ANALYZER.lexicon, top=5000)
    assert "census" in words or "budget" in words
    assert not set(words) & set(ANALYZER.lexicon)
    assert "kills" not in words  # 'kill' is rated


def test_filler_sentences_are_flat_unless_a_rated_word_is_inserted():
    generator = training_data.Generator(ANALYZER, filler=["budget", "census", "timetable", "quarterly", "harbour"])
    examples = generator.examples(300, seed=11)
    assert any("census" in e.text for e in examples)
    for e in examples:
        if not set(e.text.split()) & set(ANALYZER.lexicon):
            assert e.p_positive == 0.5
