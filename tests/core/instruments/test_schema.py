"""The schema refuses definitions that could score wrongly."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from kratomwatch.core import instruments
from kratomwatch.core.instruments.schema import (
    Citation,
    InstrumentDefinition,
    Item,
    is_valid_loinc,
    loinc_check_digit,
)

AS_OF = date(2026, 11, 21)


def _citation(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"label": "source", "supports": "fact", "as_of": AS_OF, "url": "https://example.org/x"}
    data.update(overrides)
    return data


def _definition(**overrides: Any) -> dict[str, Any]:
    """A small valid definition (3 items 0-2, total 0-6, bands 0-2 / 3-6) as plain data."""
    options = [{"value": v, "label": str(v)} for v in (0, 1, 2)]
    data: dict[str, Any] = {
        "id": "toy",
        "version": "1",
        "title": "Toy",
        "items": [{"id": f"i{n}", "label": f"item {n}", "options": options} for n in (1, 2, 3)],
        "recall_period": "now",
        "scales": [
            {
                "id": "total",
                "label": "total",
                "item_ids": ["i1", "i2", "i3"],
                "aggregation": "sum",
                "bands": [
                    {"id": "low", "label": "low", "low": 0, "high": 2, "basis": "conventional"},
                    {"id": "high", "label": "high", "low": 3, "high": 6, "basis": "conventional"},
                ],
            }
        ],
        "primary_scale_id": "total",
        "default_missing_policy": "require_all",
        "supported_missing_policies": ["require_all"],
        "missing_policy_note": "all required",
        "licence": "test",
        "citations": [_citation()],
    }
    data.update(overrides)
    return data


def test_the_toy_definition_is_valid() -> None:
    definition = InstrumentDefinition.model_validate(_definition())
    assert definition.score_range("total") == (0, 6)


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [
                {"id": "low", "label": "low", "low": 0, "high": 2, "basis": "conventional"},
                {"id": "high", "label": "high", "low": 4, "high": 6, "basis": "conventional"},
            ],
            "gap or overlap",
        ),
        (
            [
                {"id": "low", "label": "low", "low": 0, "high": 3, "basis": "conventional"},
                {"id": "high", "label": "high", "low": 3, "high": 6, "basis": "conventional"},
            ],
            "gap or overlap",
        ),
        (
            [
                {"id": "low", "label": "low", "low": 0, "high": 2, "basis": "conventional"},
                {"id": "high", "label": "high", "low": 3, "high": 5, "basis": "conventional"},
            ],
            "scale ranges 0..6",
        ),
        (
            [
                {"id": "low", "label": "low", "low": 1, "high": 2, "basis": "conventional"},
                {"id": "high", "label": "high", "low": 3, "high": 6, "basis": "conventional"},
            ],
            "scale ranges 0..6",
        ),
    ],
    ids=["gap", "overlap", "short_of_max", "above_min"],
)
def test_bands_must_cover_the_range_without_gaps_or_overlaps(bands: list[dict[str, Any]], message: str) -> None:
    data = _definition()
    data["scales"][0]["bands"] = bands
    with pytest.raises(ValidationError, match=message):
        InstrumentDefinition.model_validate(data)


def test_bands_are_refused_on_a_mean() -> None:
    data = _definition()
    data["scales"][0]["aggregation"] = "mean"
    with pytest.raises(ValidationError, match="integer-valued"):
        InstrumentDefinition.model_validate(data)


def test_loinc_check_digit_is_verified() -> None:
    assert loinc_check_digit("44249") == 1
    assert loinc_check_digit("72514") == 3
    assert is_valid_loinc("44261-6")
    assert not is_valid_loinc("44261-5")
    assert not is_valid_loinc("44261")
    with pytest.raises(ValidationError, match="check digit"):
        InstrumentDefinition.model_validate(_definition(loinc_panel="44249-2"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"url": None},
        {"url": None, "pmid": "PMID123"},
        {"url": None, "doi": "doi:10.1/x"},
        {"url": "ftp://example.org"},
    ],
    ids=["no_locator", "bad_pmid", "bad_doi", "bad_url"],
)
def test_citations_need_a_well_formed_pmid_doi_or_url(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Citation.model_validate(_citation(**overrides))


def test_default_policy_must_be_supported() -> None:
    with pytest.raises(ValidationError, match="default missing policy"):
        InstrumentDefinition.model_validate(_definition(default_missing_policy="prorate"))


def test_prorate_needs_a_published_rule_on_some_scale() -> None:
    data = _definition(supported_missing_policies=["require_all", "prorate"])
    with pytest.raises(ValidationError, match="no scale has a prorating rule"):
        InstrumentDefinition.model_validate(data)


def test_only_a_mean_can_be_prorated() -> None:
    data = _definition()
    data["scales"][0]["prorate_min_answered"] = 2
    with pytest.raises(ValidationError, match="only a mean can be prorated"):
        InstrumentDefinition.model_validate(data)


def test_flags_must_target_existing_items() -> None:
    flag = {
        "id": "alarm",
        "label": "alarm",
        "kind": "item_at_or_above",
        "target_id": "i9",
        "at_or_above": 1,
        "basis": "conventional",
        "citation": _citation(),
    }
    with pytest.raises(ValidationError, match="unknown item i9"):
        InstrumentDefinition.model_validate(_definition(flag_rules=[flag]))


def test_every_item_must_belong_to_a_scale() -> None:
    data = _definition()
    data["scales"][0]["item_ids"] = ["i1", "i2"]
    data["scales"][0]["bands"] = []
    with pytest.raises(ValidationError, match=r"\['i3'\] belong to no scale"):
        InstrumentDefinition.model_validate(data)


def test_item_ids_must_be_unique() -> None:
    data = _definition()
    data["items"][2]["id"] = "i1"
    with pytest.raises(ValidationError, match="unique"):
        InstrumentDefinition.model_validate(data)


def test_count_scales_need_one_threshold_per_item() -> None:
    data = _definition()
    data["scales"][0].update({"aggregation": "count_at_or_above", "bands": [], "thresholds": []})
    with pytest.raises(ValidationError, match="one threshold per item"):
        InstrumentDefinition.model_validate(data)


def test_answer_values_must_increase() -> None:
    with pytest.raises(ValidationError, match="strictly increasing"):
        Item.model_validate(
            {"id": "x", "label": "x", "options": [{"value": 1, "label": "a"}, {"value": 0, "label": "b"}]}
        )


@pytest.mark.parametrize("definition", instruments.all_definitions(), ids=lambda d: d.id)
def test_every_banded_scale_puts_each_possible_score_in_exactly_one_band(definition: InstrumentDefinition) -> None:
    for scale in definition.scales:
        if not scale.bands:
            continue
        low, high = definition.score_range(scale.id)
        for value in range(int(low), int(high) + 1):
            matching = [band.id for band in scale.bands if band.low <= value <= band.high]
            assert len(matching) == 1, (definition.id, scale.id, value, matching)
