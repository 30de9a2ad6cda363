"""The liver rule: R ratio pattern, cholestatic and mixed injury, isolated bilirubin, beside Hy's law and ALT > 5x."""

from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.core.rules import Finding, Labs, LabValue, RuleConfig, catalogue, liver_rule
from kratomwatch.core.rules.liver import injury_pattern, r_ratio
from tests.core.rules.factories import AS_OF, snapshot

CFG = RuleConfig()


def lab(value: float, uln: float, on: dt.date = AS_OF) -> LabValue:
    return LabValue(value=value, uln=uln, observed_on=on)


def keys(findings: list[Finding]) -> dict[str, str]:
    return {f.subject_key: f.severity for f in findings}


def test_the_rule_is_registered_under_its_id() -> None:
    assert dict(catalogue.RULES)["liver"] is liver_rule


@pytest.mark.parametrize(
    ("alt", "alp", "pattern"),
    [
        (200, 120, "hepatocellular"),  # 5x / 1x = 5: R >= 5
        (199, 120, "mixed"),  # 4.975
        (81, 120, "mixed"),  # 2.025
        (80, 120, "cholestatic"),  # exactly 2: R <= 2
        (40, 360, "cholestatic"),  # 1x / 3x
    ],
)
def test_r_ratio_cut_offs(alt: float, alp: float, pattern: str) -> None:
    r = r_ratio(lab(alt, 40), lab(alp, 120))
    assert r is not None
    assert injury_pattern(r) == pattern


def test_r_ratio_is_unknown_without_a_same_day_pair() -> None:
    assert r_ratio(None, lab(300, 120)) is None
    assert r_ratio(lab(80, 40), None) is None
    assert r_ratio(lab(80, 40), lab(300, 120, AS_OF - dt.timedelta(days=3))) is None
    assert injury_pattern(None) is None


def test_cholestatic_injury_alp_at_least_twice_uln_with_low_r() -> None:
    (finding,) = liver_rule(snapshot(labs=Labs(alt=lab(60, 40), alp=lab(240, 120))), CFG)  # ALP 2x, R 0.75
    assert (finding.subject_key, finding.severity) == ("lab:cholestatic", "high")
    assert "R = (ALT/ULN)/(ALP/ULN) = 0.75: cholestatic pattern" in finding.reason
    assert "PMID:21544079" in finding.sources and "doi:10.1038/ajg.2014.131" in finding.sources
    assert finding.evidence_as_of == dt.date(2026, 12, 1)


def test_alp_just_below_twice_uln_does_not_fire() -> None:
    assert liver_rule(snapshot(labs=Labs(alt=lab(60, 40), alp=lab(239, 120))), CFG) == []


def test_mixed_injury_and_unknown_pattern() -> None:
    mixed = liver_rule(snapshot(labs=Labs(alt=lab(180, 40), alp=lab(240, 120))), CFG)  # 4.5x / 2x = 2.25
    assert keys(mixed) == {"lab:mixed": "high"}
    (alone,) = liver_rule(snapshot(labs=Labs(alp=lab(300, 120))), CFG)
    assert alone.subject_key == "lab:alp"
    assert "unknown: no ALT result" in alone.reason
    apart = liver_rule(snapshot(labs=Labs(alt=lab(60, 40, AS_OF - dt.timedelta(days=9)), alp=lab(300, 120))), CFG)
    assert keys(apart) == {"lab:alp": "high"}
    assert "not taken on the same day" in apart[0].reason


def test_isolated_bilirubin_at_least_twice_uln() -> None:
    assert liver_rule(snapshot(labs=Labs(bilirubin=lab(2.3, 1.2))), CFG) == []  # 1.92x
    (finding,) = liver_rule(snapshot(labs=Labs(bilirubin=lab(2.4, 1.2))), CFG)  # exactly 2x
    assert (finding.subject_key, finding.severity) == ("lab:bilirubin", "high")
    assert "no ALT, AST or ALP result" in finding.reason


def test_bilirubin_is_not_repeated_when_hys_law_fires() -> None:
    found = keys(liver_rule(snapshot(labs=Labs(alt=lab(130, 40), bilirubin=lab(3, 1.2))), CFG))
    assert found == {"lab:hys_law": "urgent"}


def test_fernandes_2019_kratom_case_fires() -> None:
    """Total bilirubin 28.9 mg/dL with only mild ALT, AST and ALP rises (PMID 30920318): neither Hy's law nor
    ALT > 5x ULN fires, the bilirubin finding does. The enzyme values are illustrative mild rises."""
    labs = Labs(alt=lab(80, 40), ast=lab(70, 40), alp=lab(170, 120), bilirubin=lab(28.9, 1.2))
    findings = liver_rule(snapshot(labs=labs), CFG)
    assert keys(findings) == {"lab:bilirubin": "high"}
    (finding,) = findings
    assert "Total bilirubin 28.9 = 24.08x ULN 1.2" in finding.reason
    assert "PMID:30920318" in finding.sources


def test_alt_above_five_and_cholestatic_can_fire_together() -> None:
    labs = Labs(alt=lab(240, 40), alp=lab(480, 120), bilirubin=lab(1.0, 1.2))  # 6x ALT, 4x ALP, R 1.5
    assert keys(liver_rule(snapshot(labs=labs), CFG)) == {"lab:alt": "high", "lab:cholestatic": "high"}
