"""The soak's plan: every item delivered, duplicates after their first delivery, twins on SNS, poison named."""

from collections import Counter

from tools.soak.scenario import plan
from tools.testing.events import poison_messages

PLAN = plan(400, seed=3, duplicate_share=0.1, twins=5, poison_sets=2)


def test_every_item_is_published_and_only_the_duplicates_twice():
    counts = Counter(m.key for m in PLAN.messages if m.key is not None)
    assert set(counts) == set(PLAN.keys)
    assert sorted(Counter(counts.values()).items()) == [(1, 360), (2, 40)]


def test_a_duplicate_comes_after_its_first_delivery_on_the_same_path_with_the_same_message_id():
    first = {}
    for index, message in enumerate(PLAN.messages):
        if message.key is None:
            continue  # poison
        if message.key in first:
            earlier = PLAN.messages[first[message.key]]
            assert index > first[message.key]
            assert (earlier.path, earlier.message_id) == (message.path, message.message_id)
        first.setdefault(message.key, index)


def test_items_arrive_out_of_timestamp_order():
    stamps = [m.body["timestamp"] for m in PLAN.messages if m.key is not None]
    assert stamps != sorted(stamps)


def test_twins_are_sns_messages_delivered_once_besides():
    twins = [m for m in PLAN.messages if m.twin]
    assert len(twins) == 5 and {m.path for m in twins} == {"sns"}
    assert not {m.key for m in twins} & PLAN.once


def test_items_delivered_once_are_neither_duplicated_nor_twins():
    counts = Counter(m.key for m in PLAN.messages if m.key is not None)
    assert PLAN.once == {key for key, n in counts.items() if n == 1} - {m.key for m in PLAN.messages if m.twin}


def test_each_poison_message_is_published_once_under_an_id_that_names_it():
    poison = [m for m in PLAN.messages if m.key is None]
    assert len(poison) == len(PLAN.poison) == 2 * len(poison_messages())
    assert sorted(m.message_id for m in poison) == sorted(p.message_id for p in PLAN.poison)


def test_the_same_seed_gives_the_same_plan_and_separate_ranges_share_no_key():
    assert plan(50, seed=9).messages == plan(50, seed=9).messages
    assert not set(plan(50, seed=9).keys) & set(plan(50, seed=9, first=50).keys)
