"""Safety knowledge endpoints: interaction screening, legal status, graded evidence.

They touch no patient data; any authenticated user may call them.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kratomwatch.cli_knowledge import _plain
from kratomwatch.core.errors import InputError
from kratomwatch.core.screening import UnknownJurisdiction, evaluate_product, legal_status, screen_interactions
from kratomwatch.knowledge.loader import evidence_claims, screening_knowledge

router = Router(tags=["safety knowledge"])


class ScreenIn(Schema):
    medications: list[str] = Field(min_length=1, max_length=100, description="Medications as entered")


@router.post("/screening/interactions")
def screen(request: HttpRequest, payload: ScreenIn) -> dict[str, Any]:
    """Interactions with kratom for a medication list; unmatched entries are kept with suggestions."""
    for index, text in enumerate(payload.medications):
        if not text.strip() or len(text) > 200:
            raise InputError(f"medications.{index}", text, "each medication must be 1-200 characters")
    result = screen_interactions(payload.medications, screening_knowledge())
    return {
        "findings": _plain(result.findings),
        "matches": _plain(result.matches),
        "unresolved": _plain(result.unresolved),
        "highest_severity": result.highest_severity,
    }


@router.get("/legal/{code}")
def legal(
    request: HttpRequest, code: str, on: dt.date | None = None, seven_oh_share: float | None = None
) -> dict[str, Any]:
    """Status of kratom in a jurisdiction on a date (subdivision rules over country), and a product check."""
    day = on or dt.date.today()
    if seven_oh_share is not None and not (0 <= seven_oh_share <= 100):
        raise InputError("seven_oh_share", seven_oh_share, "the 7-OH share must be between 0 and 100 percent")
    knowledge = screening_knowledge()
    try:
        status = legal_status(code.strip().upper(), day, knowledge)
    except UnknownJurisdiction:
        raise InputError(
            "code",
            code,
            f"unknown jurisdiction code {code!r} (use e.g. US, US-TX, TH, GB)",
            code="unknown_jurisdiction",
        ) from None
    product = (
        None
        if seven_oh_share is None
        else evaluate_product(status.code, day, knowledge, seven_oh_share_percent=seven_oh_share)
    )
    return {
        "jurisdiction": status.code,
        "name": status.name,
        "on": day,
        "status": status.status,
        "decided_by": status.decided_by,
        "record": _plain(status.record),
        "sources": list(status.sources),
        "product": _plain(product),
        "disclaimer": "A summary of curated rules with their sources, not legal advice.",
    }


@router.get("/evidence")
def evidence(request: HttpRequest) -> list[dict[str, Any]]:
    """Every graded claim (GRADE-style certainty, plain-language summary, key numbers, citations)."""
    return [c.model_dump(mode="json") for c in evidence_claims()]


@router.get("/evidence/{claim_id}")
def evidence_claim(request: HttpRequest, claim_id: str) -> dict[str, Any]:
    for c in evidence_claims():
        if c.id == claim_id:
            return c.model_dump(mode="json")
    from kratomwatch.core.errors import NotFound

    raise NotFound("claim_id", claim_id, f"unknown claim {claim_id!r}")
