"""Presenters of the curated safety knowledge, shared by the API and the command line.

Contract:
- every payload is JSON-ready (``dict``/``list``/``str``/numbers/``None``; dates as ISO 8601 strings), so the
  API and ``kratomwatch <command> --json`` return the same document for the same question;
- bad input raises :class:`~kratomwatch.core.errors.InputError` naming the adapter's own field (the API's path
  parameter is ``code``, the CLI's argument is ``jurisdiction``), the value and a readable message;
- the legal payload always carries :data:`LEGAL_DISCLAIMER`: a summary of curated rules, never legal advice.

Nothing here touches patient data or the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.core.screening import (
    LegalStatusResult,
    ProductEvaluation,
    ScreeningResult,
    UnknownJurisdiction,
    evaluate_product,
    legal_status,
)
from kratomwatch.knowledge.loader import evidence_claims, jurisdictions, screening_knowledge
from kratomwatch.knowledge.schemas import EvidenceClaim

LEGAL_DISCLAIMER = "A summary of curated rules with their sources, not legal advice."

__all__ = [
    "LEGAL_DISCLAIMER",
    "claim_payload",
    "evidence_payload",
    "find_claim",
    "knowledge_as_of",
    "legal_check",
    "legal_payload",
    "plain",
    "screening_payload",
]


def plain(value: Any) -> Any:
    """A frozen core result (dataclasses, tuples, dates) as plain JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def screening_payload(result: ScreeningResult) -> dict[str, Any]:
    """Interaction findings, positives (a rescue medication on file), the entries to confirm (approximate
    matches: nothing is screened for them until a person confirms the medication), the matched and the unresolved
    entries, the highest severity, and the as-of date of the curated interaction knowledge."""
    dates = [f.as_of for f in (*result.findings, *result.positives)]
    return {
        "findings": plain(result.findings),
        "positives": plain(result.positives),
        "to_confirm": [
            {"entered": m.entered, "suggestions": [s.term for s in m.suggestions[:3]]} for m in result.to_confirm
        ],
        "matches": plain(result.matches),
        "unresolved": plain(result.unresolved),
        "highest_severity": result.highest_severity,
        "knowledge_as_of": max(dates).isoformat() if dates else None,
    }


def _check_range(name: str, value: float | None, high: float | None, message: str) -> None:
    if value is not None and not (0 <= value <= (high if high is not None else float("inf"))):
        raise InputError(name, value, message)


def legal_check(
    code: str,
    day: dt.date | None,
    seven_oh_share: float | None = None,
    *,
    field: str = "jurisdiction",
    seven_oh_product: bool | None = None,
    seven_oh_mg_per_serving: float | None = None,
    seven_oh_mg_per_g: float | None = None,
    synthetic: bool | None = None,
    pure_leaf: bool | None = None,
) -> tuple[LegalStatusResult, ProductEvaluation | None]:
    """The status in force in ``code`` on ``day`` and, when the product is described, a product check.

    The product is described by any of: ``seven_oh_share`` (% of total alkaloids), ``seven_oh_product`` (a 7-OH
    product or not), ``seven_oh_mg_per_serving``, ``seven_oh_mg_per_g``, ``synthetic`` (synthetic or
    semi-synthetic alkaloids) and ``pure_leaf`` (dried leaf or leaf powder only). What is not given is not
    known: a rule that needs it makes the verdict ``unknown`` and names the fact (never ``allowed``).

    ``field`` names the jurisdiction input in errors (``InputError`` code ``unknown_jurisdiction``). Without
    ``day`` the status is the one in force today (UTC).
    """
    day = day or dt.datetime.now(dt.UTC).date()
    _check_range("seven_oh_share", seven_oh_share, 100, "the 7-OH share must be between 0 and 100 percent")
    _check_range("seven_oh_mg_per_serving", seven_oh_mg_per_serving, None, "mg of 7-OH per serving must be >= 0")
    _check_range("seven_oh_mg_per_g", seven_oh_mg_per_g, 1000, "mg of 7-OH per gram must be between 0 and 1000")
    knowledge = screening_knowledge()
    try:
        status = legal_status(code.strip().upper(), day, knowledge)
    except UnknownJurisdiction:
        raise InputError(
            field, code, f"unknown jurisdiction code {code!r} (use e.g. US, US-TX, TH, GB)", code="unknown_jurisdiction"
        ) from None
    described = (seven_oh_share, seven_oh_product, seven_oh_mg_per_serving, seven_oh_mg_per_g, synthetic, pure_leaf)
    product = (
        None
        if all(v is None for v in described)
        else evaluate_product(
            status.code,
            day,
            knowledge,
            seven_oh_share_percent=seven_oh_share,
            is_seven_oh_product=seven_oh_product,
            seven_oh_mg_per_g=seven_oh_mg_per_g,
            seven_oh_mg_per_serving=seven_oh_mg_per_serving,
            synthetic=synthetic,
            pure_leaf=pure_leaf,
        )
    )
    return status, product


def knowledge_as_of() -> str:
    """The latest as-of date of the curated legal knowledge (ISO 8601)."""
    return max(s.as_of for j in jurisdictions() for s in j.statuses).isoformat()


def legal_payload(status: LegalStatusResult, product: ProductEvaluation | None) -> dict[str, Any]:
    """The legal status with its record, sources, as-of dates, the product verdict and the disclaimer."""
    return {
        "jurisdiction": status.code,
        "name": status.name,
        "on": status.on.isoformat(),
        "status": status.status,
        "decided_by": status.decided_by,
        "record": plain(status.record),
        "sources": list(status.sources),
        "as_of": status.record.as_of.isoformat() if status.record else None,
        "knowledge_as_of": knowledge_as_of(),
        "product": plain(product),
        "disclaimer": LEGAL_DISCLAIMER,
    }


def find_claim(claim_id: str, *, field: str = "claim") -> EvidenceClaim:
    """One graded claim by id; ``NotFound`` (code ``unknown_claim``) lists the known ids."""
    claims = evidence_claims()
    for claim in claims:
        if claim.id == claim_id:
            return claim
    raise NotFound(
        field, claim_id, f"unknown claim {claim_id!r}; known: {', '.join(c.id for c in claims)}", code="unknown_claim"
    )


def claim_payload(claim: EvidenceClaim) -> dict[str, Any]:
    return claim.model_dump(mode="json")


def evidence_payload() -> list[dict[str, Any]]:
    """Every graded claim (GRADE-style certainty, plain-language summary, key numbers, citations)."""
    return [claim_payload(c) for c in evidence_claims()]
