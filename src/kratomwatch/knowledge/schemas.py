"""Pydantic schemas for the curated knowledge files.

Each top-level file is ``{"records": [...]}`` (or a single mapping for singletons) and every record
cites at least one source and an as-of date.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kratomwatch.core.screening.types import ProductRuleKind

_SOURCE = re.compile(r"^(PMID:\d+|PMC\d+|doi:10\.\S+|https?://\S+)$")


class Sourced(BaseModel):
    """Base for every curated record: where the fact comes from and when it was checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[str, ...] = Field(min_length=1)
    as_of: dt.date
    note: str | None = None

    @field_validator("sources")
    @classmethod
    def _sources_are_citations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for source in value:
            if not _SOURCE.match(source):
                raise ValueError(f"source {source!r} is not a citation: use PMID:n, PMCn, doi:10.x/y or an https URL")
        return value


class ContentRange(BaseModel):
    """A published content with an explicit low-high range (mg per g of material)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    point: float = Field(ge=0)
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @field_validator("high")
    @classmethod
    def _ordered(cls, high: float, info: object) -> float:
        data = getattr(info, "data", {})
        low, point = data.get("low"), data.get("point")
        if low is not None and point is not None and not (low <= point <= high):
            raise ValueError(f"range must satisfy low <= point <= high, got {low}, {point}, {high}")
        return high


class LeafReference(Sourced):
    """Reference alkaloid content of natural kratom leaf, used only when a lot has no certificate."""

    mitragynine_mg_per_g: ContentRange
    seven_oh_quantified: bool = Field(
        description="False when characterised leaf lots had 7-OH below quantification: then 7-OH is not estimated"
    )


# --------------------------------------------------------------------------------------------------
# Safety knowledge: interactions, ingredients, jurisdictions, product safety, evidence, history flags
# --------------------------------------------------------------------------------------------------

_ID = r"^[a-z0-9][a-z0-9_]*$"
_JURISDICTION = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"

RiskLevel = Literal[1, 2, 3, 4]
Mechanism = Literal["pharmacodynamic", "pharmacokinetic", "both"]
EvidenceLevel = Literal[
    "clinical_study", "observational", "case_reports_surveillance", "animal", "in_vitro", "theoretical"
]
LegalStatusValue = Literal["legal", "regulated", "banned", "unknown"]
Verification = Literal["official", "secondary"]
Certainty = Literal["high", "moderate", "low", "very_low", "no_human_evidence"]
ProductForm = Literal[
    "leaf_powder", "capsule", "tea", "liquid_extract", "shot", "tablet", "resin", "seven_oh_product", "other"
]
HistoryFlag = Literal[
    "liver_disease", "seizure_disorder", "cardiac_qt", "respiratory_disease", "pregnant", "breastfeeding"
]

# The documented risk scale (docs/knowledge.md): 4 and 3 map to "major", 2 to "moderate", 1 to "minor".
SeverityValue = Literal["major", "moderate", "minor"]
SEVERITY_BY_RISK_LEVEL: dict[int, SeverityValue] = {4: "major", 3: "major", 2: "moderate", 1: "minor"}


class InteractionClass(Sourced):
    """One interaction class: how a drug class may interact with kratom and what to review."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=3)
    risk_level: RiskLevel
    mechanism: Mechanism
    evidence_level: EvidenceLevel
    summary: str = Field(min_length=20)
    management: str = Field(min_length=20)

    @property
    def severity(self) -> SeverityValue:
        return SEVERITY_BY_RISK_LEVEL[self.risk_level]


class Ingredient(Sourced):
    """One active ingredient (lowercase INN id) with the names a patient may type."""

    id: str = Field(pattern=_ID)
    display_name: str = Field(min_length=2)
    synonyms: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    class_ids: tuple[str, ...] = ()


