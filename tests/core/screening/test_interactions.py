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
    assert result.opioid_rescue_ids == ()  # the naloxone inside Suboxone is not a rescue medication
    alone = screen_interactions(["Narcan"], knowledge)
    assert {f.class_id for f in alone.findings} == {"antagonists"}


def test_unmatched_and_suggested_entries_are_never_dropped(knowledge: ScreeningKnowledge) -> None:
    entries = ["Xanax", "alprazolan", "zzzz unknown"]
    result = screen_interactions(entries, knowledge)
    assert [m.entered for m in result.matches] == entries
    assert [m.entered for m in result.unresolved] == ["alprazolan", "zzzz unknown"]
    # A suggestion is a question for a person, never an identification: no finding for the suggested drug.
    assert not [f for f in result.findings if f.medication == "alprazolan"]
    assert [m.entered for m in result.to_confirm] == ["alprazolan"]
    assert result.to_confirm[0].suggestions[0].ingredient_ids == ("alprazolam",)


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


def test_positive_classes_are_reported_as_positives_never_as_findings(knowledge: ScreeningKnowledge) -> None:
    from kratomwatch.core.screening.types import OPIOID_RESCUE_CLASS, POSITIVE_CLASSES, frozen_map
    from tests.core.screening.conftest import rule

    assert OPIOID_RESCUE_CLASS in POSITIVE_CLASSES
    rescue_kb = dataclasses.replace(
        knowledge,
        index=MedicationIndex.build(
            (
                IngredientEntry("naloxone", "Naloxone", (), ("Narcan",), (OPIOID_RESCUE_CLASS,)),
                IngredientEntry("codeine", "Codeine", (), (), ("opioids",)),
            )
        ),
        interactions=frozen_map({**knowledge.interactions, OPIOID_RESCUE_CLASS: rule(OPIOID_RESCUE_CLASS, "minor", 1)}),
    )
    result = screen_interactions(["Narcan nasal spray 4 mg", "codeine"], rescue_kb)
    assert [f.class_id for f in result.findings] == ["opioids"]
    assert [(p.ingredient_id, p.class_id) for p in result.positives] == [("naloxone", OPIOID_RESCUE_CLASS)]
    assert result.opioid_rescue_ids == ("naloxone",) and result.has_opioid_rescue
    # Survives a merge that keeps only findings, matches and unresolved (as the alert sweep does).
    merged = type(result)(result.findings, result.matches, result.unresolved)
    assert merged.has_opioid_rescue
    assert not screen_interactions(["codeine"], rescue_kb).has_opioid_rescue
    # A misspelt rescue drug is not counted until a person confirms it.
    assert not screen_interactions(["Narcon"], rescue_kb).has_opioid_rescue
