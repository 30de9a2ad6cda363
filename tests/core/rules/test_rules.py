"""Each rule at its boundaries: fires at the threshold where the text says >=, only above it for >."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kratomwatch.core.rules import (
    AdverseEvent,
    DoseSummary,
    Finding,
    Labs,
    LabValue,
    OverdueSchedule,
    PainTrajectory,
    ProductLegal,
    RecalledLot,
    RuleConfig,
    SevenOhShare,
    cardiac_rule,
    dependence_rule,
    escalation_rule,
    interaction_rule,
    legal_rule,
    liver_rule,
    missed_followup_rule,
    mood_rule,
    no_benefit_rule,
    pregnancy_rule,
    risky_product_rule,
    serious_adverse_event_rule,
    sodium_rule,
    suicidality_rule,
    withdrawal_rule,
)
from kratomwatch.core.rules.snapshot import ProductSevenOh
from kratomwatch.core.screening import LegalStatusResult, ProductEvaluation, StatusRecord
from tests.core.rules.factories import AS_OF, assessment, interaction, phq9, screening, snapshot, trend

CFG = RuleConfig()


def keys(findings: list[Finding]) -> dict[str, str]:
    """subject key -> severity."""
    return {f.subject_key: f.severity for f in findings}


# ----------------------------------------------------------------------------------------- interaction


@pytest.mark.parametrize(("knowledge", "expected"), [("major", "high"), ("moderate", "moderate"), ("minor", "info")])
def test_interaction_severity_maps_from_knowledge(knowledge: str, expected: str) -> None:
    snap = snapshot(medications=screening(interaction("sertraline", "serotonergic_antidepressants", knowledge)))
    findings = interaction_rule(snap, CFG)
    assert keys(findings) == {"interaction:sertraline": expected}
    assert findings[0].sources == ("PMID:36924284",)
    assert findings[0].evidence_as_of == AS_OF


def test_interaction_merges_classes_of_one_ingredient_and_keeps_the_highest() -> None:
    snap = snapshot(
        medications=screening(
            interaction("methadone", "full_opioid_agonists", "major"),
            interaction("methadone", "antipsychotics_qt", "moderate", sources=("doi:10.1/x",)),
        )
    )
    findings = interaction_rule(snap, CFG)
    assert len(findings) == 1
    assert findings[0].severity == "high"
    assert "full opioid agonists" in findings[0].reason and "antipsychotics qt" in findings[0].reason
    assert findings[0].sources == ("PMID:36924284", "doi:10.1/x")


def test_interaction_provisional_match_asks_to_confirm() -> None:
    snap = snapshot(
        medications=screening(
            interaction("alprazolam", "benzodiazepines_z_drugs", "major", name="xanaks", match_status="suggested")
        )
    )
    (finding,) = interaction_rule(snap, CFG)
    assert finding.subject_key == "interaction:alprazolam"
    assert "confirm the medication" in finding.reason


def test_opioid_plus_benzodiazepine_combination_is_high() -> None:
    # Give both classes "moderate" severity so only the combination rule can produce "high".
    snap = snapshot(
        medications=screening(
            interaction("alprazolam", "benzodiazepines_z_drugs", "moderate"),
            interaction("oxycodone", "full_opioid_agonists", "moderate"),
        )
    )
    found = keys(interaction_rule(snap, CFG))
    assert found["interaction:combination:opioid_benzodiazepine"] == "high"
    assert found["interaction:alprazolam"] == "moderate"


def test_seven_oh_plus_benzodiazepine_combination_is_high() -> None:
    meds = screening(interaction("alprazolam", "benzodiazepines_z_drugs", "moderate"))
    without = snapshot(medications=meds)
    with_7oh = snapshot(medications=meds, doses=DoseSummary(doses_in_window=3, forms_used=("seven_oh_product",)))
    assert "interaction:combination:opioid_benzodiazepine" not in keys(interaction_rule(without, CFG))
    assert keys(interaction_rule(with_7oh, CFG))["interaction:combination:opioid_benzodiazepine"] == "high"


def test_benzodiazepine_alone_is_not_a_combination() -> None:
    snap = snapshot(medications=screening(interaction("sertraline", "serotonergic_antidepressants", "moderate")))
    assert "interaction:combination:opioid_benzodiazepine" not in keys(interaction_rule(snap, CFG))


# ------------------------------------------------------------------------------------------ escalation


def test_escalation_ratio_fires_at_threshold_not_below() -> None:
    at = snapshot(trend=trend(recent_mean_mg=45.0, baseline_mean_mg=30.0))  # exactly 1.5
    below = snapshot(trend=trend(recent_mean_mg=44.99, baseline_mean_mg=30.0))
    assert keys(escalation_rule(at, CFG)) == {"exposure:ratio": "moderate"}
    assert escalation_rule(below, CFG) == []
    finding = escalation_rule(at, CFG)[0]
    assert finding.program_settings == ("escalation_ratio", "min_baseline_mg")
    assert "45 mg/day" in finding.reason and "1.5x" in finding.reason


def test_escalation_ratio_needs_the_minimum_baseline() -> None:
    cfg = RuleConfig(min_baseline_mg=10.0)
    at_min = snapshot(trend=trend(recent_mean_mg=30.0, baseline_mean_mg=10.0))
    under_min = snapshot(trend=trend(recent_mean_mg=29.0, baseline_mean_mg=9.99))
    zero = snapshot(trend=trend(recent_mean_mg=50.0, baseline_mean_mg=0.0, ratio=None))
    assert "exposure:ratio" in keys(escalation_rule(at_min, cfg))
    assert "exposure:ratio" not in keys(escalation_rule(under_min, cfg))
    assert "exposure:ratio" not in keys(escalation_rule(zero, cfg))


def test_gap_shrink_fires_at_fraction_not_below() -> None:
    at = snapshot(trend=trend(baseline_mean_gap_hours=12.0, recent_mean_gap_hours=9.0))  # 25% shorter
    below = snapshot(trend=trend(baseline_mean_gap_hours=12.0, recent_mean_gap_hours=9.01))
    assert keys(escalation_rule(at, CFG)) == {"exposure:gaps": "moderate"}
    assert escalation_rule(below, CFG) == []


def test_first_dose_earlier_fires_at_minutes_not_below() -> None:
    at = snapshot(trend=trend(baseline_mean_first_dose_minute=480.0, recent_mean_first_dose_minute=420.0))
    below = snapshot(trend=trend(baseline_mean_first_dose_minute=480.0, recent_mean_first_dose_minute=421.0))
    found = escalation_rule(at, CFG)
    assert keys(found) == {"exposure:first_dose": "info"}
    assert "08:00" in found[0].reason and "07:00" in found[0].reason
    assert escalation_rule(below, CFG) == []


# --------------------------------------------------------------------------------------- risky product


def test_unknown_potency_extract_is_moderate() -> None:
    snap = snapshot(doses=DoseSummary(doses_in_window=1, unknown_potency_extract_products=("Gold Shot",)))
    assert keys(risky_product_rule(snap, CFG)) == {"product:Gold Shot:unknown_potency": "moderate"}


def test_seven_oh_fires_strictly_above_the_cap() -> None:
    def share(percent: float) -> list[Finding]:
        doses = DoseSummary(doses_in_window=1, max_seven_oh=SevenOhShare(percent, "L-9", "COA-1"))
        return risky_product_rule(snapshot(doses=doses), CFG)

    assert share(2.0) == []
    (finding,) = share(2.01)
    assert finding.severity == "high" and finding.subject_key == "lot:L-9:seven_oh"
    assert finding.program_settings == ()  # default 2% is the published cap
    assert any("legislature.ky.gov" in s for s in finding.sources)


def test_changed_seven_oh_cap_is_labelled_program_setting() -> None:
    doses = DoseSummary(doses_in_window=1, max_seven_oh=SevenOhShare(1.5, "L-9", "COA-1"))
    (finding,) = risky_product_rule(snapshot(doses=doses), RuleConfig(seven_oh_cap_percent=1.0))
    assert finding.program_settings == ("seven_oh_cap_percent",)


def test_recalled_lot_and_enhanced_product_are_high() -> None:
    doses = DoseSummary(
        doses_in_window=2,
        recalled_lots=(RecalledLot("L-1", "Leaf A", "https://www.fda.gov/recall/x"), RecalledLot("L-2", "Leaf B")),
        product_seven_oh=(ProductSevenOh("7 Tabs", 30.0),),
    )
    found = risky_product_rule(snapshot(doses=doses), CFG)
    assert keys(found) == {"lot:L-1:recalled": "high", "lot:L-2:recalled": "high", "product:7 Tabs:enhanced": "high"}
    by_key = {f.subject_key: f for f in found}
    assert by_key["lot:L-1:recalled"].sources == ("https://www.fda.gov/recall/x",)
    assert by_key["lot:L-2:recalled"].program_settings == ("recalled_lot_policy",)


def enhanced(percent: float, cfg: RuleConfig = CFG) -> dict[str, str]:
    doses = DoseSummary(doses_in_window=1, product_seven_oh=(ProductSevenOh("V Hot", percent),))
    return {k: v for k, v in keys(risky_product_rule(snapshot(doses=doses), cfg)).items() if k.endswith(":enhanced")}


def test_enhanced_product_is_its_share_above_the_programs_cap_not_a_stored_flag() -> None:
    """63 O.S. 1-1432.4: 7-OH above 2% of the alkaloid composition. A product at 2.5% is enhanced under the
    published 2% default, and not for a program that raised its cap to 3%."""
    raised = RuleConfig(seven_oh_cap_percent=3.0)
    assert enhanced(2.5) == {"product:V Hot:enhanced": "high"}
    assert enhanced(2.0) == {}  # strictly above the cap
    assert enhanced(2.5, raised) == {}
    assert enhanced(3.5, raised) == {"product:V Hot:enhanced": "high"}
    doses = DoseSummary(doses_in_window=1, product_seven_oh=(ProductSevenOh("V Hot", 2.5),))
    (published,) = risky_product_rule(snapshot(doses=doses), CFG)
    assert published.program_settings == () and any("legislature.ky.gov" in s for s in published.sources)
    assert "2.5% of total alkaloids, above the 2% cap" in published.reason
    (changed,) = risky_product_rule(snapshot(doses=doses), RuleConfig(seven_oh_cap_percent=1.0))
    assert changed.program_settings == ("seven_oh_cap_percent",)


def test_enhanced_product_counts_in_the_benzodiazepine_combination_only_above_the_programs_cap() -> None:
    meds = screening(interaction("alprazolam", "benzodiazepines_z_drugs", "moderate"))
    snap = snapshot(
        medications=meds, doses=DoseSummary(doses_in_window=3, product_seven_oh=(ProductSevenOh("V", 2.5),))
    )
    combination = "interaction:combination:opioid_benzodiazepine"
    assert combination in keys(interaction_rule(snap, CFG))
    assert combination not in keys(interaction_rule(snap, RuleConfig(seven_oh_cap_percent=3.0)))


# ----------------------------------------------------------------------------------------- withdrawal


@pytest.mark.parametrize(("total", "expected"), [(12, None), (13, "moderate"), (24, "moderate"), (25, "high")])
def test_cows_bands(total: int, expected: str | None) -> None:
    found = keys(withdrawal_rule(snapshot(assessments=(assessment("cows", total),)), CFG))
    assert found.get("withdrawal:cows") == expected


def test_sows_rise_fires_at_configured_points_not_below() -> None:
    cfg = RuleConfig(sows_rise_points=10)
    at = snapshot(assessments=(assessment("sows", 25, previous_total=15),))
    below = snapshot(assessments=(assessment("sows", 24, previous_total=15),))
    no_previous = snapshot(assessments=(assessment("sows", 60),))
    (finding,) = withdrawal_rule(at, cfg)
    assert finding.subject_key == "withdrawal:sows" and finding.program_settings == ("sows_rise_points",)
    assert withdrawal_rule(below, cfg) == []
    assert withdrawal_rule(no_previous, cfg) == []


# ---------------------------------------------------------------------------------------- suicidality


def test_item9_above_zero_is_urgent_whatever_the_total() -> None:
    (finding,) = suicidality_rule(snapshot(assessments=(phq9(1, total=1),)), CFG)
    assert finding.severity == "urgent" and finding.subject_key == "phq9:item9"
    assert "10.1176/appi.ps.201200587" in " ".join(finding.sources) and "PMID:11556941" in finding.sources


def test_item9_zero_does_not_fire_even_with_a_high_total() -> None:
    assert suicidality_rule(snapshot(assessments=(phq9(0, total=24),)), CFG) == []


def test_item9_blank_asks_the_question() -> None:
    (finding,) = suicidality_rule(snapshot(assessments=(phq9(None, total=None),)), CFG)
    assert finding.subject_key == "phq9:item9_unassessed" and finding.severity == "high"


def test_latest_phq9_is_used() -> None:
    old = dataclasses.replace(phq9(2), administered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    assert suicidality_rule(snapshot(assessments=(old, phq9(0))), CFG) == []


# --------------------------------------------------------------------------------------- mood


@pytest.mark.parametrize(
    ("instrument", "total", "fires"), [("phq9", 19, False), ("phq9", 20, True), ("gad7", 14, False), ("gad7", 15, True)]
)
def test_severe_depression_and_anxiety_thresholds(instrument: str, total: int, fires: bool) -> None:
    found = keys(mood_rule(snapshot(assessments=(assessment(instrument, total),)), CFG))
    assert (f"{instrument}:severe" in found) is fires


# ---------------------------------------------------------------------------------- adverse events


def ae(**kw: object) -> AdverseEvent:
    values: dict[str, object] = {"id": "ae1", "term": "nausea", "onset": AS_OF}
    values.update(kw)
    return AdverseEvent(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (ae(grade=2), None),
        (ae(grade=3), "high"),
        (ae(grade=4), "urgent"),
        (ae(seriousness=("hospitalization",)), "urgent"),
        (ae(term="Generalised tonic-clonic seizure", grade=1), "high"),
        (ae(term="Convulsion"), "high"),
    ],
)
def test_serious_adverse_event(event: AdverseEvent, expected: str | None) -> None:
    found = serious_adverse_event_rule(snapshot(adverse_events=(event,)), CFG)
    assert keys(found).get("ae:ae1") == expected
    for finding in found:
        assert finding.sources  # ICH E2A or CTCAE


def test_grade_cites_ctcae_and_criterion_cites_e2a() -> None:
    (graded,) = serious_adverse_event_rule(snapshot(adverse_events=(ae(grade=3),)), CFG)
    (serious,) = serious_adverse_event_rule(snapshot(adverse_events=(ae(seriousness=("death",)),)), CFG)
    assert graded.sources == ("https://ctep.cancer.gov/protocoldevelopment/electronic_applications/ctc.htm",)
    assert serious.sources == ("https://database.ich.org/sites/default/files/E2A_Guideline.pdf",)


# --------------------------------------------------------------------------------------------- liver


def lab(value: float, uln: float = 40.0) -> LabValue:
    return LabValue(value=value, uln=uln, observed_on=AS_OF)


def test_hys_law_needs_both_strictly_above() -> None:
    both = snapshot(labs=Labs(alt=lab(121), bilirubin=lab(2.5, uln=1.2)))  # 3.025x and 2.08x
    alt_at = snapshot(labs=Labs(alt=lab(120), bilirubin=lab(2.5, uln=1.2)))  # exactly 3x
    bili_at = snapshot(labs=Labs(alt=lab(121), bilirubin=lab(2.4, uln=1.2)))  # exactly 2x
    assert keys(liver_rule(both, CFG)) == {"lab:hys_law": "urgent"}
    # Not Hy's law; bilirubin >= 2x ULN alone is still a finding (tests/core/rules/test_liver.py).
    assert keys(liver_rule(alt_at, CFG)) == {"lab:bilirubin": "high"}
    assert keys(liver_rule(bili_at, CFG)) == {"lab:bilirubin": "high"}


def test_alt_above_five_times_uln_is_high() -> None:
    assert liver_rule(snapshot(labs=Labs(alt=lab(200))), CFG) == []  # exactly 5x
    assert keys(liver_rule(snapshot(labs=Labs(alt=lab(201))), CFG)) == {"lab:alt": "high"}
    found = keys(liver_rule(snapshot(labs=Labs(alt=lab(201), bilirubin=lab(3, uln=1.2))), CFG))
    assert found == {"lab:hys_law": "urgent", "lab:alt": "high"}


def test_hys_law_reason_has_the_numbers_and_the_fda_source() -> None:
    (finding,) = liver_rule(snapshot(labs=Labs(alt=lab(130), bilirubin=lab(3, uln=1.2))), CFG)
    assert "ALT 130 = 3.25x ULN 40" in finding.reason
    assert finding.sources[0] == "https://www.fda.gov/media/116737/download"


# ------------------------------------------------------------------------------------------- cardiac


@pytest.mark.parametrize(
    ("qtc", "baseline", "fires"),
    [(500, None, False), (501, None, True), (470, 410, False), (471, 410, True), (480, None, False)],
)
def test_qtc_thresholds_are_strict(qtc: float, baseline: float | None, fires: bool) -> None:
    snap = snapshot(labs=Labs(qtc_ms=qtc, qtc_on=AS_OF, qtc_baseline_ms=baseline))
    found = cardiac_rule(snap, CFG)
    assert bool(found) is fires
    if fires:
        assert found[0].severity == "high"
        assert any("medsafe" in s for s in found[0].sources)


# -------------------------------------------------------------------------------------------- sodium


@pytest.mark.parametrize(
    ("sodium", "severity"),
    [(140, None), (135, None), (134.9, "moderate"), (125, "moderate"), (124.9, "high"), (110, "high")],
)
def test_sodium_thresholds_follow_the_case_report_definitions(sodium: float, severity: str | None) -> None:
    # Martin 2022 (PMID 36249618): hyponatremia < 135 mEq/L; severe < 125 mEq/L.
    found = sodium_rule(snapshot(labs=Labs(sodium_mmol_l=sodium, sodium_on=AS_OF)), CFG)
    assert keys(found) == ({} if severity is None else {"lab:sodium": severity})
    if found:
        assert found[0].sources == ("PMID:36249618", "doi:10.7759/cureus.29073")
        assert f"{sodium:g} mmol/L on {AS_OF.isoformat()}" in found[0].reason
        assert "caused" not in found[0].reason


def test_no_sodium_result_raises_nothing() -> None:
    assert sodium_rule(snapshot(labs=Labs()), CFG) == []


# ----------------------------------------------------------------------------------------- pregnancy


def test_pregnancy_requires_kratom_use() -> None:
    using = snapshot(pregnant=True, breastfeeding=True, doses=DoseSummary(doses_in_window=1))
    not_using = snapshot(pregnant=True, trend=trend(recent_mean_mg=0.0, recent_doses_per_day=0.0))
    found = pregnancy_rule(using, CFG)
    assert keys(found) == {"pregnancy:pregnant": "high", "pregnancy:breastfeeding": "high"}
    assert all("PMID:30404789" in f.sources for f in found)
    assert pregnancy_rule(not_using, CFG) == []


# ---------------------------------------------------------------------------------------------- legal


def status(value: str, *, sources: tuple[str, ...] = ("https://example.gov/statute",)) -> LegalStatusResult:
    record = StatusRecord(status=value, effective_from=dt.date(2016, 5, 10), sources=sources, as_of=AS_OF)  # type: ignore[arg-type]
    return LegalStatusResult("US-AL", "Alabama", AS_OF, value, "US-AL", record)  # type: ignore[arg-type]


def test_kratom_banned_where_the_patient_lives() -> None:
    snap = snapshot(jurisdiction="US-AL", legal_status=status("banned"), doses=DoseSummary(doses_in_window=1))
    (finding,) = legal_rule(snap, CFG)
    assert finding.severity == "moderate" and finding.subject_key == "legal:kratom:US-AL"
    assert finding.sources == ("https://example.gov/statute",) and finding.evidence_as_of == AS_OF


def test_legal_status_legal_or_regulated_is_silent_and_unknown_is_info() -> None:
    use = DoseSummary(doses_in_window=1)
    assert legal_rule(snapshot(legal_status=status("regulated"), doses=use), CFG) == []
    assert legal_rule(snapshot(legal_status=status("legal"), doses=use), CFG) == []
    (unknown,) = legal_rule(snapshot(legal_status=status("unknown", sources=()), doses=use), CFG)
    assert unknown.severity == "info" and unknown.program_settings == ("legal_status_unconfirmed_policy",)


def test_product_over_cap_is_moderate_and_unknown_is_info() -> None:
    over = ProductLegal(
        "Tabs", ProductEvaluation("over_cap", "7-OH 5% exceeds the 2% cap", "US-OK", ("u",), 2.0), AS_OF
    )
    unknown = ProductLegal("Leaf", ProductEvaluation("unknown", "legal status is unknown", "US-XX", ()))
    allowed = ProductLegal("Tea", ProductEvaluation("allowed", "ok", "US-OK", ("u",)), AS_OF)
    found = keys(legal_rule(snapshot(product_legal=(over, unknown, allowed), doses=DoseSummary(1)), CFG))
    assert found == {"legal:product:Tabs": "moderate", "legal:product:Leaf": "info"}


# ----------------------------------------------------------------------------------------- dependence


@pytest.mark.parametrize(("count", "expected"), [(3, None), (4, "moderate"), (5, "moderate"), (6, "high")])
def test_dependence_counts(count: int, expected: str | None) -> None:
    found = keys(dependence_rule(snapshot(assessments=(assessment("dsm5_sud", count),)), CFG))
    assert found.get("dsm5:kratom_use_disorder") == expected


# ----------------------------------------------------------------------------------------- no benefit


def pain(days: int, baseline: float, latest: float) -> PainTrajectory:
    start = AS_OF - dt.timedelta(days=days)
    return PainTrajectory("pain_nrs", start, baseline, AS_OF, latest)


def test_no_benefit_fires_at_eight_weeks_not_before() -> None:
    found = no_benefit_rule(snapshot(pain=pain(56, 8.0, 7.0)), CFG)
    assert keys(found) == {"pain:pain_nrs": "moderate"}
    assert found[0].sources[0] == "PMID:18055266"
    assert found[0].program_settings == ("no_benefit_weeks",)
    assert no_benefit_rule(snapshot(pain=pain(55, 8.0, 7.0)), CFG) == []


def test_no_benefit_is_silent_at_thirty_percent_improvement() -> None:
    assert no_benefit_rule(snapshot(pain=pain(70, 10.0, 7.0)), CFG) == []  # exactly 30%
    assert keys(no_benefit_rule(snapshot(pain=pain(70, 10.0, 7.01)), CFG)) == {"pain:pain_nrs": "moderate"}


def test_no_benefit_reason_says_worsened_or_improved_in_words() -> None:
    worse = no_benefit_rule(snapshot(pain=pain(70, 6.0, 7.0)), CFG)[0].reason
    assert "worsened by 16.7%" in worse and "-16" not in worse and "% improvement," not in worse
    better = no_benefit_rule(snapshot(pain=pain(70, 8.0, 7.0)), CFG)[0].reason
    assert "improved by 12.5%, below the 30% improvement looked for" in better
    same = no_benefit_rule(snapshot(pain=pain(70, 6.0, 6.0)), CFG)[0].reason
    assert "no change" in same


def test_no_benefit_with_zero_baseline_is_silent() -> None:
    assert no_benefit_rule(snapshot(pain=pain(70, 0.0, 3.0)), CFG) == []


# ------------------------------------------------------------------------------------ missed follow-up


@pytest.mark.parametrize(("days", "expected"), [(3, None), (4, "info"), (13, "info"), (14, "moderate")])
def test_missed_followup_grace_and_moderate(days: int, expected: str | None) -> None:
    snap = snapshot(overdue=(OverdueSchedule("phq9", days),))
    assert keys(missed_followup_rule(snap, CFG)).get("schedule:phq9") == expected