class CombinationProduct(Sourced):
    """A branded product with several active ingredients (e.g. Suboxone = buprenorphine + naloxone)."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=2)
    synonyms: tuple[str, ...] = ()
    ingredient_ids: tuple[str, ...] = Field(min_length=2)
    not_screened: tuple[str, ...] = Field(
        default=(),
        description="Ingredients present only as a deterrent and not absorbed by this route (see note/sources)",
    )

    @field_validator("not_screened")
    @classmethod
    def _subset(cls, value: tuple[str, ...], info: object) -> tuple[str, ...]:
        ids = set(getattr(info, "data", {}).get("ingredient_ids", ()))
        if not set(value) <= ids:
            raise ValueError("not_screened must list ingredients of the product")
        return value




class ProductRuleSpec(BaseModel):
    """One product rule in law: a 7-OH limit (share of alkaloids, % by weight, mg/g, ppm, mg per serving) with
    its ``limit``, or a ban on 7-OH products or synthetic alkaloids (no limit)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ProductRuleKind
    limit: float | None = Field(default=None, gt=0)
    note: str | None = None

    @model_validator(mode="after")
    def _limit_matches_kind(self) -> ProductRuleSpec:
        if self.kind.endswith("_banned") and self.limit is not None:
            raise ValueError(f"{self.kind} takes no limit")
        if not self.kind.endswith("_banned") and self.limit is None:
            raise ValueError(f"{self.kind} needs a limit")
        percent = {"seven_oh_percent_of_alkaloids", "seven_oh_percent_by_weight"}
        if self.kind in percent and self.limit is not None and self.limit > 100:
            raise ValueError("a percentage must be at most 100")
        return self


class JurisdictionStatus(Sourced):
    """A dated legal-status record. The record in force on a date is the latest with effective_from <= date;
    ``effective_from: null`` means "as far back as known"."""

    status: LegalStatusValue
    effective_from: dt.date | None = None
    effective_from_confirmed: bool = True
    age_limit: int | None = Field(default=None, ge=0, le=99)
    seven_oh_cap_percent: float | None = Field(default=None, gt=0, le=100)
    synthetic_alkaloids_banned: bool | None = None
    seven_oh_products_banned: bool | None = None
    product_rules: tuple[ProductRuleSpec, ...] = ()
    verification: Verification = "official"


