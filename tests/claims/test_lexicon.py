"""The claim lexicon is curated data with a schema: it validates, names only evidence-library claims, and every
checked fact is sourced and dated; a malformed lexicon is a hard error."""

from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.knowledge import claim_lexicon as module
from kratomwatch.knowledge.loader import KnowledgeError, evidence_claims


def test_the_lexicon_validates_and_names_library_claims() -> None:
    lexicon = module.claim_lexicon()
    evidence = {r.id for r in evidence_claims()}
    assert {c.id for c in lexicon.claims} <= evidence and lexicon.safety_claim in evidence
    assert {f.id for f in lexicon.facts} == {
        "botanical_family",
        "opioid_receptor_activity",
        "fda_approval",
        "addiction_risk",
    }
    categories = {t.category for t in lexicon.triggers}
    assert categories == {"NEGATED", "HEDGED", "STRONG", "PSEUDO"}
    assert "doi:10.1016/j.jbi.2009.05.002" in lexicon.sources


def test_every_checked_fact_is_sourced_dated_and_has_phrases() -> None:
    for fact in module.claim_lexicon().facts:
        assert fact.sources and dt.date(2026, 1, 1) <= fact.as_of <= dt.datetime.now(dt.UTC).date()
        assert fact.true_phrases, fact.id


@pytest.mark.parametrize(
    "broken",
    [
        {"sources": ["doi:10.1/x"], "as_of": "2026-12-02"},
        "not a mapping",
    ],
)
def test_a_malformed_lexicon_is_a_hard_error(monkeypatch: pytest.MonkeyPatch, broken: object) -> None:
    module.claim_lexicon.cache_clear()
    monkeypatch.setattr(module, "read_yaml", lambda name: broken)
    try:
        with pytest.raises(KnowledgeError, match=r"claim_lexicon\.yaml"):
            module.claim_lexicon()
    finally:
        module.claim_lexicon.cache_clear()


def test_a_claim_outside_the_library_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = module.read_yaml("claim_lexicon.yaml")
    real["claims"] = [*real["claims"], {"id": "cures_cancer", "terms": ["cancer"]}]
    module.claim_lexicon.cache_clear()
    monkeypatch.setattr(module, "read_yaml", lambda name: real)
    try:
        with pytest.raises(KnowledgeError, match="cures_cancer"):
            module.claim_lexicon()
    finally:
        module.claim_lexicon.cache_clear()
