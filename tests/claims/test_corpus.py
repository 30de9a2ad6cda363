"""The labelled corpus and the metric targets: recall of overclaims and factual errors >= 0.9, precision >= 0.85,
hedged statements never flagged; on each half (development, holdout) and on both (docs/claims.md)."""

from __future__ import annotations

from typing import Any

import pytest

from kratomwatch.claims.checker import engine
from kratomwatch.claims.corpus import corpus, evaluate


@pytest.fixture(scope="module")
def metrics() -> dict[str, Any]:
    return evaluate()


def test_the_corpus_has_two_halves_of_labelled_sentences_in_every_style() -> None:
    data = corpus()
    items = [*data.development, *data.holdout]
    assert len(items) >= 220 and len(data.holdout) >= 100
    assert len({i.text for i in items}) == len(items), "duplicate sentences"
    styles = {i.verdict for i in items}
    assert styles == {"overclaim", "factual_error", "unsupported_recommendation", "supported", None}
    assert sum(1 for i in items if i.hedge) >= 20


def test_every_labelled_claim_exists_in_the_library() -> None:
    eng = engine()
    known = set(eng.library.grades) | set(eng.facts) | {"use_in_treatment"}
    assert {i.claim for i in [*corpus().development, *corpus().holdout] if i.claim} <= known


@pytest.mark.parametrize("half", ["development", "holdout", "all"])
def test_the_targets_are_met(metrics: dict[str, Any], half: str) -> None:
    result = metrics[half]
    for verdict in ("overclaim", "factual_error"):
        row = result["per_verdict"][verdict]
        assert row["recall"] >= 0.9, (half, verdict, row)
        assert row["precision"] >= 0.85, (half, verdict, row)
    for verdict in ("unsupported_recommendation", "supported"):
        assert result["per_verdict"][verdict]["precision"] >= 0.85, (half, verdict)
    assert result["hedges"] > 0 and result["hedges_flagged"] == 0


def test_calls_for_research_are_never_flagged() -> None:
    from kratomwatch.claims.checker import check_text

    for sentence in (
        "More research is needed.",
        "Further research on kratom is needed.",
        "Kratom may help with pain, but more research is needed.",
        "Larger trials of kratom are needed before firm conclusions can be drawn.",
        "The evidence on kratom and anxiety is preliminary.",
    ):
        verdicts = {f["verdict"] for f in check_text(sentence)["findings"]}
        assert verdicts <= {"supported"}, sentence