class Jurisdiction(BaseModel):
    """A country (ISO 3166-1 alpha-2) or subdivision (ISO 3166-2) with its dated status records."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=_JURISDICTION)
    name: str = Field(min_length=2)
    statuses: tuple[JurisdictionStatus, ...] = Field(min_length=1)

    @field_validator("statuses")
    @classmethod
    def _distinct_dates(cls, value: tuple[JurisdictionStatus, ...]) -> tuple[JurisdictionStatus, ...]:
        dates = [s.effective_from for s in value]
        if len(set(dates)) != len(dates):
            raise ValueError("two status records share an effective_from date")
        return value

    @property
    def parent(self) -> str | None:
        return self.code.split("-")[0] if "-" in self.code else None


class SevenOhCap(Sourced):
    """A 7-OH cap found in law, as a share of the total alkaloid fraction."""

    id: str = Field(pattern=_ID)
    percent_of_alkaloids: float = Field(gt=0, le=100)
    jurisdictions: tuple[str, ...] = Field(min_length=1)


class Adulterant(Sourced):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=2)
    description: str = Field(min_length=20)


class FormRule(Sourced):
    form: ProductForm
    unknown_potency_without_certificate: bool
    rationale: str = Field(min_length=10)


class ProductSafetyFinding(Sourced):
    """Wording and severity of each product-safety finding code."""

    code: Literal["unknown_potency_extract", "seven_oh_above_cap", "seven_oh_product"]
    severity: Literal["major", "moderate", "minor"]
    message: str = Field(min_length=20)


class ProductSafety(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seven_oh_caps: tuple[SevenOhCap, ...] = Field(min_length=1)
    adulterants: tuple[Adulterant, ...] = Field(min_length=1)
    forms: tuple[FormRule, ...] = Field(min_length=1)
    findings: tuple[ProductSafetyFinding, ...] = Field(min_length=3)


class KeyNumber(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=3)
    value: str = Field(min_length=1)
    source: str


class EvidenceClaim(Sourced):
    """One claim about kratom with a GRADE-style certainty and a plain-language summary."""

    id: str = Field(pattern=_ID)
    claim: str = Field(min_length=5)
    certainty: Certainty
    summary: str = Field(min_length=40)
    key_numbers: tuple[KeyNumber, ...] = ()

    @field_validator("key_numbers")
    @classmethod
    def _numbers_cite_record_sources(cls, value: tuple[KeyNumber, ...], info: object) -> tuple[KeyNumber, ...]:
        sources = set(getattr(info, "data", {}).get("sources", ()))
        for number in value:
            if sources and number.source not in sources:
                raise ValueError(f"key number {number.label!r} cites {number.source!r}, not in sources")
        return value


class Contraindication(Sourced):
    """A history flag that warrants clinical review when kratom is used."""

    flag: HistoryFlag
    severity: Literal["major", "moderate", "minor"]
    evidence_level: EvidenceLevel
    summary: str = Field(min_length=20)
    management: str = Field(min_length=20)


# --------------------------------------------------------------------------------------------------
# Adverse-event terms -> system organ class (ae_systems.yaml; the research export's `system` column)
# --------------------------------------------------------------------------------------------------

#: The 26 MedDRA system organ classes as CTCAE v5.0 prints them.
SystemOrganClass = Literal[
    "Blood and lymphatic system disorders",
    "Cardiac disorders",
    "Congenital, familial and genetic disorders",
    "Ear and labyrinth disorders",
    "Endocrine disorders",
    "Eye disorders",
    "Gastrointestinal disorders",
    "General disorders and administration site conditions",
    "Hepatobiliary disorders",
    "Immune system disorders",
    "Infections and infestations",
    "Injury, poisoning and procedural complications",
    "Investigations",
    "Metabolism and nutrition disorders",
    "Musculoskeletal and connective tissue disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "Nervous system disorders",
    "Pregnancy, puerperium and perinatal conditions",
    "Psychiatric disorders",
    "Renal and urinary disorders",
    "Reproductive system and breast disorders",
    "Respiratory, thoracic and mediastinal disorders",
    "Skin and subcutaneous tissue disorders",
    "Social circumstances",
    "Surgical and medical procedures",
    "Vascular disorders",
]


def ae_key(term: str) -> str:
    """How an entered term is matched: lower case, surrounding spaces dropped, inner runs of spaces as one."""
    return " ".join(term.lower().split())


class AeTerm(BaseModel):
    """A CTCAE v5.0 term and its SOC; with ``synonym_of``, a common wording reported under that CTCAE term."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str = Field(min_length=2)
    system: SystemOrganClass
    synonym_of: str | None = None


class AeSystems(Sourced):
    """The curated term -> system organ class map (one file)."""

    terminology: Literal["CTCAE v5.0"]
    published: dt.date
    terms: tuple[AeTerm, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> AeSystems:
        seen: dict[str, AeTerm] = {}
        for record in self.terms:
            key = ae_key(record.term)
            if key in seen:
                raise ValueError(f"term {record.term!r} is listed twice")
            seen[key] = record
        for record in self.terms:
            if record.synonym_of is None:
                continue
            target = seen.get(ae_key(record.synonym_of))
            if target is None or target.synonym_of is not None:
                raise ValueError(
                    f"{record.term!r} is a synonym of {record.synonym_of!r}, which is not a CTCAE term here"
                )
            if target.system != record.system:
                raise ValueError(f"{record.term!r} has system {record.system!r}, its term {target.system!r}")
        return self
