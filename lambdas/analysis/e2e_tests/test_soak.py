"""The short soak: the real image in two execution environments under the faults and with the invariant of
`tools/bazel run //bench:soak`, on fewer items (tools/soak/soak.py SHORT). Speed figures are printed, never asserted."""

import os
from pathlib import Path

import pytest

from tools.lambda_emulator import OUTCOME_RUNTIME_EXIT
from tools.local.module_defaults import MODULE_DEFAULTS
from tools.soak.markdown import section
from tools.soak.soak import SHORT, run

IMAGE = Path(os.environ["IMAGE_LAYOUT"]).resolve()
TINY_MODEL = Path(os.environ["TINY_MODEL"]).resolve()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run(IMAGE, TINY_MODEL, tmp_path_factory.mktemp("soak"), SHORT, progress=print)


@pytest.fixture(scope="module")
def figures(result):
    return result.figures()


def test_the_figures_are_in_the_log(figures, capsys):
    with capsys.disabled():  # in test.log even when the test passes
        print("\n" + section(figures))
    assert not figures["under_faults"]["timed_out"] and not figures["baseline"]["timed_out"]


def test_every_item_is_analyzed_exactly_once(result):
    verdict = result.verdict
    assert verdict.lost == [] and verdict.double_written == [] and verdict.overwritten == []
    assert verdict.analyzed == verdict.items == SHORT.items + SHORT.baseline_items


def test_every_poison_record_is_dead_lettered_with_its_reason_and_no_good_item_is(result):
    assert result.verdict.poison_missing == [] and result.verdict.good_dead_lettered == []
    assert result.verdict.dead_lettered == result.verdict.poison > 0


def test_nothing_ran_out_of_retries(result):
    assert result.redeliveries["sns_on_failure"] == 0 and result.redeliveries["sqs_dlq"] == 0


def test_every_kind_of_fault_was_injected(result):
    assert set(result.faults) == {"dynamodb throttled", "dynamodb 500", "dynamodb held", "s3 503", "s3 truncated"}
    assert all(result.faults.values()), result.faults


def test_the_function_reported_records_for_retry_and_they_came_again(figures, result):
    assert figures["under_faults"]["function_reported_retries"] > 0
    assert result.redeliveries["sqs_redelivered"] > 0 and result.redeliveries["sns_retries"] > 0


def test_a_container_was_killed_mid_batch_and_a_new_one_took_over(result):
    killed = result.killed_call()
    assert killed is not None and killed.path == "sqs", result.kill
    assert killed.result.record.status == OUTCOME_RUNTIME_EXIT
    victim = next(env for env in result.environments if env.name == result.kill.environment)
    assert list(victim.peaks)[0] == result.kill.container_id and len(victim.peaks) >= 2
    after = result.under_faults.calls[result.under_faults.calls.index(killed) + 1:]
    assert any(c.environment == victim.name and c.result.ok for c in after)


def test_twins_reached_both_environments_and_at_most_one_wrote(result):
    pairs = result.twin_pairs()
    assert len(pairs) == SHORT.twins and all(len(pair) == 2 for pair in pairs)
    assert all(sum(s.get("analyzed", 0) for s in pair) <= 1 for pair in pairs)


def test_sns_invokes_with_one_record_and_sqs_with_at_most_the_batch_size(result):
    calls = result.under_faults.calls + result.baseline.calls
    assert {c.records for c in calls if c.path == "sns"} == {1}
    assert max(c.records for c in calls if c.path == "sqs") <= MODULE_DEFAULTS["sqs_batch_size"]


def test_every_container_reports_its_peak_memory(result):
    for env in result.environments:
        assert env.peaks and all(0 < peak < 2048 * 2**20 for peak in env.peaks.values()), env.peaks
