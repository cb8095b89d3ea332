"""plan_batches: every text exactly once, shortest first, no batch over the text count or the padded-token budget."""

import pytest

from lambdas.analysis.sentiment import plan_batches


def check(lengths, batch_size, budget):
    batches = plan_batches(lengths, batch_size, budget)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    flat = [lengths[i] for batch in batches for i in batch]
    assert flat == sorted(flat)
    for batch in batches:
        assert len(batch) <= batch_size
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= budget
    return batches


def test_headlines_stay_in_one_batch_of_the_batch_size():
    assert [len(b) for b in check([20] * 40, 32, 4096)] == [32, 8]


def test_the_longest_texts_go_eight_at_a_time_under_4096_tokens():
    assert [len(b) for b in check([512] * 32, 32, 4096)] == [8, 8, 8, 8]


def test_a_text_over_the_budget_alone_still_gets_a_batch():
    assert check([512, 3], 32, 100) == [[1], [0]]


@pytest.mark.parametrize("lengths", [[5, 400, 30, 512, 512, 7, 90, 200], list(range(1, 60)), []])
def test_mixed_lengths_are_sorted_and_bounded(lengths):
    check(lengths, 4, 600)
