"""The claim checker page: ``/claims/`` (``claims-check``). A clinician, patient or staff member pastes an article;
the page shows the text with each sentence the checker has a finding on marked, and the reasons beside it, in
plain words, printable for a patient. Reads no patient data and saves nothing (docs/claims.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from kratomwatch.claims.text import MAX_BYTES
from kratomwatch.core.errors import InputError

#: what each verdict means, in words a patient uses (no mockery of the article or its reader)
VERDICT_WORDS = {
    "factual_error": "Not correct",
    "unsupported_recommendation": "Recommends kratom",
    "overclaim": "Says more than the evidence shows",
    "supported": "In line with the evidence",
}
GRADE_WORDS = {
    "high": "strong evidence",
    "moderate": "moderate evidence",
    "low": "weak evidence",
    "very_low": "very weak evidence",
    "no_human_evidence": "no studies in people",
    "fact": "a checked fact",
}


@dataclass(frozen=True)
class Piece:
    text: str
    number: int | None = None
    verdict: str = ""


def pieces(text: str, findings: list[dict[str, Any]]) -> list[Piece]:
    """The text cut into plain pieces and marked sentences (findings are in text order and never overlap)."""
    out: list[Piece] = []
    at = 0
    for number, finding in enumerate(findings, start=1):
        if finding["start"] > at:
            out.append(Piece(text[at : finding["start"]]))
        out.append(Piece(text[finding["start"] : finding["end"]], number, finding["verdict"]))
        at = finding["end"]
    if at < len(text):
        out.append(Piece(text[at:]))
    return out


def _explained(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **f,
            "number": n,
            "verdict_words": VERDICT_WORDS[f["verdict"]],
            "grade_words": GRADE_WORDS.get(f["grade"] or "", ""),
            "links": [_link(s) for s in f["sources"]],
        }
        for n, f in enumerate(findings, start=1)
    ]


def _link(source: str) -> dict[str, str]:
    if source.startswith("http"):
        return {"label": source, "url": source}
    if source.startswith("doi:"):
        return {"label": source, "url": "https://doi.org/" + source[4:]}
    if source.startswith("PMID:"):
        return {"label": source, "url": f"https://pubmed.ncbi.nlm.nih.gov/{source[5:]}/"}
    if source.startswith("PMC"):
        return {"label": source, "url": f"https://pmc.ncbi.nlm.nih.gov/articles/{source}/"}
    return {"label": source, "url": ""}


@login_required
@require_http_methods(["GET", "POST"])
def check_page(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: the form again with the reading of the text, or the problem beside the field (400)."""
    context: dict[str, Any] = {"text": "", "error": None, "max_kb": MAX_BYTES // 1000}
    status = 200
    if request.method == "POST":
        text = request.POST.get("text", "")
        context["text"] = text
        from kratomwatch.claims.checker import check  # noqa: PLC0415 - spaCy loads on the first check, not at start

        try:
            report = check(text, field="text")
        except InputError as problem:
            context["error"] = _plain_error(problem)
            status = 400
        else:
            context.update(
                checked=True,
                pieces=pieces(report["text"], report["findings"]),
                findings=_explained(report["findings"]),
                summary=report["summary"],
            )
    return render(request, "web/claims/check.html", context, status=status)


def _plain_error(problem: InputError) -> str:
    message = problem.message
    if message.startswith("there is no text"):
        return "Paste the text of an article or a web page first."
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")
