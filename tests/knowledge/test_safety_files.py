"""The curated safety files: every file validates, every record is sourced and dated, coverage holds."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pycountry
import pytest
from pydantic import ValidationError

from kratomwatch.core.screening import clean_text
from kratomwatch.knowledge import loader
from kratomwatch.knowledge.schemas import Jurisdiction, JurisdictionStatus, Sourced

FILES = [
    "leaf_reference.yaml",
    "interactions.yaml",
    "ingredients.yaml",
    "jurisdictions.yaml",
    "product_safety.yaml",
    "evidence.yaml",
    "contraindications.yaml",
    "ae_systems.yaml",
]


def all_sourced_records() -> list[Sourced]:
    product = loader.product_safety_rules()
    records: list[Sourced] = [loader.leaf_reference()]
    records += loader.interaction_classes()
    records += loader.ingredients()
    records += loader.combination_products()
    records += [s for j in loader.jurisdictions() for s in j.statuses]
    records += [*product.seven_oh_caps, *product.adulterants, *product.forms, *product.findings]
    records += loader.evidence_claims()
    records += loader.contraindication_rules()
    return records


def test_validate_all_loads_every_file() -> None:
    assert loader.validate_all() == FILES


def test_every_record_is_sourced_and_dated() -> None:
    records = all_sourced_records()
    assert len(records) > 300
    for record in records:
        assert record.sources, record
        assert dt.date(2020, 1, 1) <= record.as_of <= dt.datetime.now(dt.UTC).date(), record


def test_malformed_file_is_a_hard_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "read_yaml", lambda name: {"records": [{"id": "x"}]})
    with pytest.raises(loader.KnowledgeError, match="record 0"):
        loader.load_records("interactions.yaml", loader.InteractionClass)


def test_a_source_must_be_a_citation() -> None:
    with pytest.raises(ValidationError, match="not a citation"):
        JurisdictionStatus(status="legal", sources=("some blog",), as_of=dt.date(2026, 1, 1))


def test_two_records_on_one_date_are_rejected() -> None:
    record = {"status": "legal", "effective_from": "2020-01-01", "sources": ["PMID:1"], "as_of": "2026-01-01"}
    with pytest.raises(ValidationError, match="share an effective_from"):
        Jurisdiction.model_validate({"code": "US-AL", "name": "Alabama", "statuses": [record, record]})


# ---------------------------------------------------------------------------------------- jurisdictions


def test_all_states_dc_and_federal_present() -> None:
    codes = {j.code for j in loader.jurisdictions()}
    expected = {s.code for s in pycountry.subdivisions.get(country_code="US") if s.type in ("State", "District")}
    assert len(expected) == 51
    assert expected <= codes
    assert "US" in codes


def test_at_least_25_countries_and_codes_are_iso() -> None:
    codes = [j.code for j in loader.jurisdictions()]
    countries = [c for c in codes if "-" not in c and c != "US"]
    assert len(countries) >= 25
    for code in codes:
        if "-" in code:
            assert pycountry.subdivisions.get(code=code) is not None, code
        else:
            assert pycountry.countries.get(alpha_2=code) is not None, code


def test_known_facts_recorded() -> None:
    by_code = {j.code: j for j in loader.jurisdictions()}
    ok = by_code["US-OK"].statuses[0]
    assert (ok.status, ok.seven_oh_cap_percent, ok.age_limit) == ("regulated", 2.0, 18)
    ri = next(s for s in by_code["US-RI"].statuses if s.effective_from == dt.date(2026, 4, 1))
    assert (ri.status, ri.age_limit) == ("regulated", 21)
    assert by_code["MY"].statuses[0].status == "banned"
    assert by_code["AU"].statuses[0].status == "banned"


def test_unconfirmed_statuses_are_unknown_not_guessed() -> None:
    for jurisdiction in loader.jurisdictions():
        for record in jurisdiction.statuses:
            if record.status == "unknown":
                assert record.note, jurisdiction.code
                assert record.age_limit is None and record.seven_oh_cap_percent is None


# ------------------------------------------------------------------------------------------ ingredients


def test_at_least_150_ingredients() -> None:
    assert len(loader.ingredients()) >= 150


def test_no_duplicate_ids_synonyms_or_brands() -> None:
    owners: dict[str, set[str]] = {}
    for ing in loader.ingredients():
        for name in (ing.id, ing.display_name, *ing.synonyms, *ing.brands):
            owners.setdefault(clean_text(name), set()).add(ing.id)
    for combo in loader.combination_products():
        for name in (combo.name, *combo.synonyms):
            owners.setdefault(clean_text(name), set()).add("combo:" + combo.id)
    clashes = {name: who for name, who in owners.items() if len(who) > 1}
    assert clashes == {}
    ids = Counter([i.id for i in loader.ingredients()] + [c.id for c in loader.combination_products()])
    assert [i for i, n in ids.items() if n > 1] == []


def test_ingredient_ids_are_lowercase() -> None:
    for ing in loader.ingredients():
        assert re.fullmatch(r"[a-z0-9_]+", ing.id), ing.id


def test_every_interaction_class_has_members_and_every_member_class_exists() -> None:
    used = {c for ing in loader.ingredients() for c in ing.class_ids}
    defined = {c.id for c in loader.interaction_classes()}
    assert used == defined


REQUIRED_CLASSES = {
    "full_opioid_agonists",
    "moud",
    "benzodiazepines_z_drugs",
    "alcohol",
    "gabapentinoids",
    "sedating_antihistamines",
    "antipsychotics_qt",
    "serotonergic_antidepressants",
    "cyp3a_substrates",
    "cyp2d6_substrates",
    "stimulants",
    "opioid_antagonists",
    "seven_oh_and_adulterants",
}


def test_required_interaction_classes_and_scale() -> None:
    classes = {c.id: c for c in loader.interaction_classes()}
    assert set(classes) >= REQUIRED_CLASSES
    for c in classes.values():
        assert c.severity == {4: "major", 3: "major", 2: "moderate", 1: "minor"}[c.risk_level]


DOSE = re.compile(r"\b\d+(\.\d+)?\s*(mg|g|grams?|mcg)\b", re.IGNORECASE)


def test_management_text_never_gives_a_dose() -> None:
    texts = [c.management for c in loader.interaction_classes()]
    texts += [c.management for c in loader.contraindication_rules()]
    texts += [f.message for f in loader.product_safety_rules().findings]
    for text in texts:
        assert not DOSE.search(text), text
        assert "recommended dose" not in text.lower()


# --------------------------------------------------------------------------------------------- evidence

CLAIMS = {
    "chronic_pain",
    "neuropathic_pain",
    "adhd",
    "opioid_withdrawal_oud",
    "mood_anxiety",
    "focus_cognition",
    "lower_addiction_risk_than_opioids",
    "respiratory_depression_ceiling",
    "energy_fatigue",
    "ptsd",
    "reduce_alcohol_stimulants",
    "sleep",
    "natural_not_addictive",
}


def test_all_claims_graded_and_none_overstated() -> None:
    claims = {c.id: c for c in loader.evidence_claims()}
    assert set(claims) == CLAIMS
    for claim in claims.values():
        assert claim.certainty in ("low", "very_low", "no_human_evidence"), claim.id
        for phrase in ("is effective", "is safe", "cures", "proven"):
            assert phrase not in claim.summary.lower(), (claim.id, phrase)


def test_contraindication_flags_complete() -> None:
    flags = {c.flag for c in loader.contraindication_rules()}
    assert flags == {
        "liver_disease",
        "seizure_disorder",
        "cardiac_qt",
        "respiratory_disease",
        "pregnant",
        "breastfeeding",
    }
