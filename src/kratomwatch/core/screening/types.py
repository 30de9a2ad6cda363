"""Frozen value types for safety screening. Pure: standard library only.

The knowledge loader converts curated records into these types; core never reads files or the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar

from kratomwatch.core.screening.text import clean_text

Severity = Literal["major", "moderate", "minor"]
Mechanism = Literal["pharmacodynamic", "pharmacokinetic", "both"]
EvidenceLevel = Literal[
    "clinical_study", "observational", "case_reports_surveillance", "animal", "in_vitro", "theoretical"
]
MatchStatus = Literal["matched", "suggested", "unmatched"]
LegalStatus = Literal["legal", "regulated", "banned", "unknown"]
ProductVerdict = Literal["allowed", "over_cap", "banned", "unknown"]
ProductForm = Literal[
    "leaf_powder", "capsule", "tea", "liquid_extract", "shot", "tablet", "resin", "seven_oh_product", "other"
]
HistoryFlagName = Literal[
    "liver_disease", "seizure_disorder", "cardiac_qt", "respiratory_disease", "pregnant", "breastfeeding"
]

SEVERITY_ORDER: Mapping[str, int] = MappingProxyType({"major": 3, "moderate": 2, "minor": 1})

#: The interaction class of opioid-overdose rescue medications (naloxone, nalmefene). It is not an adverse
#: interaction: an ingredient of this class on the list is reported in ``ScreeningResult.positives`` (and
#: ``ScreeningResult.opioid_rescue_ids``), never in ``ScreeningResult.findings``.
OPIOID_RESCUE_CLASS = "opioid_rescue"
#: Classes reported as positives (informational), never as interaction findings.
POSITIVE_CLASSES: frozenset[str] = frozenset({OPIOID_RESCUE_CLASS})


K = TypeVar("K")
V = TypeVar("V")


def frozen_map(data: Mapping[K, V]) -> Mapping[K, V]:
    """A read-only copy of ``data``."""
    return MappingProxyType(dict(data))


# ---------------------------------------------------------------------------------------------- drugs


@dataclass(frozen=True)
class IngredientEntry:
    id: str
    display_name: str
    synonyms: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    class_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CombinationEntry:
    id: str
    name: str
    ingredient_ids: tuple[str, ...]
    synonyms: tuple[str, ...] = ()
    not_screened: tuple[str, ...] = ()


class DuplicateTerm(ValueError):
    """Two ingredients or products claim the same name, so a typed name would be ambiguous."""


@dataclass(frozen=True)
class MedicationIndex:
    """Lookup from a cleaned name (id, synonym, brand or product name) to ingredient ids."""

    terms: Mapping[str, tuple[str, ...]]
    ingredients: Mapping[str, IngredientEntry]
    not_screened: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: frozen_map({}))

    @classmethod
    def build(
        cls, ingredients: tuple[IngredientEntry, ...], combinations: tuple[CombinationEntry, ...] = ()
    ) -> MedicationIndex:
        terms: dict[str, tuple[str, ...]] = {}

        def put(name: str, ids: tuple[str, ...]) -> None:
            key = clean_text(name)
            if not key:
                return
            if key in terms and terms[key] != ids:
                raise DuplicateTerm(f"name {name!r} maps to both {terms[key]} and {ids}")
            terms[key] = ids

        by_id = {ing.id: ing for ing in ingredients}
        not_screened: dict[str, tuple[str, ...]] = {}
        for ing in ingredients:
            for name in (ing.id, ing.id.replace("_", " "), ing.display_name, *ing.synonyms, *ing.brands):
                put(name, (ing.id,))
        for combo in combinations:
            missing = [i for i in combo.ingredient_ids if i not in by_id]
            if missing:
                raise ValueError(f"combination {combo.id!r} names unknown ingredients {missing}")
            for name in (combo.name, *combo.synonyms):
                put(name, combo.ingredient_ids)
                if combo.not_screened:
                    not_screened[clean_text(name)] = combo.not_screened
        return cls(terms=frozen_map(terms), ingredients=frozen_map(by_id), not_screened=frozen_map(not_screened))


@dataclass(frozen=True)
class InteractionRule:
    id: str
    name: str
    severity: Severity
    risk_level: int
    mechanism: Mechanism
    evidence_level: EvidenceLevel
    summary: str
    management: str
    sources: tuple[str, ...]
    as_of: dt.date


@dataclass(frozen=True)
class Suggestion:
    """A candidate name for a misspelled entry: the known term, what it maps to, and a 0-1 similarity."""

    term: str
    ingredient_ids: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class MedicationMatch:
    """Result of normalizing one medication entry. ``entered`` is always the text as typed."""

    entered: str
    status: MatchStatus
    ingredient_ids: tuple[str, ...] = ()
    matched_term: str | None = None
    confidence: float = 0.0
    suggestions: tuple[Suggestion, ...] = ()
    #: Interaction classes of the ingredients screened for this entry (components a combination product lists
    #: as not screened are left out). Set only for ``matched`` entries: a suggestion is never screened.
    class_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class InteractionFinding:
    medication: str
    ingredient_id: str
    ingredient_name: str
    class_id: str
    class_name: str
    severity: Severity
    mechanism: Mechanism
    evidence_level: EvidenceLevel
    summary: str
    management: str
    sources: tuple[str, ...]
    as_of: dt.date
    match_status: MatchStatus = "matched"
    confidence: float = 1.0


@dataclass(frozen=True)
class ScreeningResult:
    """Findings, most severe first, plus every entry that was not matched with certainty (never dropped)."""

    findings: tuple[InteractionFinding, ...]
    matches: tuple[MedicationMatch, ...]
    unresolved: tuple[MedicationMatch, ...]
    #: Informational items that are not adverse interactions, e.g. a rescue medication (naloxone) on file.
    positives: tuple[InteractionFinding, ...] = ()

    @property
    def highest_severity(self) -> Severity | None:
        return self.findings[0].severity if self.findings else None

    @property
    def to_confirm(self) -> tuple[MedicationMatch, ...]:
        """Entries matched only approximately: a person confirms the medication; nothing is screened until then."""
        return tuple(m for m in self.matches if m.status == "suggested")

    @property
    def opioid_rescue_ids(self) -> tuple[str, ...]:
        """Ingredient ids of opioid-overdose rescue medications (naloxone, nalmefene) matched exactly on the list.

        Read from ``matches`` (``MedicationMatch.class_ids``), so it survives results merged from several
        screenings. The naloxone inside buprenorphine/naloxone products is not counted: it is not screened.
        """
        ids: dict[str, None] = {}
        for m in self.matches:
            if m.status == "matched" and OPIOID_RESCUE_CLASS in m.class_ids:
                for ingredient_id in m.ingredient_ids:
                    ids[ingredient_id] = None
        return tuple(ids)

    @property
    def has_opioid_rescue(self) -> bool:
        """True when naloxone or nalmefene (a stand-alone product) is on the list."""
        return bool(self.opioid_rescue_ids)


# -------------------------------------------------------------------------------------------- legal


@dataclass(frozen=True)
class StatusRecord:
    status: LegalStatus
    effective_from: dt.date | None
    sources: tuple[str, ...]
    as_of: dt.date
    effective_from_confirmed: bool = True
    age_limit: int | None = None
    seven_oh_cap_percent: float | None = None
    synthetic_alkaloids_banned: bool | None = None
    seven_oh_products_banned: bool | None = None
    verification: Literal["official", "secondary"] = "official"
    note: str | None = None


@dataclass(frozen=True)
class JurisdictionEntry:
    code: str
    name: str
    statuses: tuple[StatusRecord, ...]

    @property
    def parent(self) -> str | None:
        return self.code.split("-", 1)[0] if "-" in self.code else None


@dataclass(frozen=True)
class LegalStatusResult:
    """The status in force for ``code`` on ``on``. ``decided_by`` names the jurisdiction whose record applies
    (a subdivision's own record, or its country's when the subdivision has none in force)."""

    code: str
    name: str
    on: dt.date
    status: LegalStatus
    decided_by: str
    record: StatusRecord | None
    parent_record: StatusRecord | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return self.record.sources if self.record else ()


@dataclass(frozen=True)
class ProductEvaluation:
    verdict: ProductVerdict
    reason: str
    decided_by: str
    sources: tuple[str, ...]
    cap_percent: float | None = None


# -------------------------------------------------------------------------------------------- product


@dataclass(frozen=True)
class FindingText:
    severity: Severity
    message: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ProductSafetyRules:
    unknown_potency_forms: frozenset[str]
    texts: Mapping[str, FindingText]


@dataclass(frozen=True)
class ProductFinding:
    code: Literal["unknown_potency_extract", "seven_oh_above_cap", "seven_oh_product"]
    severity: Severity
    message: str
    sources: tuple[str, ...]


# ----------------------------------------------------------------------------------- contraindications


@dataclass(frozen=True)
class HistoryFlags:
    liver_disease: bool = False
    seizure_disorder: bool = False
    cardiac_qt: bool = False
    respiratory_disease: bool = False
    pregnant: bool = False
    breastfeeding: bool = False

    def active(self) -> tuple[HistoryFlagName, ...]:
        names: tuple[HistoryFlagName, ...] = (
            "liver_disease",
            "seizure_disorder",
            "cardiac_qt",
            "respiratory_disease",
            "pregnant",
            "breastfeeding",
        )
        return tuple(name for name in names if getattr(self, name))


@dataclass(frozen=True)
class ContraindicationRule:
    flag: HistoryFlagName
    severity: Severity
    evidence_level: EvidenceLevel
    summary: str
    management: str
    sources: tuple[str, ...]
    as_of: dt.date


@dataclass(frozen=True)
class ContraindicationFinding:
    flag: HistoryFlagName
    severity: Severity
    evidence_level: EvidenceLevel
    summary: str
    management: str
    sources: tuple[str, ...]


# ----------------------------------------------------------------------------------------- bundle


@dataclass(frozen=True)
class ScreeningKnowledge:
    """Everything the pure screening functions need, built once by the knowledge loader."""

    index: MedicationIndex
    interactions: Mapping[str, InteractionRule]
    jurisdictions: Mapping[str, JurisdictionEntry] = field(default_factory=lambda: frozen_map({}))
    product_rules: ProductSafetyRules | None = None
    contraindications: Mapping[str, ContraindicationRule] = field(default_factory=lambda: frozen_map({}))


#: How a jurisdiction states a 7-OH or product rule (the curated schema and the product check share this list).
ProductRuleKind = Literal[
    "seven_oh_percent_of_alkaloids",
    "seven_oh_percent_by_weight",
    "seven_oh_mg_per_g",
    "seven_oh_ppm",
    "seven_oh_mg_per_serving",
    "seven_oh_products_banned",
    "synthetic_alkaloids_banned",
    "non_leaf_products_banned",
]
