"""The pure n-of-1 design module: validation names the problem, the seeded schedule is reproducible and balanced,
the periods are contiguous, day roles and adherence are computed as documented."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from kratomwatch.core.errors import InputError
from kratomwatch.core.nof1_design import Design, adherence, day_roles, randomize, schedule, validate

START = dt.date(2026, 3, 2)


def design(**changes: object) -> Design:
    fields: dict[str, object] = {
        "conditions": ("A", "B"),
        "reference": "A",
        "period_days": 7,
        "blocks": 3,
        "washout_days": 2,
        "run_in_days": 3,
    }
    return Design(**(fields | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"reference": ""}, "reference", "reference condition"),
        ({"reference": "C"}, "reference", "one of the conditions"),
        ({"washout_days": 7}, "washout_days", "shorter than the period"),
        ({"washout_days": 9}, "washout_days", "shorter than the period"),
        ({"blocks": 1}, "blocks", "between 2"),
        ({"conditions": ("A", "B", "A")}, "conditions", "named twice"),
        ({"conditions": ("A",)}, "conditions", "at least two"),
        ({"conditions": ("A", " ")}, "conditions.1", "short code"),
        ({"period_days": 0, "washout_days": 0}, "period_days", "between 1"),
        ({"blocks": 12, "period_days": 90, "washout_days": 0}, "period_days", "would last"),
    ],
)
def test_a_design_that_cannot_run_is_refused_naming_the_field(
    changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InputError) as problem:
        validate(design(**changes))
    assert problem.value.field == field
    assert words in problem.value.message


def test_a_valid_design_is_returned_unchanged() -> None:
    d = design()
    assert validate(d) is d
    assert d.total_days == 3 + 3 * 2 * 7


def test_the_order_is_reproducible_from_the_seed_and_differs_between_seeds() -> None:
    d = design(conditions=("A", "B", "C"), blocks=6)
    assert randomize(d, 12345) == randomize(d, 12345)
    orders = {tuple(randomize(d, seed)) for seed in range(20)}
    assert len(orders) > 1, "different seeds give different orders"


def test_every_condition_appears_once_in_every_block() -> None:
    d = design(conditions=("A", "B", "C"), blocks=5)
    for seed in (0, 1, 2**62):
        order = randomize(d, seed)
        for block in range(1, 6):
            assert sorted(c for b, c in order if b == block) == ["A", "B", "C"]
        assert [b for b, _ in order] == sorted(b for b, _ in order), "blocks come one after another"


def test_a_bad_seed_is_refused() -> None:
    with pytest.raises(InputError) as problem:
        randomize(design(), -1)
    assert problem.value.field == "seed"


def test_the_periods_are_contiguous_after_the_run_in_with_the_washout_at_their_start() -> None:
    d = design()
    slots = schedule(d, 7, START)
    assert slots[0].start == START + dt.timedelta(days=3)
    assert [s.position for s in slots] == list(range(1, 7))
    for before, after in itertools.pairwise(slots):
        assert after.start == before.end + dt.timedelta(days=1)
    for s in slots:
        assert (s.end - s.start).days + 1 == 7
        assert s.analysed_from == s.start + dt.timedelta(days=2)
    assert slots[-1].end == START + dt.timedelta(days=d.total_days - 1)


def test_day_roles_cover_every_day_once_with_run_in_washout_and_analysed_days() -> None:
    d = design()
    slots = schedule(d, 7, START)
    roles = day_roles(d, START, slots)
    assert [r.day for r in roles] == [START + dt.timedelta(days=i) for i in range(d.total_days)]
    counts = {role: sum(1 for r in roles if r.role == role) for role in ("run-in", "washout", "analysed")}
    assert counts == {"run-in": 3, "washout": 6 * 2, "analysed": 6 * 5}
    assert all(r.condition is None for r in roles[:3])


def test_adherence_means_count_days_without_a_dose_as_zero_and_flag_a_deviation() -> None:
    d = design(conditions=("A", "B"), blocks=2, washout_days=0, run_in_days=0, period_days=4)
    slots = schedule(d, 3, START)
    first = slots[0]
    days = [first.start + dt.timedelta(days=i) for i in range(4)]
    # 3 of 4 days with 40 mg: mean 30 mg/day; 7-OH 1 mg on one day: mean 0.25.
    daily = {days[0]: (40.0, 1.0), days[1]: (40.0, 0.0), days[2]: (40.0, 0.0)}
    targets = {first.condition: (40.0, None), ("B" if first.condition == "A" else "A"): (0.0, 0.0)}
    rows = adherence(slots, daily, targets, through=days[-1])
    assert len(rows) == 1, "only periods begun by 'through' are measured"
    row = rows[0]
    assert (row.days, row.days_with_doses) == (4, 3)
    assert row.mitragynine_mg == pytest.approx(30.0)
    assert row.seven_oh_mg == pytest.approx(0.25)
    assert row.deviation is not None and "30.0 mg/day against a target of 40" in row.deviation  # 25 % > 20 %
    within = adherence(slots, daily, targets, through=days[-1], tolerance=0.3)
    assert within[0].deviation is None


def test_a_zero_target_deviates_at_any_mg_and_a_period_in_progress_counts_its_days_so_far() -> None:
    d = design(conditions=("A", "B"), blocks=2, washout_days=1, run_in_days=0, period_days=4)
    slots = schedule(d, 3, START)
    second = slots[1]
    zero = {second.condition: (0.0, None)}
    rows = adherence(slots, {second.analysed_from: (5.0, 0.0)}, zero, through=second.analysed_from)
    assert [r.position for r in rows] == [1, 2]
    assert rows[1].days == 1 and rows[1].deviation is not None
    assert rows[0].deviation is None, "no target: no deviation"


def test_a_bad_tolerance_is_refused() -> None:
    slots = schedule(design(), 1, START)
    with pytest.raises(InputError) as problem:
        adherence(slots, {}, {}, through=START, tolerance=0)
    assert problem.value.field == "tolerance"
