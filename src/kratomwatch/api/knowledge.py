"""Safety knowledge endpoints: interaction screening, legal status, graded evidence.

Contract: they touch no patient data; any authenticated user may call them. The documents are the ones
``kratomwatch check|legal|evidence --json`` prints (``knowledge.present``); bad input is a 400 naming the field.
"""

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kratomwatch.core.errors import InputError
from kratomwatch.core.screening import screen_interactions
from kratomwatch.knowledge import present
from kratomwatch.knowledge.loader import screening_knowledge

router = Router(tags=["safety knowledge"])

#: A jurisdiction code: ISO 3166-1 alpha-2, or ISO 3166-2 (country, hyphen, subdivision).
JURISDICTION = r"^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$"


class ScreenIn(Schema):
    medications: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=100, description="Medications as entered"
    )


@router.post("/screening/interactions")
def screen(request: HttpRequest, payload: ScreenIn) -> dict[str, Any]:
    """Interactions with kratom for a medication list; unmatched entries are kept with suggestions."""
    for index, text in enumerate(payload.medications):
        if not text.strip() or len(text) > 200:
            raise InputError(f"medications.{index}", text, "each medication must be 1-200 characters")
    return present.screening_payload(screen_interactions(payload.medications, screening_knowledge()))


@router.get("/legal/{code}")
def legal(
    request: HttpRequest,
    code: Annotated[str, Field(pattern=JURISDICTION)],
    *,
    on: dt.date | None = None,
    seven_oh_share: float | None = None,
    seven_oh_product: bool | None = None,
    seven_oh_mg_per_serving: float | None = None,
    seven_oh_mg_per_g: float | None = None,
    synthetic: bool | None = None,
    pure_leaf: bool | None = None,
) -> dict[str, Any]:
    """Status of kratom in a jurisdiction on a date (subdivision rules over country), and a product check.

    The product is described by any of the query parameters ``seven_oh_share`` (% of total alkaloids),
    ``seven_oh_product``, ``seven_oh_mg_per_serving``, ``seven_oh_mg_per_g``, ``synthetic`` and ``pure_leaf``;
    a rule that needs a fact not given answers "unknown" and names it. ``as_of`` and ``knowledge_as_of`` date
    the answer."""
    status, product = present.legal_check(
        code,
        on,
        seven_oh_share,
        field="code",
        seven_oh_product=seven_oh_product,
        seven_oh_mg_per_serving=seven_oh_mg_per_serving,
        seven_oh_mg_per_g=seven_oh_mg_per_g,
        synthetic=synthetic,
        pure_leaf=pure_leaf,
    )
    return present.legal_payload(status, product)


@router.get("/evidence")
def evidence(request: HttpRequest) -> list[dict[str, Any]]:
    """Every graded claim (GRADE-style certainty, plain-language summary, key numbers, citations)."""
    return present.evidence_payload()


@router.get("/evidence/{claim_id}")
def evidence_claim(request: HttpRequest, claim_id: str) -> dict[str, Any]:
    return present.claim_payload(present.find_claim(claim_id, field="claim_id"))
