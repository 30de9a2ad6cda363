"""The pure part: ConText scopes (Harkema et al. 2009, doi:10.1016/j.jbi.2009.05.002) and the verdict rules (GRADE
guidelines 26, doi:10.1016/j.jclinepi.2019.10.014)."""

from __future__ import annotations

import pytest

from kratomwatch.core.claims.context import Span, Trigger, is_negated, live_triggers, modifiers, reaches
from kratomwatch.core.claims.verdict import Assertion, Library, per_verdict, rule, supports


def test_forward_scope_ends_at_a_terminator_and_backward_scope_at_the_previous_one() -> None:
    # tokens: 0 not 1 relieve 2 pain 3 but 4 helps 5 sleep
    neg = Trigger("NEGATED", "forward", Span(0, 1))
    terminators = [Span(3, 4)]
    assert reaches(neg, Span(1, 3), terminators, 6)
    assert not reaches(neg, Span(4, 6), terminators, 6)
    back = Trigger("NEGATED", "backward", Span(5, 6))
    assert reaches(back, Span(4, 5), terminators, 6)
    assert not reaches(back, Span(1, 2), terminators, 6)


def test_a_negation_inside_its_target_does_not_negate_it_but_a_strength_word_inside_counts() -> None:
    target = Span(2, 5)  # "not an opioid" as one phrase
    assert not is_negated(target, [Trigger("NEGATED", "forward", Span(2, 3))], [], 6)
    assert reaches(Trigger("STRONG", "bidirectional", Span(3, 4)), target, [], 6)


def test_a_pseudo_trigger_cancels_the_negation_it_overlaps_but_not_a_trigger_with_its_own_span() -> None:
    not_ = Trigger("NEGATED", "forward", Span(0, 1))
    no_doubt_neg = Trigger("NEGATED", "forward", Span(3, 4))
    no_doubt_strong = Trigger("STRONG", "bidirectional", Span(3, 5))
    live = live_triggers([not_, no_doubt_neg, no_doubt_strong], pseudo=[Span(0, 2), Span(3, 5)])
    assert live == (no_doubt_strong,)
    assert modifiers(Span(6, 7), live, [], 8) == (no_doubt_strong,)


LIB = Library(
    grades={"chronic_pain": "very_low", "strong_thing": "high", "adhd": "no_human_evidence"},
    wording={"chronic_pain": "Kratom relieves chronic pain"},
    facts={"fda_approval": "not approved"},
)


@pytest.mark.parametrize(
    ("grade", "strength", "ok"),
    [
        ("very_low", "hedged", True),
        ("very_low", "plain", False),
        ("very_low", "strong", False),
        ("no_human_evidence", "hedged", True),
        ("low", "plain", False),
        ("moderate", "plain", False),
        ("high", "plain", True),
        ("high", "strong", True),
    ],
)
def test_the_strength_each_grade_supports(grade: str, strength: str, ok: bool) -> None:
    assert supports(grade, strength) is ok  # type: ignore[arg-type]


def test_verdicts_and_their_order() -> None:
    plain = Assertion("benefit", "chronic_pain", "plain")
    assert rule([plain], LIB).verdict == "overclaim"  # type: ignore[union-attr]
    assert rule([Assertion("benefit", "chronic_pain", "hedged")], LIB).verdict == "supported"  # type: ignore[union-attr]
    assert rule([Assertion("benefit", "chronic_pain", "strong", negated=True)], LIB).verdict == "supported"  # type: ignore[union-attr]
    assert rule([Assertion("benefit", "strong_thing", "strong")], LIB).verdict == "supported"  # type: ignore[union-attr]
    wrong = Assertion("fact", "fda_approval", "plain", agrees=False)
    reco = Assertion("recommendation", "chronic_pain", "plain")
    ruling = rule([plain, reco, wrong], LIB)
    assert ruling is not None and ruling.verdict == "factual_error" and "not approved" in ruling.reason
    assert rule([plain, reco], LIB).verdict == "unsupported_recommendation"  # type: ignore[union-attr]
    assert rule([], LIB) is None
    overclaim = rule([plain], LIB)
    assert overclaim is not None and "very low certainty" in overclaim.reason and "may" in overclaim.reason


def test_precision_and_recall_per_verdict() -> None:
    counts = per_verdict([("overclaim", "overclaim"), ("overclaim", None), (None, "overclaim"), ("supported", None)])
    assert (counts["overclaim"].tp, counts["overclaim"].fp, counts["overclaim"].fn) == (1, 1, 1)
    assert counts["overclaim"].precision == 0.5 and counts["overclaim"].recall == 0.5
    assert counts["factual_error"].precision is None and counts["supported"].recall == 0.0
