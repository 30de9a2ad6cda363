"""ae_systems.yaml: adverse-event terms -> CTCAE v5.0 / MedDRA system organ class (the research export's
``system`` column)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kratomwatch.demo.data import AES
from kratomwatch.knowledge import loader
from kratomwatch.knowledge.schemas import AeSystems


def test_every_demo_term_maps_to_a_system() -> None:
    systems = {term: loader.ae_system(term) for term, *_ in AES}
    assert systems == {
        "Constipation": "Gastrointestinal disorders",
        "Nausea": "Gastrointestinal disorders",
        "Insomnia": "Psychiatric disorders",
        "Seizure": "Nervous system disorders",
        "Anorexia": "Metabolism and nutrition disorders",
        "Hepatitis cholestatic": "Hepatobiliary disorders",
        "Tachycardia": "Cardiac disorders",
        "Pruritus": "Skin and subcutaneous tissue disorders",
    }


def test_matching_ignores_case_and_spacing_and_unknown_terms_are_not_classified() -> None:
    assert loader.ae_system("  alanine  AMINOTRANSFERASE increased ") == "Investigations"
    assert loader.ae_system("Blood bilirubin increased") == "Investigations"
    assert loader.ae_system("Respiratory depression") == "Respiratory, thoracic and mediastinal disorders"
    assert loader.ae_system("Hypertension") == "Vascular disorders"
    for unknown in ("Opiate withdrawal", "Zebrafinch rash", "", "seizure disorder"):
        assert loader.ae_system(unknown) == loader.NOT_CLASSIFIED == "not classified"


def test_the_file_is_sourced_and_synonyms_are_marked() -> None:
    data = loader.ae_systems()
    assert data.terminology == "CTCAE v5.0" and data.published.isoformat() == "2017-11-27"
    assert data.sources == ("https://ctep.cancer.gov/protocoldevelopment/electronic_applications/ctc.htm",)
    synonyms = {t.term: t.synonym_of for t in data.terms if t.synonym_of}
    assert synonyms["Tachycardia"] == "Sinus tachycardia"
    assert synonyms["Hepatitis cholestatic"] == "Hepatobiliary disorders - Other, specify"
    assert "Opiate withdrawal" not in {t.term for t in data.terms}


BASE = {
    "terminology": "CTCAE v5.0",
    "published": "2017-11-27",
    "sources": ["https://example.org/x"],
    "as_of": "2026-12-02",
}


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ([{"term": "Nausea", "system": "Gastrointestinal disorders"}] * 2, "listed twice"),
        (
            [{"term": "Itch", "system": "Skin and subcutaneous tissue disorders", "synonym_of": "Pruritus"}],
            "not a CTCAE",
        ),
        (
            [
                {"term": "Pruritus", "system": "Skin and subcutaneous tissue disorders"},
                {"term": "Itch", "system": "Cardiac disorders", "synonym_of": "Pruritus"},
            ],
            "has system",
        ),
        ([{"term": "Nausea", "system": "Stomach disorders"}], "literal_error"),
    ],
)
def test_a_malformed_map_is_refused(terms: list[dict[str, str]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AeSystems.model_validate(BASE | {"terms": terms})
