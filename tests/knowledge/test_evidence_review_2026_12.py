"""Evidence claims after the December 2026 clinical review (E10, E11, E12, O11): wording, Smith 2024, new claims."""

from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.knowledge import loader
from kratomwatch.knowledge.schemas import EvidenceClaim

SMITH_2024 = "PMID:38277146"
NEW_CLAIMS = ("energy_fatigue", "ptsd", "reduce_alcohol_stimulants", "sleep", "natural_not_addictive")


@pytest.fixture(scope="module")
def claims() -> dict[str, EvidenceClaim]:
    return {c.id: c for c in loader.evidence_claims()}


def _summary(claims: dict[str, EvidenceClaim], claim_id: str) -> str:
    return " ".join(claims[claim_id].summary.split())


def test_adhd_summary_names_the_survey_and_keeps_the_grade(claims: dict[str, EvidenceClaim]) -> None:
    """E10: a survey screened for ADHD but reported mood only; no ADHD outcome was measured."""
    adhd = claims["adhd"]
    text = _summary(claims, "adhd")
    assert adhd.certainty == "no_human_evidence"
    assert "No study of kratom in people with ADHD was found" not in text
    assert "4,945" in text and "2,296" in text and "only self-rated mood" in text
    assert {"PMID:36634016", "https://irp.nida.nih.gov/?p=15732"} <= set(adhd.sources)


def test_respiratory_ceiling_wording_names_rodents_and_the_industry_funded_rat_study(
    claims: dict[str, EvidenceClaim],
) -> None:
    """E11, and 7-OH human deaths."""
    ceiling = claims["respiratory_depression_ceiling"]
    text = _summary(claims, "respiratory_depression_ceiling")
    assert ceiling.certainty == "no_human_evidence"
    assert "only in mice" not in text
    assert "rodents (mice, and one industry-funded rat study" in text
    assert "six fatal overdoses associated with 7-OH" in text
    assert "PMID:36308562" in ceiling.sources
    assert "American Kratom Foundation" in (ceiling.note or "")


def test_pain_tolerance_is_marked_as_an_inference(claims: dict[str, EvidenceClaim]) -> None:
    """E12: the phase 1 abstract does not state the pain-tolerance result."""
    text = _summary(claims, "chronic_pain")
    assert "including pain tolerance" not in text
    assert "is an inference, not a reported finding" in text


def test_smith_2024_is_cited_where_it_applies(claims: dict[str, EvidenceClaim]) -> None:
    for claim_id in ("chronic_pain", "mood_anxiety", "lower_addiction_risk_than_opioids", "energy_fatigue"):
        assert SMITH_2024 in claims[claim_id].sources, claim_id
    assert "357" in _summary(claims, "mood_anxiety")


@pytest.mark.parametrize("claim_id", NEW_CLAIMS)
def test_new_claims_are_graded_low_sourced_and_dated(claims: dict[str, EvidenceClaim], claim_id: str) -> None:
    claim = claims[claim_id]
    assert claim.certainty in ("very_low", "no_human_evidence")
    assert claim.sources
    assert claim.as_of == dt.date(2026, 12, 1)
    assert claim.note, "the grade's reason is recorded"


def test_no_claim_is_graded_above_very_low(claims: dict[str, EvidenceClaim]) -> None:
    for claim in claims.values():
        assert claim.certainty in ("very_low", "no_human_evidence"), claim.id


def test_natural_claim_states_the_harms(claims: dict[str, EvidenceClaim]) -> None:
    text = _summary(claims, "natural_not_addictive")
    assert "runs against this claim" in text
    assert "use disorder" in text and "withdrawal" in text and "liver injury" in text
    assert "PMID:30920318" in claims["natural_not_addictive"].sources


def test_alcohol_and_sleep_claims_report_harms_not_benefits(claims: dict[str, EvidenceClaim]) -> None:
    assert "No study measured alcohol or stimulant use" in _summary(claims, "reduce_alcohol_stimulants")
    assert "8 of 8" in {n.value for n in claims["reduce_alcohol_stimulants"].key_numbers}
    assert "46% of 170" in {n.value for n in claims["sleep"].key_numbers}
