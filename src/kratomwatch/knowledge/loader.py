"""The one loader for curated knowledge files. Validates on load; results are cached per process."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

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
)
from kratomwatch.core.screening.legal import ProductRule, RuledStatusRecord
from kratomwatch.core.screening.types import frozen_map
from kratomwatch.knowledge.schemas import (
    AeSystems,
    CombinationProduct,
    Contraindication,
    EvidenceClaim,
    Ingredient,
    InteractionClass,
    Jurisdiction,
    LeafReference,
    ProductSafety,
    ae_key,
)

M = TypeVar("M", bound=BaseModel)


#: libyaml's safe loader when PyYAML was built with it (loading all files: 0.85 s -> 0.17 s), else the pure-Python one.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeError(Exception):
    """A curated data file is missing or does not match its schema."""


def read_yaml(name: str) -> Any:
    """Read ``knowledge/data/<name>`` from the installed package."""
    path = resources.files("kratomwatch.knowledge").joinpath("data", name)
    try:
        with path.open("r", encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except FileNotFoundError as exc:
        raise KnowledgeError(f"knowledge file {name!r} is missing") from exc


def load_model(name: str, model: type[M]) -> M:
    """Load one YAML file as one validated record."""
    try:
        return model.model_validate(read_yaml(name))
    except ValidationError as exc:
        raise KnowledgeError(f"{name}: {exc}") from exc


def load_records(name: str, model: type[M], key: str = "records") -> tuple[M, ...]:
    """Load a YAML file of the form ``{records: [...]}`` as validated records."""
    data = read_yaml(name)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise KnowledgeError(f"{name}: expected a mapping with a {key!r} list")
    out: list[M] = []
    for index, item in enumerate(data[key]):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            raise KnowledgeError(f"{name}: record {index}: {exc}") from exc
    return tuple(out)


@functools.cache
def leaf_reference() -> LeafReference:
    return load_model("leaf_reference.yaml", LeafReference)


def _unique(name: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise KnowledgeError(f"{name}: duplicate id {item!r}")
        seen.add(item)


@functools.cache
def interaction_classes() -> tuple[InteractionClass, ...]:
    records = load_records("interactions.yaml", InteractionClass)
    _unique("interactions.yaml", [r.id for r in records])
    return records


@functools.cache
def ingredients() -> tuple[Ingredient, ...]:
    records = load_records("ingredients.yaml", Ingredient)
    _unique("ingredients.yaml", [r.id for r in records])
    known = {c.id for c in interaction_classes()}
    for record in records:
        missing = [c for c in record.class_ids if c not in known]
        if missing:
            raise KnowledgeError(f"ingredients.yaml: {record.id!r} names unknown classes {missing}")
    return records


@functools.cache
def combination_products() -> tuple[CombinationProduct, ...]:
    records = load_records("ingredients.yaml", CombinationProduct, key="combinations")
    _unique("ingredients.yaml combinations", [r.id for r in records])
    return records


@functools.cache
def jurisdictions() -> tuple[Jurisdiction, ...]:
    records = load_records("jurisdictions.yaml", Jurisdiction)
    _unique("jurisdictions.yaml", [r.code for r in records])
    return records


@functools.cache
def product_safety_rules() -> ProductSafety:
    return load_model("product_safety.yaml", ProductSafety)


@functools.cache
def evidence_claims() -> tuple[EvidenceClaim, ...]:
    records = load_records("evidence.yaml", EvidenceClaim)
    _unique("evidence.yaml", [r.id for r in records])
    return records


@functools.cache
def contraindication_rules() -> tuple[Contraindication, ...]:
    records = load_records("contraindications.yaml", Contraindication)
    _unique("contraindications.yaml", [r.flag for r in records])
    return records


@functools.cache
def ae_systems() -> AeSystems:
    return load_model("ae_systems.yaml", AeSystems)


NOT_CLASSIFIED = "not classified"
"""The system of an adverse-event term that ``ae_systems.yaml`` does not list."""


@functools.cache
def ae_system_map() -> dict[str, str]:
    """Matched term (``schemas.ae_key``: lower case, spaces collapsed) -> system organ class; synonyms included."""
    return {ae_key(t.term): t.system for t in ae_systems().terms}


def ae_system(term: str) -> str:
    """The system organ class of an entered adverse-event term, or :data:`NOT_CLASSIFIED`."""
    return ae_system_map().get(ae_key(term), NOT_CLASSIFIED)


# ------------------------------------------------------------------ conversion to pure core types


def to_interaction_rule(record: InteractionClass) -> InteractionRule:
    return InteractionRule(
        id=record.id,
        name=record.name,
        severity=record.severity,
        risk_level=record.risk_level,
        mechanism=record.mechanism,
        evidence_level=record.evidence_level,
        summary=record.summary,
        management=record.management,
        sources=record.sources,
        as_of=record.as_of,
    )


def to_jurisdiction_entry(record: Jurisdiction) -> JurisdictionEntry:
    return JurisdictionEntry(
        code=record.code,
        name=record.name,
        statuses=tuple(
            RuledStatusRecord(
                status=s.status,
                effective_from=s.effective_from,
                sources=s.sources,
                as_of=s.as_of,
                effective_from_confirmed=s.effective_from_confirmed,
                age_limit=s.age_limit,
                seven_oh_cap_percent=s.seven_oh_cap_percent,
                synthetic_alkaloids_banned=s.synthetic_alkaloids_banned,
                seven_oh_products_banned=s.seven_oh_products_banned,
                verification=s.verification,
                note=s.note,
                product_rules=tuple(ProductRule(r.kind, r.limit, r.note) for r in s.product_rules),
            )
            for s in record.statuses
        ),
    )


def medication_index() -> MedicationIndex:
    """The name index over ingredients and combination products (raises on ambiguous names)."""
    return _medication_index()


@functools.cache
def _medication_index() -> MedicationIndex:
    try:
        return MedicationIndex.build(
            tuple(IngredientEntry(r.id, r.display_name, r.synonyms, r.brands, r.class_ids) for r in ingredients()),
            tuple(
                CombinationEntry(c.id, c.name, c.ingredient_ids, c.synonyms, c.not_screened)
                for c in combination_products()
            ),
        )
    except ValueError as exc:
        raise KnowledgeError(f"ingredients.yaml: {exc}") from exc


@functools.cache
def screening_knowledge() -> ScreeningKnowledge:
    """All curated safety knowledge as pure core types, for kratomwatch.core.screening functions."""
    product = product_safety_rules()
    rules = ProductSafetyRules(
        unknown_potency_forms=frozenset(f.form for f in product.forms if f.unknown_potency_without_certificate),
        texts=frozen_map({f.code: FindingText(f.severity, f.message, f.sources) for f in product.findings}),
    )
    return ScreeningKnowledge(
        index=medication_index(),
        interactions=frozen_map({r.id: to_interaction_rule(r) for r in interaction_classes()}),
        jurisdictions=frozen_map({j.code: to_jurisdiction_entry(j) for j in jurisdictions()}),
        product_rules=rules,
        contraindications=frozen_map(
            {
                c.flag: ContraindicationRule(
                    c.flag, c.severity, c.evidence_level, c.summary, c.management, c.sources, c.as_of
                )
                for c in contraindication_rules()
            }
        ),
    )


def validate_all() -> list[str]:
    """Load every knowledge file; return the names loaded. Raises KnowledgeError on the first bad file."""
    leaf_reference()
    interaction_classes()
    ingredients()
    combination_products()
    jurisdictions()
    product_safety_rules()
    evidence_claims()
    contraindication_rules()
    screening_knowledge()
    ae_systems()
    return [
        "leaf_reference.yaml",
        "interactions.yaml",
        "ingredients.yaml",
        "jurisdictions.yaml",
        "product_safety.yaml",
        "evidence.yaml",
        "contraindications.yaml",
        "ae_systems.yaml",
    ]
