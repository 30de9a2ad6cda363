from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kratomwatch.core.screening import (
    CombinationEntry,
    DuplicateTerm,
    IngredientEntry,
    MedicationIndex,
    ScreeningKnowledge,
    clean_text,
    normalize_medication,
    strip_strengths,
)


def test_clean_text_folds_case_punctuation_and_spaces() -> None:
    assert clean_text("  Tylenol   #3 ") == "tylenol 3"
    assert clean_text("ÉFFEXOR-XR") == "effexor xr"


def test_strip_strengths_removes_strengths_and_dose_forms() -> None:
    assert strip_strengths("Xanax 0.5 mg tab") == "xanax"
    assert strip_strengths("Percocet 5/325mg tablets BID") == "percocet"


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("Xanax 0.5 mg tab", ("alprazolam",)),
        ("  xAnAx  ", ("alprazolam",)),
        ("ALPRAZOLAM", ("alprazolam",)),
        ("acetaminophen 500mg", ("paracetamol",)),
        ("Suboxone 8/2 mg film", ("buprenorphine", "naloxone")),
        ("Tylenol #3", ("codeine", "paracetamol")),
        ("tylenol with codeine", ("codeine", "paracetamol")),
        ("Tylenol 325 mg", ("paracetamol",)),
        ("takes xanax at night", ("alprazolam",)),
    ],
)
def test_exact_matches(knowledge: ScreeningKnowledge, text: str, ids: tuple[str, ...]) -> None:
    match = normalize_medication(text, knowledge.index)
    assert match.status == "matched"
    assert match.ingredient_ids == ids
    assert match.confidence == 1.0
    assert match.entered == text


def test_misspelling_is_suggested_not_matched(knowledge: ScreeningKnowledge) -> None:
    match = normalize_medication("alprazolan", knowledge.index)
    assert match.status == "suggested"
    assert match.suggestions[0].ingredient_ids == ("alprazolam",)
    assert 0.78 <= match.confidence < 1.0


def test_unmatched_entry_is_kept(knowledge: ScreeningKnowledge) -> None:
    match = normalize_medication("qwertyuiop", knowledge.index)
    assert match.status == "unmatched"
    assert match.entered == "qwertyuiop"
    assert match.ingredient_ids == ()
    assert match.suggestions == ()


def test_non_string_is_a_type_error(knowledge: ScreeningKnowledge) -> None:
    with pytest.raises(TypeError):
        normalize_medication(None, knowledge.index)  # type: ignore[arg-type]


def test_duplicate_names_across_ingredients_are_rejected() -> None:
    with pytest.raises(DuplicateTerm):
        MedicationIndex.build(
            (IngredientEntry("a", "A", (), ("Same",)), IngredientEntry("b", "B", (), ("same",))),
        )


def test_combination_with_unknown_ingredient_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown ingredients"):
        MedicationIndex.build((IngredientEntry("a", "A"),), (CombinationEntry("c", "C", ("a", "zzz")),))


_ascii = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_never_raises_and_keeps_the_entry(knowledge: ScreeningKnowledge, text: str) -> None:
    match = normalize_medication(text, knowledge.index)
    assert match.entered == text
    assert match.status in ("matched", "suggested", "unmatched")
    assert (match.status == "unmatched") == (match.ingredient_ids == ())


@settings(max_examples=200, deadline=None)
@given(text=_ascii, left=st.text(" \t\n", max_size=3), right=st.text(" \t\n", max_size=3))
def test_case_and_whitespace_insensitive(knowledge: ScreeningKnowledge, text: str, left: str, right: str) -> None:
    base = normalize_medication(text, knowledge.index)
    for variant in (text.upper(), text.lower(), f"{left}{text}{right}"):
        other = normalize_medication(variant, knowledge.index)
        assert (other.status, other.ingredient_ids) == (base.status, base.ingredient_ids)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_known_name_matches_in_any_case(knowledge: ScreeningKnowledge, data: st.DataObject) -> None:
    term = data.draw(st.sampled_from(sorted(knowledge.index.terms)))
    flips = data.draw(st.lists(st.booleans(), min_size=len(term), max_size=len(term)))
    mixed = "".join(c.upper() if flip else c for c, flip in zip(term, flips, strict=True))
    match = normalize_medication(f"  {mixed} ", knowledge.index)
    assert match.status == "matched"
    assert match.ingredient_ids == knowledge.index.terms[term]
