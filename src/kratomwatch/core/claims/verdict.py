"""The verdict on one sentence, from what it asserts and what the evidence library grades. Pure.

The strength a grade supports follows GRADE's wording guidance (Santesso N, et al. GRADE guidelines 26: informative
statements to communicate the findings of systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135.
doi:10.1016/j.jclinepi.2019.10.014): only high certainty is stated plainly ("results in"); moderate takes "likely",
low "may", very low "very uncertain". So a plain or strong statement ("relieves", "proven", "studies show") is
supported only by high certainty, and a hedged one ("may", "some users report") by any grade. The library grades
every therapeutic claim very_low or no_human_evidence today, so only hedged statements of benefit pass.

Order of verdicts when a sentence does several things: factual_error, unsupported_recommendation, overclaim,
supported. A sentence that asserts nothing the lexicon knows gets no finding (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Strength = Literal["hedged", "plain", "strong"]
Verdict = Literal["factual_error", "unsupported_recommendation", "overclaim", "supported"]
Grade = Literal["high", "moderate", "low", "very_low", "no_human_evidence"]

VERDICTS: tuple[Verdict, ...] = ("factual_error", "unsupported_recommendation", "overclaim", "supported")
STRENGTHS: tuple[Strength, ...] = ("hedged", "plain", "strong")
_RANK = {"hedged": 0, "plain": 1, "strong": 2}
#: the strongest wording each certainty supports (GRADE guidelines 26)
SUPPORTED_STRENGTH: dict[str, Strength] = {
    "high": "strong",
    "moderate": "hedged",
    "low": "hedged",
    "very_low": "hedged",
    "no_human_evidence": "hedged",
}
GRADE_WORDS = {
    "high": "high certainty",
    "moderate": "moderate certainty",
    "low": "low certainty",
    "very_low": "very low certainty",
    "no_human_evidence": "no human evidence",
}
STRENGTH_WORDS = {"hedged": "a cautious statement", "plain": "a plain statement of fact", "strong": "a strong claim"}


@dataclass(frozen=True, slots=True)
class Assertion:
    """One thing a sentence says, as the language layer read it."""

    kind: Literal["benefit", "safety", "harm", "fact", "recommendation"]
    claim: str
    strength: Strength
    negated: bool = False
    #: for kind == "fact": whether the sentence, read with its negation, agrees with the curated fact
    agrees: bool = True


@dataclass(frozen=True, slots=True)
class Ruling:
    verdict: Verdict
    claim: str
    strength: Strength
    reason: str


@dataclass(frozen=True, slots=True)
class Library:
    """What the rules need to know about a claim: its grade and its wording (from the evidence library)."""

    grades: dict[str, Grade] = field(default_factory=dict)
    wording: dict[str, str] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)


def supports(grade: str, strength: Strength) -> bool:
    """Whether a statement of ``strength`` stays within what ``grade`` supports."""
    return _RANK[strength] <= _RANK[SUPPORTED_STRENGTH[grade]]


def rule_one(assertion: Assertion, library: Library) -> Ruling:
    """The verdict on one assertion (every branch gives its reason in plain words)."""
    claim = assertion.claim
    strength = assertion.strength
    if assertion.kind == "fact":
        fact = library.facts.get(claim, claim)
        if assertion.agrees:
            return Ruling("supported", claim, strength, f"Agrees with a checked fact: {fact}")
        return Ruling("factual_error", claim, strength, f"Contradicts a checked fact: {fact}")
    grade = library.grades.get(claim)
    words = library.wording.get(claim, claim)
    if assertion.kind == "recommendation":
        return Ruling(
            "unsupported_recommendation",
            claim,
            strength,
            "Recommends using kratom or adding it to treatment; the evidence library grades no use of kratom high "
            "enough to recommend it, and kratomwatch never recommends kratom.",
        )
    if grade is None:
        raise ValueError(f"claim {claim!r} has no grade in the evidence library")
    graded = GRADE_WORDS[grade]
    if assertion.kind == "harm":
        return Ruling(
            "supported",
            claim,
            strength,
            f"Names a documented risk; this is consistent with the library (the claim that kratom is free of harm "
            f"has {graded}).",
        )
    if assertion.negated:
        return Ruling("supported", claim, strength, f"Does not assert the benefit (\u201c{words}\u201d has {graded}).")
    if supports(grade, strength):
        return Ruling(
            "supported",
            claim,
            strength,
            f"{STRENGTH_WORDS[strength].capitalize()}, which matches the evidence (\u201c{words}\u201d: {graded}).",
        )
    return Ruling(
        "overclaim",
        claim,
        strength,
        f"States it as {STRENGTH_WORDS[strength]}, but the evidence for \u201c{words}\u201d has {graded}: "
        f"it supports at most a cautious statement such as \u201cmay\u201d.",
    )


def rule(assertions: list[Assertion], library: Library) -> Ruling | None:
    """The sentence's verdict: the first of factual_error, unsupported_recommendation, overclaim, supported."""
    rulings = [rule_one(a, library) for a in assertions]
    if not rulings:
        return None
    return min(rulings, key=lambda r: VERDICTS.index(r.verdict))


@dataclass(frozen=True, slots=True)
class Counts:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def per_verdict(pairs: list[tuple[str | None, str | None]]) -> dict[str, Counts]:
    """Precision and recall per verdict from (expected, predicted) pairs (``None``: no finding)."""
    out: dict[str, Counts] = {}
    for verdict in VERDICTS:
        tp = sum(1 for e, p in pairs if e == verdict and p == verdict)
        fp = sum(1 for e, p in pairs if e != verdict and p == verdict)
        fn = sum(1 for e, p in pairs if e == verdict and p != verdict)
        out[verdict] = Counts(tp, fp, fn)
    return out
