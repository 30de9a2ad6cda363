"""Registry and definition-level tests: every definition validates, is frozen and carries its sources."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from pydantic import ValidationError

from kratomwatch.core import instruments
from kratomwatch.core.instruments import InstrumentDefinition, UnknownInstrument

EXPECTED_IDS = {
    "phq9",
    "gad7",
    "peg",
    "pain_nrs",
    "pgic",
    "bpi_sf",
    "dn4",
    "dn4_interview",
    "asrs",
    "cows",
    "sows",
    "craving_nrs",
    "sleep_nrs",
    "dsm5_sud",
}


def test_registry_holds_exactly_the_fourteen_instruments() -> None:
    assert set(instruments.instrument_ids()) == EXPECTED_IDS
    assert [d.id for d in instruments.all_definitions()] == sorted(EXPECTED_IDS)


@pytest.mark.parametrize("instrument_id", sorted(EXPECTED_IDS))
def test_each_module_exports_a_validated_definition_under_its_own_id(instrument_id: str) -> None:
    module = importlib.import_module(f"kratomwatch.core.instruments.{instrument_id}")
    definition = module.DEFINITION
    assert isinstance(definition, InstrumentDefinition)
    assert definition.id == instrument_id
    assert instruments.get(instrument_id) is definition
    # Re-validating the dumped data proves the definition passes every schema rule.
    assert InstrumentDefinition.model_validate(definition.model_dump()) == definition


def test_unknown_instrument_is_a_typed_error_naming_the_id() -> None:
    with pytest.raises(UnknownInstrument) as caught:
        instruments.get("phq10")
    assert caught.value.instrument_id == "phq10"
    assert "phq10" in str(caught.value)
    assert "phq9" in caught.value.known
    assert isinstance(caught.value, LookupError)


def test_definitions_are_frozen() -> None:
    definition = instruments.get("phq9")
    with pytest.raises(ValidationError):
        definition.title = "changed"
    with pytest.raises(ValidationError):
        definition.items[0].label = "changed"


@pytest.mark.parametrize("definition", instruments.all_definitions(), ids=lambda d: d.id)
def test_every_citation_has_a_locator_and_the_as_of_date(definition: InstrumentDefinition) -> None:
    citations = list(definition.citations)
    citations += [s.important_change.citation for s in definition.scales if s.important_change is not None]
    citations += [rule.citation for rule in definition.flag_rules]
    assert citations
    for citation in citations:
        assert citation.pmid or citation.doi or citation.url
        assert citation.as_of == date(2026, 11, 21)


@pytest.mark.parametrize("definition", instruments.all_definitions(), ids=lambda d: d.id)
def test_every_definition_states_licence_recall_and_missing_policy(definition: InstrumentDefinition) -> None:
    assert definition.licence.strip()
    assert definition.recall_period.strip()
    assert definition.missing_policy_note.strip()
    assert definition.default_missing_policy in definition.supported_missing_policies


@pytest.mark.parametrize("instrument_id", ["bpi_sf", "asrs", "dn4", "dn4_interview", "sows", "dsm5_sud", "peg"])
def test_restricted_or_unconfirmed_licences_ship_no_item_text(instrument_id: str) -> None:
    definition = instruments.get(instrument_id)
    assert not definition.ships_item_text
    assert all(item.text is None for item in definition.items)


def test_phq9_loinc_codes_match_the_confirmed_panel_total_and_items() -> None:
    phq9 = instruments.get("phq9")
    assert phq9.loinc_panel == "44249-1"
    assert phq9.scale("total").loinc == "44261-6"
    assert [item.loinc for item in phq9.items] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]


def test_gad7_and_pain_nrs_loinc_codes() -> None:
    gad7 = instruments.get("gad7")
    assert gad7.loinc_panel == "69737-5"
    assert gad7.scale("total").loinc == "70274-6"
    assert all(item.loinc is None for item in gad7.items)  # item codes not confirmed: left out
    assert instruments.get("pain_nrs").items[0].loinc == "72514-3"


def test_clinically_important_changes_are_the_published_values() -> None:
    phq9_mcid = instruments.get("phq9").scale("total").important_change
    gad7_mcid = instruments.get("gad7").scale("total").important_change
    bpi_mcid = instruments.get("bpi_sf").scale("interference").important_change
    assert phq9_mcid is not None and phq9_mcid.points == 5 and phq9_mcid.citation.pmid == "15550799"
    assert gad7_mcid is not None and gad7_mcid.points == 4 and gad7_mcid.citation.doi == "10.1016/j.jad.2020.01.032"
    assert bpi_mcid is not None and bpi_mcid.points == 1 and bpi_mcid.citation.pmid == "18055266"
    # No MCID is invented where none was confirmed.
    for instrument_id in ("peg", "sows", "craving_nrs", "sleep_nrs", "cows", "pgic", "pain_nrs"):
        assert all(s.important_change is None for s in instruments.get(instrument_id).scales)


@pytest.mark.parametrize("instrument_id", ["peg", "sows", "craving_nrs", "sleep_nrs", "pain_nrs", "pgic", "bpi_sf"])
def test_instruments_without_validated_bands_have_none(instrument_id: str) -> None:
    assert all(not scale.bands for scale in instruments.get(instrument_id).scales)


def test_only_bpi_supports_prorating() -> None:
    prorating = [
        d.id for d in instruments.all_definitions() if instruments.MissingPolicy.PRORATE in d.supported_missing_policies
    ]
    assert prorating == ["bpi_sf"]
