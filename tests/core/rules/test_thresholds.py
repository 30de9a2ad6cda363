"""The rules' instrument thresholds are the instrument definitions' own bands and flag rules.

Each threshold is checked three ways: the definition still holds the published value (cited), the rule fires
exactly from that band's lower bound over the whole score range, and a real scored administration
(``core.instruments.score``) fires the rule exactly when its band is the named band or above.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kratomwatch.core import instruments
from kratomwatch.core.instruments import Band, InstrumentDefinition
from kratomwatch.core.rules import (
    Assessment,
    Finding,
    RuleConfig,
    dependence_rule,
    mood_rule,
    suicidality_rule,
    withdrawal_rule,
)
from kratomwatch.core.rules import catalogue as cat
from tests.core.rules.factories import AT, assessment, snapshot

CFG = RuleConfig()

# (catalogue threshold, instrument, band, rule, subject key, severity from this band, published lower bound)
THRESHOLDS = [
    (cat.PHQ9_SEVERE, "phq9", "severe", mood_rule, "phq9:severe", "high", 20),  # Kroenke 2001: 20-27 severe
    (cat.GAD7_SEVERE, "gad7", "severe", mood_rule, "gad7:severe", "high", 15),  # Spitzer 2006: 15-21 severe
    (cat.COWS_MODERATE, "cows", "moderate", withdrawal_rule, "withdrawal:cows", "moderate", 13),  # Wesson 2003
    (cat.COWS_MODERATELY_SEVERE, "cows", "moderately_severe", withdrawal_rule, "withdrawal:cows", "high", 25),
    (cat.DSM5_MODERATE, "dsm5_sud", "moderate", dependence_rule, "dsm5:kratom_use_disorder", "moderate", 4),
    (cat.DSM5_SEVERE, "dsm5_sud", "severe", dependence_rule, "dsm5:kratom_use_disorder", "high", 6),
]
IDS = [f"{row[1]}-{row[2]}" for row in THRESHOLDS]
PARAMS = ("threshold", "instrument_id", "band_id", "rule", "subject", "severity_from", "published")


def fired(findings: list[Finding], subject: str, severity_from: str) -> bool:
    """The finding at this band's severity (or above, for the first band the rule fires at)."""
    found = {f.subject_key: f.severity for f in findings}.get(subject)
    return found == "high" if severity_from == "high" else found is not None


def band_rank(definition: InstrumentDefinition, band_id: str) -> int:
    return [band.id for band in definition.primary_scale.bands].index(band_id)


def totals(definition: InstrumentDefinition) -> Iterator[int]:
    low, high = definition.score_range(definition.primary_scale_id)
    return iter(range(int(low), int(high) + 1))


def answers_for_total(definition: InstrumentDefinition, total: int) -> list[int | None] | None:
    """Answers whose sum is ``total`` (largest allowed value first), or None when the greedy fill misses it."""
    answers: list[int | None] = []
    left = total
    for item in definition.items:
        value = max(v for v in item.allowed_values if v <= left) if left >= item.min_value else item.min_value
        answers.append(value)
        left -= value
    return answers if left == 0 else None


@pytest.mark.parametrize(PARAMS, THRESHOLDS, ids=IDS)
def test_the_rule_threshold_is_the_published_band_of_the_definition(
    threshold: Band,
    instrument_id: str,
    band_id: str,
    rule: cat.Rule,
    subject: str,
    severity_from: str,
    published: int,
) -> None:
    definition = instruments.get(instrument_id)
    band = next(b for b in definition.primary_scale.bands if b.id == band_id)
    assert threshold == band and band.low == published
    for total in totals(definition):
        findings = rule(snapshot(assessments=(assessment(instrument_id, total),)), CFG)
        assert fired(findings, subject, severity_from) is (total >= band.low), total


@pytest.mark.parametrize(PARAMS, THRESHOLDS, ids=IDS)
def test_a_scored_administration_fires_exactly_from_the_named_band(
    threshold: Band,
    instrument_id: str,
    band_id: str,
    rule: cat.Rule,
    subject: str,
    severity_from: str,
    published: int,
) -> None:
    definition = instruments.get(instrument_id)
    checked = 0
    for total in totals(definition):
        answers = answers_for_total(definition, total)
        if answers is None:
            continue
        result = instruments.score(definition, answers)
        assert result.total == total and result.band is not None
        findings = rule(snapshot(assessments=(Assessment.from_score(result, AT),)), CFG)
        in_band_or_above = band_rank(definition, result.band.id) >= band_rank(definition, band_id)
        assert fired(findings, subject, severity_from) is in_band_or_above, (total, result.band.id)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("item9", [None, 0, 1, 2, 3])
def test_item9_is_judged_by_the_phq9_flag_rule(item9: int | None) -> None:
    """Simon 2013 (doi:10.1176/appi.ps.201200587): any item-9 answer above 'not at all' is flagged. The rule's
    verdict equals the definition's flag on the answers alone, on the stored flags alone, and on both."""
    definition = instruments.get("phq9")
    rule = cat.PHQ9_SUICIDALITY
    assert (rule.target_id, rule.at_or_above, rule.flag_when_unanswered) == ("phq9_9", 1, True)
    assert definition.items[cat.PHQ9_SUICIDALITY_INDEX].id == rule.target_id
    result = instruments.score(definition, [0] * 8 + [item9])
    expected = (
        "urgent" if result.has_flag("suicidality") else "high" if result.has_flag("suicidality_unassessed") else None
    )
    assert expected == (None if item9 == 0 else "high" if item9 is None else "urgent")
    scored = Assessment.from_score(result, AT)
    answers_only = assessment("phq9", scored.total, scored.answers)
    flags_only = assessment("phq9", scored.total, (), flags=scored.flags)
    for given in (scored, answers_only, flags_only):
        findings = suicidality_rule(snapshot(assessments=(given,)), CFG)
        assert [f.severity for f in findings] == ([] if expected is None else [expected])
