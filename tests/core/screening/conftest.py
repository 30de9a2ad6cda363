"""A small hand-built knowledge bundle so core tests do not depend on the curated files."""

from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.core.screening import (
    CombinationEntry,
    ContraindicationRule,
    FindingText,
    IngredientEntry,
    InteractionRule,
    JurisdictionEntry,
    MedicationIndex,
    ProductSafetyRules,
    ScreeningKnowledge,
    StatusRecord,
)
from kratomwatch.core.screening.types import frozen_map

AS_OF = dt.date(2026, 11, 21)


def rule(id_: str, severity: str, level: int) -> InteractionRule:
    return InteractionRule(
        id=id_,
        name=id_.replace("_", " "),
        severity=severity,  # type: ignore[arg-type]
        risk_level=level,
        mechanism="pharmacodynamic",
        evidence_level="theoretical",
        summary=f"summary of {id_}",
        management=f"review {id_}",
        sources=(f"https://example.org/{id_}",),
        as_of=AS_OF,
    )


def status(state: str, start: str | None, **kw: object) -> StatusRecord:
    return StatusRecord(
        status=state,  # type: ignore[arg-type]
        effective_from=dt.date.fromisoformat(start) if start else None,
        sources=(f"https://example.org/{state}/{start}",),
        as_of=AS_OF,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def knowledge() -> ScreeningKnowledge:
    ingredients = (
        IngredientEntry("alprazolam", "Alprazolam", (), ("Xanax",), ("benzos", "cyp3a")),
        IngredientEntry("buprenorphine", "Buprenorphine", (), ("Subutex",), ("moud",)),
        IngredientEntry("naloxone", "Naloxone", (), ("Narcan",), ("antagonists",)),
        IngredientEntry("paracetamol", "Paracetamol", ("acetaminophen",), ("Tylenol",), ()),
        IngredientEntry("codeine", "Codeine", (), (), ("opioids",)),
    )
    combos = (
        CombinationEntry("suboxone", "Suboxone", ("buprenorphine", "naloxone"), (), ("naloxone",)),
        CombinationEntry("tylenol_3", "Tylenol #3", ("codeine", "paracetamol"), ("tylenol with codeine",)),
    )
    interactions = {
        "benzos": rule("benzos", "major", 4),
        "cyp3a": rule("cyp3a", "moderate", 2),
        "moud": rule("moud", "moderate", 2),
        "antagonists": rule("antagonists", "major", 3),
        "opioids": rule("opioids", "major", 4),
    }
    jurisdictions = {
        "US": JurisdictionEntry("US", "United States", (status("legal", None),)),
        "US-AA": JurisdictionEntry(
            "US-AA",
            "State A",
            (status("legal", None), status("banned", "2016-05-10")),
        ),
        "US-BB": JurisdictionEntry(
            "US-BB",
            "State B",
            (
                status(
                    "regulated", "2021-11-01", age_limit=18, seven_oh_cap_percent=2.0, synthetic_alkaloids_banned=True
                ),
            ),
        ),
        "US-CC": JurisdictionEntry("US-CC", "State C", (status("unknown", None),)),
        "US-DD": JurisdictionEntry("US-DD", "State D", (status("legal", "2025-08-13", seven_oh_products_banned=True),)),
        "XX": JurisdictionEntry("XX", "Nowhere", (status("banned", "2000-01-01"),)),
    }
    product_rules = ProductSafetyRules(
        unknown_potency_forms=frozenset({"liquid_extract", "shot", "tablet", "resin", "seven_oh_product", "other"}),
        texts=frozen_map(
            {
                "unknown_potency_extract": FindingText("moderate", "unknown potency", ("https://example.org/a",)),
                "seven_oh_above_cap": FindingText("major", "over cap", ("https://example.org/b",)),
                "seven_oh_product": FindingText("major", "7-OH product", ("https://example.org/c",)),
            }
        ),
    )
    contra = {
        flag: ContraindicationRule(
            flag,
            "major",
            "case_reports_surveillance",
            f"{flag} summary",
            f"{flag} review",  # type: ignore[arg-type]
            (f"https://example.org/{flag}",),
            AS_OF,
        )
        for flag in (
            "liver_disease",
            "seizure_disorder",
            "cardiac_qt",
            "respiratory_disease",
            "pregnant",
            "breastfeeding",
        )
    }
    return ScreeningKnowledge(
        index=MedicationIndex.build(ingredients, combos),
        interactions=frozen_map(interactions),
        jurisdictions=frozen_map(jurisdictions),
        product_rules=product_rules,
        contraindications=frozen_map(contra),
    )
