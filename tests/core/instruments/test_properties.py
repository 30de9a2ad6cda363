"""Property-based tests (hypothesis) over every registered instrument."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kratomwatch.core import instruments
from kratomwatch.core.instruments import (
    AnswerOutOfRange,
    AnswerParseError,
    InstrumentDefinition,
    MissingPolicy,
    parse_answers,
    score,
)

DEFINITIONS = instruments.all_definitions()
_ACCEPTED = re.compile(r"[+-]?[0-9]+")  # the grammar parse_answers accepts besides '-'
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def complete_answers(draw: st.DrawFn) -> tuple[InstrumentDefinition, list[int | None]]:
    definition = draw(st.sampled_from(DEFINITIONS))
    answers: list[int | None] = [draw(st.sampled_from(item.allowed_values)) for item in definition.items]
    return definition, answers


@PROFILE
@given(case=complete_answers(), supervised=st.booleans())
def test_every_scale_is_valid_and_within_its_range(
    case: tuple[InstrumentDefinition, list[int | None]], supervised: bool
) -> None:
    definition, answers = case
    result = score(definition, answers, supervised=supervised)
    assert result.valid and result.missing == 0
    for scale in result.scales:
        low, high = definition.score_range(scale.scale_id, supervised=supervised)
        assert scale.value is not None
        assert low <= scale.value <= high
        if definition.scale(scale.scale_id).bands:
            assert scale.band is not None
            assert any(
                b.id == scale.band.id and b.low <= scale.value <= b.high for b in definition.scale(scale.scale_id).bands
            )
        else:
            assert scale.band is None


@PROFILE
@given(case=complete_answers(), data=st.data())
def test_scores_are_monotone_non_decreasing_in_each_item(
    case: tuple[InstrumentDefinition, list[int | None]], data: st.DataObject
) -> None:
    definition, answers = case
    index = data.draw(st.integers(0, len(definition.items) - 1))
    item = definition.items[index]
    current = answers[index]
    higher = [v for v in item.allowed_values if current is not None and v > current]
    assume(higher)
    raised = list(answers)
    raised[index] = data.draw(st.sampled_from(higher))
    before = score(definition, answers)
    after = score(definition, raised)
    for old, new in zip(before.scales, after.scales, strict=True):
        assert old.value is not None and new.value is not None
        assert new.value >= old.value
    # A flag raised at the lower answer stays raised at the higher one.
    assert set(before.flag_ids) <= set(after.flag_ids)


@PROFILE
@given(definition=st.sampled_from(DEFINITIONS), data=st.data())
def test_out_of_range_answers_raise_an_error_naming_the_item(
    definition: InstrumentDefinition, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(definition.items) - 1))
    item = definition.items[index]
    bad = data.draw(st.integers(-50, 100).filter(lambda v: v not in item.allowed_values))
    answers: list[int | None] = [it.min_value for it in definition.items]
    answers[index] = bad
    try:
        score(definition, answers)
    except AnswerOutOfRange as error:
        assert error.instrument == definition.id
        assert error.item_id == item.id
        assert error.position == index + 1
        assert error.value == bad
        assert error.allowed == item.allowed_values
        assert item.id in str(error) and repr(bad) in str(error)
    else:
        raise AssertionError(f"{definition.id}: {bad} accepted for {item.id}")


@PROFILE
@given(case=complete_answers(), data=st.data())
def test_require_all_invalidates_exactly_the_scales_with_a_blank(
    case: tuple[InstrumentDefinition, list[int | None]], data: st.DataObject
) -> None:
    definition, answers = case
    blanks = data.draw(st.sets(st.integers(0, len(answers) - 1), min_size=1))
    for index in blanks:
        answers[index] = None
    result = score(definition, answers, missing_policy=MissingPolicy.REQUIRE_ALL)
    blank_ids = {definition.items[i].id for i in blanks}
    assert result.missing == len(blanks) and result.answered == len(answers) - len(blanks)
    for scale in result.scales:
        hit = blank_ids & set(definition.scale(scale.scale_id).item_ids)
        assert scale.valid is (not hit)
        if hit:
            assert scale.value is None
            assert all(item_id in scale.reasons[0] for item_id in hit)
    assert not result.valid


@PROFILE
@given(
    severity=st.lists(st.integers(0, 10), min_size=4, max_size=4),
    interference=st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=7, max_size=7),
)
def test_bpi_prorated_interference_is_the_mean_of_answered_items(
    severity: list[int], interference: list[int | None]
) -> None:
    result = score(instruments.get("bpi_sf"), [*severity, *interference], missing_policy=MissingPolicy.PRORATE)
    answered = [v for v in interference if v is not None]
    scale = result.scale("interference")
    if len(answered) >= 4:
        assert scale.valid and scale.value == sum(answered) / len(answered)
        assert scale.prorated is (len(answered) < 7)
    else:
        assert not scale.valid and scale.value is None
    assert result.scale("severity").value == sum(severity) / 4


@PROFILE
@given(st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), max_size=30))
def test_parse_answers_round_trips(values: list[int | None]) -> None:
    tokens = ["-" if v is None else f" {v} " for v in values]
    assert parse_answers(tokens) == values


@PROFILE
@given(
    values=st.lists(st.integers(0, 9).map(str), max_size=10),
    junk=st.text(max_size=5).filter(lambda t: t.strip() != "-" and _ACCEPTED.fullmatch(t.strip()) is None),
    position=st.integers(0, 10),
)
def test_parse_answers_names_the_position_of_a_bad_token(values: list[str], junk: str, position: int) -> None:
    index = min(position, len(values))
    tokens = [*values[:index], junk, *values[index:]]
    try:
        parse_answers(tokens)
    except AnswerParseError as error:
        assert error.position == index + 1
        assert error.token == junk
        assert f"position {index + 1}" in str(error)
    else:
        raise AssertionError(f"{junk!r} was accepted")
