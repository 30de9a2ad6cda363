from __future__ import annotations

import dataclasses

import pytest

from kratomwatch.core.screening import (
    IngredientEntry,
    MedicationIndex,
    ScreeningKnowledge,
    UnknownInteractionClass,
    screen_interactions,
)


def test_findings_carry_class_details_and_sources(knowledge: ScreeningKnowledge) -> None:
    result = screen_interactions(["Xanax 1 mg"], knowledge)
    classes = [f.class_id for f in result.findings]
    assert classes == ["benzos", "cyp3a"]  # major before moderate
    first = result.findings[0]
    assert first.medication == "Xanax 1 mg"
    assert first.ingredient_id == "alprazolam"
    assert first.severity == "major"
    assert first.sources == ("https://example.org/benzos",)
    assert result.highest_severity == "major"


def test_combination_product_screens_each_active_ingredient(knowledge: ScreeningKnowledge) -> None:
    result = screen_interactions(["Tylenol #3"], knowledge)
    assert {(f.ingredient_id, f.class_id) for f in result.findings} == {("codeine", "opioids")}


def test_not_screened_component_is_skipped(knowledge: ScreeningKnowledge) -> None:
    result = screen_interactions(["Suboxone"], knowledge)
    assert {f.class_id for f in result.findings} == {"moud"}
    alone = screen_interactions(["Narcan"], knowledge)
    assert {f.class_id for f in alone.findings} == {"antagonists"}


def test_unmatched_and_suggested_entries_are_never_dropped(knowledge: ScreeningKnowledge) -> None:
    entries = ["Xanax", "alprazolan", "zzzz unknown"]
    result = screen_interactions(entries, knowledge)
    assert [m.entered for m in result.matches] == entries
    assert [m.entered for m in result.unresolved] == ["alprazolan", "zzzz unknown"]
    provisional = [f for f in result.findings if f.medication == "alprazolan"]
    assert provisional and all(f.match_status == "suggested" and f.confidence < 1.0 for f in provisional)


def test_severity_then_entry_order(knowledge: ScreeningKnowledge) -> None:
    result = screen_interactions(["Subutex", "Xanax"], knowledge)
    assert [(f.medication, f.severity) for f in result.findings] == [
        ("Xanax", "major"),
        ("Subutex", "moderate"),
        ("Xanax", "moderate"),
    ]


def test_empty_list_gives_no_findings(knowledge: ScreeningKnowledge) -> None:
    result = screen_interactions([], knowledge)
    assert result.findings == () and result.unresolved == () and result.highest_severity is None


def test_unknown_class_is_an_error(knowledge: ScreeningKnowledge) -> None:
    broken = dataclasses.replace(
        knowledge, index=MedicationIndex.build((IngredientEntry("x", "X", (), ("Xdrug",), ("nope",)),))
    )
    with pytest.raises(UnknownInteractionClass):
        screen_interactions(["Xdrug"], broken)
