"""The claim checker: ``POST /claims/check`` with ``{"text": ...}`` -> the findings of ``kratomwatch claims check
--json`` (docs/claims.md). Reads no patient data; authenticated like the rest of the API. Bad text (empty, binary,
over 200,000 bytes, not English) is a 400 naming the field ``text``."""

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kratomwatch.claims.checker import check as run
from kratomwatch.claims.text import MAX_BYTES

router = Router(tags=["claim checker"])


class ClaimsIn(Schema):
    text: str = Field(max_length=MAX_BYTES, description="Plain text, Markdown or HTML (at most 200,000 bytes)")


class FindingOut(Schema):
    sentence: str
    start: int = Field(description="Offset of the sentence in the checked text (HTML: in its extracted text)")
    end: int
    claim: str = Field(description="An evidence.yaml claim id, a checked-fact id, or use_in_treatment")
    asserted_strength: Literal["hedged", "plain", "strong"]
    verdict: Literal["factual_error", "unsupported_recommendation", "overclaim", "supported"]
    grade: str | None = Field(description="The library's certainty for the claim, or 'fact' for a checked fact")
    reason: str
    sources: list[str]


class VerdictCounts(Schema):
    factual_error: int
    unsupported_recommendation: int
    overclaim: int
    supported: int


class SummaryOut(Schema):
    sentences: int
    sentences_about_kratom: int
    findings: int
    flagged: int
    by_verdict: VerdictCounts


class ClaimsOut(Schema):
    findings: list[FindingOut]
    summary: SummaryOut


@router.post("/claims/check", response=ClaimsOut)
def check(request: HttpRequest, payload: ClaimsIn) -> dict[str, object]:
    """Each sentence about kratom with the claim it makes, the strength it asserts, the verdict against the evidence
    library, the library's grade, a one-line reason and the sources. It never recommends kratom."""
    report = run(payload.text, field="text")
    return {"findings": report["findings"], "summary": report["summary"]}
