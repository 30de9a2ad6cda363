"""evaluate(): all rules, deduplicated, sorted; never raises on valid snapshots; deterministic; sourced."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kratomwatch.core.errors import InputError
from kratomwatch.core.exposure import Trend
from kratomwatch.core.rules import (
    RULES,
    SERIOUSNESS_CRITERIA,
    SEVERITY_RANK,
    THRESHOLD_DOCS,
    AdverseEvent,
    Assessment,
    DoseSummary,
    Finding,
    Labs,
    LabValue,
    OverdueSchedule,
    PainTrajectory,
    PatientSnapshot,
    ProductLegal,
    RecalledLot,
    RuleConfig,
    SevenOhShare,
    evaluate,
)
from kratomwatch.core.rules.snapshot import ProductSevenOh
from kratomwatch.core.screening import LegalStatusResult, ProductEvaluation, StatusRecord
from tests.core.rules.factories import AS_OF, interaction, phq9, screening, snapshot, trend

# ------------------------------------------------------------------------------------------ engine


def test_evaluate_sorts_most_severe_first() -> None:
    snap = snapshot(
        assessments=(phq9(2),),
        overdue=(OverdueSchedule("gad7", 5),),
        labs=Labs(qtc_ms=520),
        trend=trend(recent_mean_mg=60.0, baseline_mean_mg=30.0),
    )
    findings = evaluate(snap)
    assert [f.severity for f in findings] == ["urgent", "high", "moderate", "info"]
    assert [f.rule_id for f in findings] == ["suicidality", "cardiac", "escalation", "missed_followup"]


def test_evaluate_keeps_the_highest_severity_per_rule_and_subject() -> None:
    # Two screened entries for the same ingredient (one provisional) would give two findings with one key.
    snap = snapshot(
        medications=screening(
            interaction("tramadol", "serotonergic_antidepressants", "moderate"),
            interaction("tramadol", "full_opioid_agonists", "major"),
        )
    )
    findings = [f for f in evaluate(snap) if f.subject_key == "interaction:tramadol"]
    assert len(findings) == 1 and findings[0].severity == "high"


def test_dedup_keeps_the_more_severe_of_two_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    from kratomwatch.core.rules import engine

    def low(_s: PatientSnapshot, _c: RuleConfig) -> list[Finding]:
        return [Finding("x", "info", "k", "t", "low", program_settings=("p",))]

    def high(_s: PatientSnapshot, _c: RuleConfig) -> list[Finding]:
        return [Finding("x", "high", "k", "t", "high", program_settings=("p",))]

    monkeypatch.setattr(engine, "RULES", (("a", low), ("b", high), ("c", low)))
    (kept,) = engine.evaluate(snapshot())
    assert kept.severity == "high" and kept.reason == "high"


def test_assessment_from_real_scores_feeds_the_rules() -> None:
    from kratomwatch.core import instruments

    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    scored = instruments.score(instruments.get("phq9"), [0, 0, 0, 0, 0, 0, 0, 0, 1])
    sows_prev = instruments.score(instruments.get("sows"), [0] * 16)
    sows_now = instruments.score(instruments.get("sows"), [1] * 10 + [0] * 6)
    snap = snapshot(
        assessments=(
            Assessment.from_score(scored, at),
            Assessment.from_score(sows_now, at, previous=sows_prev, previous_administered_at=at - dt.timedelta(days=7)),
        )
    )
    found = {f.subject_key: f.severity for f in evaluate(snap)}
    assert found == {"phq9:item9": "urgent", "withdrawal:sows": "moderate"}


def test_an_empty_snapshot_has_no_findings() -> None:
    assert evaluate(snapshot()) == []


def test_every_rule_id_in_the_table_is_documented() -> None:
    text = (_docs() / "alerts.md").read_text(encoding="utf-8")
    for rule_id, _ in RULES:
        assert f"`{rule_id}`" in text, rule_id
    for name in THRESHOLD_DOCS:
        assert f"`{name}`" in text, name


def _docs():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parents[3] / "docs"


# ------------------------------------------------------------------------------------------ findings


def test_finding_requires_sources_or_program_setting() -> None:
    with pytest.raises(ValueError, match="neither sources nor a program setting"):
        Finding("r", "high", "k", "t", "reason")
    with pytest.raises(ValueError, match="as-of"):
        Finding("r", "high", "k", "t", "reason", sources=("PMID:1",))
    with pytest.raises(ValueError, match="severity"):
        Finding("r", "critical", "k", "t", "reason", program_settings=("p",))  # type: ignore[arg-type]
    assert Finding("r", "info", "k", "t", "x", program_settings=("p",)).basis == "program setting"
    assert Finding("r", "info", "k", "t", "x", ("PMID:1",), AS_OF).basis == "published"


# -------------------------------------------------------------------------------------------- config


def test_config_documents_every_field_and_labels_published_defaults() -> None:
    cfg = RuleConfig()
    assert set(THRESHOLD_DOCS) == {f.name for f in dataclasses.fields(RuleConfig)}
    assert not cfg.is_program_setting("no_benefit_percent")
    assert not cfg.is_program_setting("seven_oh_cap_percent")
    assert cfg.is_program_setting("escalation_ratio")
    assert RuleConfig(no_benefit_percent=50).is_program_setting("no_benefit_percent")
    assert cfg.citation("no_benefit_percent") == (("PMID:18055266", "doi:10.1016/j.jpain.2007.09.005"), ())
    assert (cfg.escalation_ratio, cfg.no_benefit_weeks, cfg.no_benefit_percent, cfg.seven_oh_cap_percent) == (
        1.5,
        8,
        30.0,
        2.0,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"escalation_ratio": 1.0},
        {"escalation_ratio": float("nan")},
        {"gap_shrink_fraction": 1.0},
        {"no_benefit_percent": 101},
        {"missed_followup_grace_days": 14, "missed_followup_moderate_days": 14},
        {"seven_oh_cap_percent": 0},
        {"sows_rise_points": -1},
    ],
)
def test_config_rejects_unjudgeable_values(changes: dict[str, float]) -> None:
    with pytest.raises(InputError) as err:
        RuleConfig(**changes)  # type: ignore[arg-type]
    assert err.value.field in changes


def test_snapshot_rejects_bad_values() -> None:
    with pytest.raises(InputError, match="uln"):
        LabValue(10, 0, AS_OF)
    with pytest.raises(InputError, match="grade"):
        AdverseEvent("a", "x", AS_OF, grade=6)
    with pytest.raises(InputError, match="different date"):
        snapshot(trend=trend(as_of=AS_OF - dt.timedelta(days=1)))


# ------------------------------------------------------------------------------------------ property

_names = st.text(alphabet="abcdefgh-_ 01", min_size=1, max_size=8)
_small = st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False)
_opt_small = st.none() | _small
_dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=AS_OF)
_instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2026, 11, 21), timezones=st.just(dt.UTC)
)
_severity = st.sampled_from(["major", "moderate", "minor"])
_classes = st.sampled_from(
    ["full_opioid_agonists", "moud", "benzodiazepines_z_drugs", "alcohol", "antipsychotics_qt", "cyp3a_substrates"]
)

_trends = st.builds(
    Trend,
    as_of=st.just(AS_OF),
    recent_mean_mg=_small,
    baseline_mean_mg=_small,
    ratio=_opt_small,
    recent_doses_per_day=_small,
    baseline_doses_per_day=_small,
    recent_mean_gap_hours=_opt_small,
    baseline_mean_gap_hours=_opt_small,
    recent_mean_first_dose_minute=st.none() | st.floats(0, 1439),
    baseline_mean_first_dose_minute=st.none() | st.floats(0, 1439),
)
_doses = st.builds(
    DoseSummary,
    doses_in_window=st.integers(0, 50),
    unknown_potency_extract_products=st.lists(_names, max_size=3).map(tuple),
    max_seven_oh=st.none() | st.builds(SevenOhShare, st.floats(0, 100), _names, _names),
    recalled_lots=st.lists(
        st.builds(RecalledLot, _names, _names, st.none() | st.just("https://x.gov/r")), max_size=2
    ).map(tuple),
    product_seven_oh=st.lists(st.builds(ProductSevenOh, _names, st.floats(0, 100)), max_size=2).map(tuple),
    forms_used=st.lists(st.sampled_from(["leaf_powder", "shot", "seven_oh_product", "tea"]), max_size=3).map(tuple),
)
_assessments = st.builds(
    Assessment,
    instrument_id=st.sampled_from(["phq9", "gad7", "cows", "sows", "dsm5_sud", "peg"]),
    total=st.none() | st.integers(0, 64).map(float),
    answers=st.lists(st.none() | st.integers(0, 4), max_size=11).map(tuple),
    flags=st.lists(st.sampled_from(["suicidality", "suicidality_unassessed", "screen_positive"]), max_size=2).map(
        tuple
    ),
    administered_at=_instants,
    previous_total=st.none() | st.integers(0, 64).map(float),
)
_labs = st.builds(
    Labs,
    alt=st.none() | st.builds(LabValue, _small, st.floats(0.1, 100), _dates),
    ast=st.none() | st.builds(LabValue, _small, st.floats(0.1, 100), _dates),
    bilirubin=st.none() | st.builds(LabValue, _small, st.floats(0.1, 100), _dates),
    qtc_ms=st.none() | st.floats(200, 800),
    qtc_on=st.none() | _dates,
    qtc_baseline_ms=st.none() | st.floats(200, 800),
)
_events = st.builds(
    AdverseEvent,
    id=_names,
    term=st.sampled_from(["nausea", "seizure", "constipation", "Convulsion"]),
    onset=_dates,
    grade=st.none() | st.integers(1, 5),
    seriousness=st.lists(st.sampled_from(SERIOUSNESS_CRITERIA), max_size=2, unique=True).map(tuple),
)


@st.composite
def _pain(draw: st.DrawFn) -> PainTrajectory:
    start = draw(_dates)
    latest = draw(st.dates(min_value=start, max_value=AS_OF))
    return PainTrajectory("pain_nrs", start, draw(st.floats(0, 10)), latest, draw(st.floats(0, 10)))


_status_records = st.builds(
    StatusRecord,
    status=st.sampled_from(["legal", "regulated", "banned", "unknown"]),
    effective_from=st.none() | _dates,
    sources=st.lists(st.just("https://x.gov/law"), max_size=1).map(tuple),
    as_of=st.just(AS_OF),
)


@st.composite
def _legal(draw: st.DrawFn) -> LegalStatusResult:
    record = draw(st.none() | _status_records)
    value = record.status if record is not None else "unknown"
    return LegalStatusResult("US-OK", "Oklahoma", AS_OF, value, "US-OK", record)


_product_legal = st.builds(
    ProductLegal,
    product=_names,
    evaluation=st.builds(
        ProductEvaluation,
        verdict=st.sampled_from(["allowed", "over_cap", "banned", "unknown"]),
        reason=st.just("reason"),
        decided_by=st.just("US-OK"),
        sources=st.lists(st.just("https://x.gov/law"), max_size=1).map(tuple),
    ),
    evidence_as_of=st.none() | st.just(AS_OF),
)


@st.composite
def _medications(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    items = draw(
        st.lists(
            st.builds(
                interaction,
                st.sampled_from(["alprazolam", "oxycodone", "methadone", "sertraline"]),
                _classes,
                _severity,
                match_status=st.sampled_from(["matched", "suggested"]),
            ),
            max_size=4,
        )
    )
    return screening(*items)


_snapshots = st.builds(
    PatientSnapshot,
    patient_code=st.just("P-1"),
    as_of=st.just(AS_OF),
    jurisdiction=st.just("US-OK"),
    pregnant=st.booleans(),
    breastfeeding=st.booleans(),
    trend=st.none() | _trends,
    doses=_doses,
    medications=st.none() | _medications(),
    legal_status=st.none() | _legal(),
    product_legal=st.lists(_product_legal, max_size=2).map(tuple),
    assessments=st.lists(_assessments, max_size=6).map(tuple),
    adverse_events=st.lists(_events, max_size=3).map(tuple),
    labs=_labs,
    pain=st.none() | _pain(),
    overdue=st.lists(st.builds(OverdueSchedule, st.sampled_from(["phq9", "gad7"]), st.integers(0, 60)), max_size=2).map(
        tuple
    ),
)


@settings(max_examples=300, deadline=None)
@given(_snapshots)
def test_evaluate_never_raises_is_deterministic_sorted_unique_and_sourced(snap: PatientSnapshot) -> None:
    first = evaluate(snap)
    assert evaluate(snap) == first
    ranks = [SEVERITY_RANK[f.severity] for f in first]
    assert ranks == sorted(ranks, reverse=True)
    assert len({f.dedup_key for f in first}) == len(first)
    for finding in first:
        assert finding.sources or finding.program_settings, finding
        if finding.sources:
            assert finding.evidence_as_of is not None
        assert finding.reason and finding.title
        assert finding.rule_id in {rule_id for rule_id, _ in RULES}


@settings(max_examples=100, deadline=None)
@given(_snapshots)
def test_suicidality_always_surfaces_first_when_item9_is_positive(snap: PatientSnapshot) -> None:
    later = dataclasses.replace(phq9(1), administered_at=dt.datetime(2026, 11, 21, 23, tzinfo=dt.UTC))
    findings = evaluate(dataclasses.replace(snap, assessments=(*snap.assessments, later)))
    assert findings[0].severity == "urgent"
    assert any(f.subject_key == "phq9:item9" for f in findings)
