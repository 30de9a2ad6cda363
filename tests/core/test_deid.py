"""De-identification core: study IDs link within a project and not across, date shifts are per patient and never 0,
ages collapse at 90 (Safe Harbor), and k-anonymity holds for every released class after suppression."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kratomwatch.core import deid
from kratomwatch.core.errors import InputError

SECRET = "a-research-secret-of-some-length"
ids = st.lists(st.integers(min_value=1, max_value=2**40), min_size=1, max_size=30, unique=True)
projects = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=20)


@given(ids, projects)
@settings(max_examples=60, deadline=None)
def test_study_ids_and_shifts_are_consistent_within_a_project(patient_ids: list[int], project: str) -> None:
    key = deid.project_key(SECRET, project)
    again = deid.project_key(SECRET, project)
    first = deid.study_ids(key, patient_ids)
    assert first == deid.study_ids(again, patient_ids)
    assert all(re.fullmatch(r"S-[A-Z2-7]{12}", s) for s in first)
    assert len(set(first)) == len(patient_ids)
    shifts = deid.date_shifts(key, patient_ids)
    assert list(shifts) == list(deid.date_shifts(again, patient_ids))
    assert all(1 <= abs(int(d)) <= deid.SHIFT_MAX_DAYS for d in shifts)
    # One patient's shift does not depend on who else is exported with them.
    assert deid.shift_days(key, patient_ids[0]) == int(shifts[0])


@given(ids, projects, projects)
@settings(max_examples=60, deadline=None)
def test_two_projects_do_not_link(patient_ids: list[int], one: str, other: str) -> None:
    if one == other:
        return
    a = deid.study_ids(deid.project_key(SECRET, one), patient_ids)
    b = deid.study_ids(deid.project_key(SECRET, other), patient_ids)
    assert not set(a) & set(b)


def test_another_secret_gives_other_ids_and_the_key_is_not_printed() -> None:
    one = deid.project_key(SECRET, "p")
    two = deid.project_key(SECRET + "x", "p")
    assert deid.study_id(one, 7) != deid.study_id(two, 7)
    assert one.key.hex() not in repr(one) and SECRET not in repr(one)


def test_shifts_cover_both_directions_and_never_zero() -> None:
    shifts = deid.date_shifts(deid.project_key(SECRET, "spread"), list(range(1, 3001)))
    assert 0 not in shifts
    assert shifts.min() < -150 and shifts.max() > 150
    assert abs(int((shifts > 0).sum()) - 1500) < 150


@pytest.mark.parametrize(("secret", "project", "field"), [("short", "p", "research_secret"), (SECRET, " ", "project")])
def test_bad_key_input_names_the_field(secret: str, project: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        deid.project_key(secret, project)
    assert caught.value.field == field


def test_ages_collapse_at_ninety_and_bands() -> None:
    ages = deid.ages_at_enrolment([1930, 1936, 1937, 2000], [2026, 2026, 2026, 2026])
    assert list(ages) == [96, 90, 89, 26]
    assert list(deid.age_labels(ages)) == ["90+", "90+", "89", "26"]
    assert list(deid.age_bands(ages, 5)) == ["90+", "90+", "85-89", "25-29"]
    assert list(deid.age_bands(ages, 20)) == ["80+", "80+", "80+", "20-39"]
    with pytest.raises(InputError) as caught:
        deid.ages_at_enrolment([2030], [2026])
    assert caught.value.field == "birth_year"


def test_study_days_and_generalisations() -> None:
    assert list(deid.study_days([10, 12, 9], [10, 10, 10])) == [0, 2, -1]
    assert list(deid.generalise_jurisdiction(["US-TX", "GB", "US-FL"])) == ["US", "GB", "US"]
    assert list(deid.generalise_conditions(["chronic_pain|opioid_use_disorder", "", "adhd|anxiety"])) == [
        "pain|substance_use",
        "",
        "mental_health",
    ]


@pytest.mark.parametrize("k", [1, 0, -3])
def test_k_below_two_is_refused_naming_k(k: int) -> None:
    with pytest.raises(InputError) as caught:
        deid.k_anonymise([40], ["female"], ["US"], [""], k=k)
    assert caught.value.field == "k"


def test_a_unique_combination_is_suppressed() -> None:
    ages = [40] * 6 + [95]
    result = deid.k_anonymise(ages, ["female"] * 7, ["US-TX"] * 7, ["chronic_pain"] * 7, k=5)
    assert list(result.suppressed) == [False] * 6 + [True]
    assert result.age_band[-1] == deid.SUPPRESSED and result.jurisdiction[-1] == deid.SUPPRESSED
    # One suppressed row would be a class of one: that participant is withheld.
    assert not result.released[-1] and result.released[:6].all()
    assert result.classes() == [("40-44", "female", "US-TX", "chronic_pain", 6)]


def test_generalisation_climbs_before_suppressing() -> None:
    # Ten patients, two states of one country: at k = 5 the state splits them 6 / 4, the country does not.
    result = deid.k_anonymise([41] * 10, ["male"] * 10, ["US-TX"] * 6 + ["US-FL"] * 4, [""] * 10, k=5)
    assert result.generalisation.country_only
    assert not result.suppressed.any()
    assert result.small_rows_by_level[0] == 4


quasi = st.tuples(
    st.integers(min_value=18, max_value=100),
    st.sampled_from(["female", "male", "intersex", "unknown"]),
    st.sampled_from(["US-TX", "US-FL", "US-CA", "GB", "TH"]),
    st.sampled_from(["", "chronic_pain", "chronic_pain|depression", "opioid_use_disorder", "adhd|anxiety"]),
)


@given(st.lists(quasi, max_size=120), st.integers(min_value=2, max_value=8))
@settings(max_examples=80, deadline=None)
def test_every_released_class_has_at_least_k(rows: list[tuple[int, str, str, str]], k: int) -> None:
    ages, sex, jur, cond = (list(col) for col in zip(*rows, strict=True)) if rows else ([], [], [], [])
    result = deid.k_anonymise(np.asarray(ages, dtype=np.int64), sex, jur, cond, k=k)
    released = result.released
    keys = Counter(
        zip(
            result.age_band[released],
            result.sex[released],
            result.jurisdiction[released],
            result.conditions[released],
            strict=True,
        )
    )
    assert all(size >= k for size in keys.values())
    assert sum(n for *_, n in result.classes()) == int(released.sum())
    # Nothing but suppressed rows is withheld, and a withheld row is always one that was suppressed.
    assert not (~released & ~result.suppressed).any()
    # No released age above 89 is shown as a number.
    assert not any(b.startswith("9") and b != "90+" for b in result.age_band)
