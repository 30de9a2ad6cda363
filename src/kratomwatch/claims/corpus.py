"""Measure the checker on its labelled corpus (``knowledge/data/claim_corpus.yaml``): precision and recall per
verdict, for each half (development, holdout) and both together. ``kratomwatch claims evaluate`` prints this."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kratomwatch.claims.checker import check_text
from kratomwatch.core.claims.verdict import VERDICTS, per_verdict
from kratomwatch.knowledge.loader import KnowledgeError, read_yaml

Half = Literal["development", "holdout"]
HALVES: tuple[Half, ...] = ("development", "holdout")
FLAGS = ("factual_error", "unsupported_recommendation", "overclaim")


class Labelled(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=3)
    verdict: Literal["factual_error", "unsupported_recommendation", "overclaim", "supported"] | None
    claim: str | None = None
    hedge: bool = False


class Corpus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    development: tuple[Labelled, ...] = Field(min_length=1)
    holdout: tuple[Labelled, ...] = ()


def corpus() -> Corpus:
    try:
        return Corpus.model_validate(read_yaml("claim_corpus.yaml"))
    except ValidationError as exc:
        raise KnowledgeError(f"claim_corpus.yaml: {exc}") from exc


@dataclass(frozen=True)
class Outcome:
    half: Half
    item: Labelled
    verdict: str | None
    claim: str | None


def predict(text: str) -> tuple[str | None, str | None]:
    """The verdict and claim of the sentence's first finding (None: no finding)."""
    findings = check_text(text)["findings"]
    if not findings:
        return None, None
    return findings[0]["verdict"], findings[0]["claim"]


def outcomes() -> list[Outcome]:
    data = corpus()
    out: list[Outcome] = []
    for half in HALVES:
        for item in getattr(data, half):
            verdict, claim = predict(item.text)
            out.append(Outcome(half, item, verdict, claim))
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _metrics(rows: list[Outcome]) -> dict[str, Any]:
    counts = per_verdict([(r.item.verdict, r.verdict) for r in rows])
    right = [r for r in rows if r.item.verdict == r.verdict]
    with_claim = [r for r in right if r.item.claim is not None and r.item.verdict is not None]
    return {
        "sentences": len(rows),
        "accuracy": round(len(right) / len(rows), 3) if rows else None,
        "claim_accuracy": (
            round(sum(1 for r in with_claim if r.claim == r.item.claim) / len(with_claim), 3) if with_claim else None
        ),
        "hedges": sum(1 for r in rows if r.item.hedge),
        "hedges_flagged": sum(1 for r in rows if r.item.hedge and r.verdict in FLAGS),
        "per_verdict": {
            v: {
                "labelled": counts[v].tp + counts[v].fn,
                "precision": _rounded(counts[v].precision),
                "recall": _rounded(counts[v].recall),
            }
            for v in VERDICTS
        },
    }


def evaluate() -> dict[str, Any]:
    """Metrics per half and overall, and the sentences the checker got wrong."""
    rows = outcomes()
    result: dict[str, Any] = {half: _metrics([r for r in rows if r.half == half]) for half in HALVES}
    result["all"] = _metrics(rows)
    result["errors"] = [
        {
            "half": r.half,
            "text": r.item.text,
            "expected": r.item.verdict,
            "got": r.verdict,
            "expected_claim": r.item.claim,
            "got_claim": r.claim,
        }
        for r in rows
        if r.item.verdict != r.verdict
    ]
    return result
