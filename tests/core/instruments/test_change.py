"""Change from baseline, clinically important change, IMMPACT categories and trajectories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kratomwatch.core import instruments
from kratomwatch.core.instruments import (
    InstrumentMismatch,
    MixedTimezones,
    PainReductionCategory,
    ScoreOutOfRange,
    change_from_baseline,
    immpact_pain_category,
    percent_change,
    score,
    trajectory,
)

PHQ9 = instruments.get("phq9")
GAD7 = instruments.get("gad7")
BPI = instruments.get("bpi_sf")
PAIN = instruments.get("pain_nrs")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# --- MCIDs: PHQ-9 5 (Löwe 2004), GAD-7 4 (Toussaint 2020), BPI interference 1 (Dworkin 2008) ----------


@pytest.mark.parametrize(
    ("baseline", "follow_up", "improvement", "worsening"),
    [(15, 10, True, False), (15, 11, False, False), (10, 15, False, True), (12, 12, False, False)],
)
def test_phq9_mcid_of_5_points_is_direction_aware(
    baseline: int, follow_up: int, improvement: bool, worsening: bool
) -> None:
    change = change_from_baseline(PHQ9, baseline, follow_up)
    assert change.absolute_change == follow_up - baseline
    assert isinstance(change.absolute_change, int)
    assert change.important_change_points == 5
    assert change.important_improvement is improvement
    assert change.important_worsening is worsening
    assert change.responder is improvement
    assert change.citations[0].pmid == "15550799"


def test_gad7_mcid_of_4_points() -> None:
    assert change_from_baseline(GAD7, 12, 8).important_improvement is True
    assert change_from_baseline(GAD7, 12, 9).important_improvement is False


def test_bpi_interference_mcid_of_1_point_survives_float_error() -> None:
    baseline, follow_up = 12 / 7, 5 / 7  # 12/7 - 5/7 == 0.9999999999999999 in binary floating point
    assert baseline - follow_up < 1
    change = change_from_baseline(BPI, baseline, follow_up, scale_id="interference")
    assert change.important_improvement is True
    assert change_from_baseline(BPI, 5.0, 4.25, scale_id="interference").important_improvement is False


def test_scale_without_published_mcid_reports_none_not_false() -> None:
    change = change_from_baseline(instruments.get("peg"), 6.0, 2.0)
    assert change.improved and not change.worsened
    assert change.important_change_points is None
    assert change.important_improvement is None and change.responder is None
    assert change.pain_category is None


def test_percent_change_and_zero_baseline() -> None:
    assert percent_change(20, 15) == -25.0
    assert percent_change(0, 5) is None
    change = change_from_baseline(PHQ9, 0, 3)
    assert change.percent_change is None and change.worsened


def test_out_of_range_scores_are_refused() -> None:
    with pytest.raises(ScoreOutOfRange, match="phq9: scale total score 28"):
        change_from_baseline(PHQ9, 28, 10)
    with pytest.raises(ScoreOutOfRange):
        change_from_baseline(BPI, 5.0, -0.5, scale_id="severity")


# --- IMMPACT pain categories (Dworkin 2008) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "follow_up", "category"),
    [
        (10, 10, PainReductionCategory.NONE),
        (10, 12, PainReductionCategory.NONE),
        (10, 9.1, PainReductionCategory.NONE),
        (10, 9, PainReductionCategory.MINIMAL),
        (10, 7.1, PainReductionCategory.MINIMAL),
        (10, 7, PainReductionCategory.MODERATE),
        (10, 5.1, PainReductionCategory.MODERATE),
        (10, 5, PainReductionCategory.SUBSTANTIAL),
        (7, 0, PainReductionCategory.SUBSTANTIAL),
        (0, 0, None),
    ],
)
def test_immpact_pain_categories(baseline: float, follow_up: float, category: PainReductionCategory | None) -> None:
    assert immpact_pain_category(baseline, follow_up) == category


def test_pain_nrs_responder_uses_the_30_percent_immpact_benchmark() -> None:
    moderate = change_from_baseline(PAIN, 8, 5)  # 37.5 % reduction
    assert moderate.pain_category is PainReductionCategory.MODERATE and moderate.responder is True
    minimal = change_from_baseline(PAIN, 8, 6)  # 25 % reduction
    assert minimal.pain_category is PainReductionCategory.MINIMAL and minimal.responder is False
    assert minimal.responder_rule is not None and "30%" in minimal.responder_rule
    assert change_from_baseline(PHQ9, 20, 10).pain_category is None  # not a pain-intensity scale


@settings(max_examples=200, deadline=None)
@given(baseline=st.integers(1, 10), first=st.integers(0, 10), second=st.integers(0, 10))
def test_immpact_category_is_monotone_in_the_follow_up(baseline: int, first: int, second: int) -> None:
    order = list(PainReductionCategory)
    low, high = sorted((first, second))
    category_low = immpact_pain_category(baseline, low)
    category_high = immpact_pain_category(baseline, high)
    assert category_low is not None and category_high is not None
    assert order.index(category_low) >= order.index(category_high)  # a lower follow-up is never a worse category


# --- Trajectories -------------------------------------------------------------------------------------


def _phq9(total: int | None) -> instruments.ScoreResult:
    if total is None:
        return score(PHQ9, [1] * 8 + [None])
    answers = [3] * (total // 3) + [total % 3] + [0] * 9
    return score(PHQ9, answers[:9])


def test_trajectory_sorts_and_uses_first_and_last_valid_points() -> None:
    observations = [
        (T0 + timedelta(days=60), _phq9(9)),
        (T0, _phq9(None)),  # earliest but invalid: not the baseline
        (T0 + timedelta(days=14), _phq9(18)),
        (T0 + timedelta(days=30), _phq9(14)),
        (T0 + timedelta(days=90), _phq9(None)),  # latest but invalid: not the latest
    ]
    result = trajectory(PHQ9, observations)
    assert [p.at for p in result.points] == sorted(p.at for p in result.points)
    assert result.valid_points == 3
    assert (
        result.baseline is not None and result.baseline.value == 18 and result.baseline.band_id == "moderately_severe"
    )
    assert result.latest is not None and result.latest.value == 9 and result.latest.at == T0 + timedelta(days=60)
    assert result.change is not None and result.change.absolute_change == -9
    assert result.change.percent_change == -50.0
    assert result.responder is True


def test_trajectory_with_one_valid_point_has_no_change() -> None:
    result = trajectory(PHQ9, [(T0, _phq9(12)), (T0 + timedelta(days=7), _phq9(None))])
    assert result.baseline == result.latest
    assert result.change is None and result.responder is None


def test_trajectory_of_a_sub_scale() -> None:
    first = score(BPI, [8, 2, 5, 4, 6, 6, 6, 6, 6, 6, 6])
    second = score(BPI, [6, 1, 3, 2, 5, 5, 5, None, 5, None, 5])  # prorated interference 5.0
    result = trajectory(BPI, [(T0 + timedelta(days=28), second), (T0, first)], scale_id="interference")
    assert result.change is not None
    assert (result.change.baseline, result.change.follow_up) == (6.0, 5.0)
    assert result.change.important_improvement is True
    severity = trajectory(BPI, [(T0, first), (T0 + timedelta(days=28), second)], scale_id="severity")
    assert severity.change is not None and severity.change.important_change_points is None


def test_trajectory_refuses_another_instruments_scores() -> None:
    with pytest.raises(InstrumentMismatch) as caught:
        trajectory(PHQ9, [(T0, _phq9(5)), (T0 + timedelta(days=1), score(GAD7, [0] * 7))])
    assert caught.value.position == 2 and caught.value.got == "gad7"


def test_trajectory_refuses_mixed_naive_and_aware_times() -> None:
    with pytest.raises(MixedTimezones) as caught:
        trajectory(PHQ9, [(T0, _phq9(5)), (datetime(2026, 2, 1), _phq9(4))])
    assert caught.value.position == 2


def test_trajectory_with_no_observations() -> None:
    result = trajectory(PHQ9, [])
    assert result.points == () and result.baseline is None and result.change is None
