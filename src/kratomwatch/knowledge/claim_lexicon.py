"""Schema and loader of ``knowledge/data/claim_lexicon.yaml``: the claim checker's curated phrases (docs/claims.md)."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kratomwatch.knowledge.loader import KnowledgeError, evidence_claims, read_yaml
from kratomwatch.knowledge.schemas import Sourced

Phrases = tuple[str, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContextTrigger(_Strict):
    """A ConText trigger: a phrase, its category and the direction of its scope (pseudo-triggers have none)."""

    phrase: str = Field(min_length=1)
    category: Literal["NEGATED", "HEDGED", "STRONG", "PSEUDO"]
    direction: Literal["forward", "backward", "bidirectional"] = "bidirectional"


class ClaimTerms(_Strict):
    """The words that name an evidence-library claim; ``self_asserting`` phrases make the claim on their own."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    terms: Phrases = ()
    self_asserting: Phrases = ()


class CheckedFact(Sourced):
    """A factual statement the checker can check, with the phrases that agree with it and those that contradict it."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    statement: str = Field(min_length=10)
    true_phrases: Phrases = ()
    false_phrases: Phrases = ()


class LegalWords(_Strict):
    """Words for legal-status claims; the status itself comes from jurisdictions.yaml."""

    banned_words: Phrases = Field(min_length=1)
    legal_words: Phrases = Field(min_length=1)
    ban_verbs: Phrases = Field(min_length=1)
    all_states_legal: Phrases = ()
    federal_banned: Phrases = ()
    federal_legal: Phrases = ()


class ClaimLexicon(Sourced):
    subjects: Phrases = Field(min_length=1)
    anaphora: Phrases = ()
    effect_cues: Phrases = Field(min_length=1)
    triggers: tuple[ContextTrigger, ...] = Field(min_length=1)
    terminators: Phrases = ()
    claims: tuple[ClaimTerms, ...] = Field(min_length=1)
    safety_claim: str
    safe_phrases: Phrases = ()
    harm_phrases: Phrases = ()
    respiratory_phrases: Phrases = ()
    recommendation_phrases: Phrases = Field(min_length=1)
    facts: tuple[CheckedFact, ...] = ()
    legal: LegalWords

    @model_validator(mode="after")
    def _unique(self) -> ClaimLexicon:
        for name, ids in (("claims", [c.id for c in self.claims]), ("facts", [f.id for f in self.facts])):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate id in {name}")
        return self


@functools.cache
def claim_lexicon() -> ClaimLexicon:
    """The validated lexicon; every claim id (and the safety claim) must name an evidence.yaml record."""
    try:
        lexicon = ClaimLexicon.model_validate(read_yaml("claim_lexicon.yaml"))
    except ValidationError as exc:
        raise KnowledgeError(f"claim_lexicon.yaml: {exc}") from exc
    known = {r.id for r in evidence_claims()}
    unknown = sorted({c.id for c in lexicon.claims} - known | ({lexicon.safety_claim} - known))
    if unknown:
        raise KnowledgeError(f"claim_lexicon.yaml: claims not in evidence.yaml: {unknown}")
    return lexicon
