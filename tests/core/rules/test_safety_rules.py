"""History flags, combination rules beyond opioid + benzodiazepine, naloxone on file, and the PEG no-benefit basis.

Pure: snapshots are built by hand (factories), no knowledge files, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kratomwatch.core.rules import (
    RULES,
    DoseSummary,
    Finding,
    PainTrajectory,
    RuleConfig,
    history_rule,
    interaction_rule,
    naloxone_rule,
    no_benefit_rule,
)
from kratomwatch.core.rules import sources as src
from kratomwatch.core.rules.catalogue import naloxone_on_file
from kratomwatch.core.screening.types import ContraindicationRule, MedicationMatch, ScreeningResult
from tests.core.rules.factories import AS_OF, interaction, screening, snapshot

CFG = RuleConfig()
USING = DoseSummary(doses_in_window=3, forms_used=("leaf_powder",))
SEVEN_OH = DoseSummary(doses_in_window=2, forms_used=("seven_oh_product",))


def keys(findings: list[Finding]) -> dict[str, str]:
    return {f.subject_key: f.severity for f in findings}


def record(flag: str, severity: str = "major") -> ContraindicationRule:
    return ContraindicationRule(
        flag=flag,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        evidence_level="case_reports_surveillance",
        summary=f"{flag} summary.",
        management=f"{flag} management.",
        sources=(f"https://example.org/{flag}",),
        as_of=dt.date(2026, 11, 20),
    )


# ------------------------------------------------------------------------------------------ history


@pytest.mark.parametrize("flag", ["liver_disease", "seizure_disorder", "cardiac_qt", "respiratory_disease"])
def test_each_history_flag_raises_a_sourced_finding_for_a_kratom_user(flag: str) -> None:
    snap = snapshot(history=(flag,), contraindications=(record(flag),), doses=USING)
    [finding] = history_rule(snap, CFG)
    assert (finding.rule_id, finding.subject_key, finding.severity) == ("history", f"history:{flag}", "high")
    assert finding.sources == (f"https://example.org/{flag}",) and finding.evidence_as_of == dt.date(2026, 11, 20)
    assert f"{flag} summary." in finding.reason and f"{flag} management." in finding.reason
    assert finding.basis == "published"


def test_history_severity_follows_the_curated_record() -> None:
    snap = snapshot(history=("liver_disease",), contraindications=(record("liver_disease", "moderate"),), doses=USING)
    assert keys(history_rule(snap, CFG)) == {"history:liver_disease": "moderate"}


def test_history_is_silent_without_kratom_use_in_the_window() -> None:
    snap = snapshot(history=("seizure_disorder",), contraindications=(record("seizure_disorder"),))
    assert history_rule(snap, CFG) == []


def test_pregnancy_and_breastfeeding_stay_with_the_pregnancy_rule() -> None:
    snap = snapshot(contraindications=(record("pregnant"), record("breastfeeding")), doses=USING)
    assert history_rule(snap, CFG) == []


def test_a_flag_without_a_curated_record_is_still_flagged_as_a_program_setting() -> None:
    [finding] = history_rule(snapshot(history=("cardiac_qt",), doses=USING), CFG)
    assert finding.subject_key == "history:cardiac_qt" and finding.severity == "moderate"
    assert not finding.sources and finding.program_settings == ("history_flag_without_record",)


def test_several_flags_give_one_finding_each_in_the_fixed_order() -> None:
    flags = ("respiratory_disease", "liver_disease")
    snap = snapshot(history=flags, contraindications=tuple(record(f) for f in flags), doses=USING)
    assert [f.subject_key for f in history_rule(snap, CFG)] == ["history:liver_disease", "history:respiratory_disease"]


# ------------------------------------------------------------------------------------- combinations

OXY = interaction("oxycodone", "full_opioid_agonists", "major")
METHADONE = interaction("methadone", "moud", "moderate")
GABA = interaction("gabapentin", "gabapentinoids", "major", sources=(src.OPIOID_GABAPENTINOID[0],))
ALCOHOL = interaction("ethanol", "alcohol", "major", name="alcohol")
XANAX = interaction("alprazolam", "benzodiazepines_z_drugs", "major")
CYCLO = interaction("cyclobenzaprine", "other_cns_depressants", "major")


def combos(snap: object) -> dict[str, str]:
    return {k: v for k, v in keys(interaction_rule(snap, CFG)).items() if ":combination:" in k}  # type: ignore[arg-type]


def test_opioid_with_a_gabapentinoid_is_high_and_cites_the_fda_2019_communication() -> None:
    found = interaction_rule(snapshot(medications=screening(OXY, GABA), doses=USING), CFG)
    [combo] = [f for f in found if f.subject_key == "interaction:combination:opioid_gabapentinoid"]
    assert combo.severity == "high" and combo.sources[0] == src.OPIOID_GABAPENTINOID[0]
    assert "Gabapentin" in combo.reason and "Oxycodone" in combo.reason


def test_seven_oh_with_a_gabapentinoid_counts_as_opioid_exposure() -> None:
    assert combos(snapshot(medications=screening(GABA), doses=SEVEN_OH)) == {
        "interaction:combination:opioid_gabapentinoid": "high"
    }


def test_a_gabapentinoid_alone_or_with_kratom_leaf_only_raises_no_combination() -> None:
    assert combos(snapshot(medications=screening(GABA), doses=USING)) == {}


def test_opioid_with_alcohol_is_high_and_cites_the_fda_2016_communication() -> None:
    found = interaction_rule(snapshot(medications=screening(METHADONE, ALCOHOL), doses=USING), CFG)
    [combo] = [f for f in found if f.subject_key == "interaction:combination:opioid_alcohol"]
    assert combo.severity == "high" and set(src.OPIOID_CNS_DEPRESSANTS) <= set(combo.sources)


def test_three_cns_depressants_at_once_is_high_with_the_count_as_a_program_setting() -> None:
    found = interaction_rule(snapshot(medications=screening(XANAX, GABA, CYCLO), doses=USING), CFG)
    [combo] = [f for f in found if f.subject_key == "interaction:combination:cns_depressants"]
    assert combo.severity == "high" and combo.program_settings == ("cns_depressant_count",)
    assert combo.basis == "published + program setting" and combo.title.startswith("3 ")


def test_two_cns_depressants_are_below_the_count_but_seven_oh_makes_a_third() -> None:
    assert "interaction:combination:cns_depressants" not in combos(
        snapshot(medications=screening(XANAX, GABA), doses=USING)
    )
    assert "interaction:combination:cns_depressants" in combos(
        snapshot(medications=screening(XANAX, GABA), doses=SEVEN_OH)
    )


def test_an_approximate_match_never_counts_toward_a_combination() -> None:
    fuzzy_gaba = interaction("gabapentin", "gabapentinoids", "major", name="gabapentn", match_status="suggested")
    assert combos(snapshot(medications=screening(OXY, fuzzy_gaba), doses=USING)) == {}


# ------------------------------------------------------------------------------------------ naloxone

NARCAN_FINDING = interaction("naloxone", "opioid_antagonists", "major", name="Narcan")
NARCAN_MATCH = MedicationMatch(entered="Narcan", status="matched", ingredient_ids=("naloxone",), confidence=1.0)
OPVEE_MATCH = MedicationMatch(entered="Opvee", status="matched", ingredient_ids=("nalmefene",), confidence=1.0)
SUBOXONE_MATCH = MedicationMatch(
    entered="Suboxone", status="matched", ingredient_ids=("buprenorphine", "naloxone"), confidence=1.0
)


def with_matches(result: ScreeningResult, *matches: MedicationMatch) -> ScreeningResult:
    return dataclasses.replace(result, matches=(*result.matches, *matches))


@pytest.mark.parametrize(
    ("meds", "doses"),
    [(screening(OXY), USING), (screening(XANAX), USING), (None, SEVEN_OH), (screening(METHADONE), USING)],
)
def test_no_naloxone_on_file_with_an_opioid_7oh_or_benzodiazepine_is_moderate(
    meds: ScreeningResult | None, doses: DoseSummary
) -> None:
    [finding] = naloxone_rule(snapshot(medications=meds, doses=doses), CFG)
    assert (finding.rule_id, finding.subject_key, finding.severity) == ("naloxone", "naloxone:not_on_file", "moderate")
    assert finding.sources == src.NALOXONE_ACCESS and finding.evidence_as_of == src.CHECKED_2026_12_01


def test_naloxone_on_file_as_a_screened_ingredient_silences_the_finding() -> None:
    assert naloxone_rule(snapshot(medications=screening(OXY, NARCAN_FINDING), doses=USING), CFG) == []


def test_naloxone_or_nalmefene_on_file_as_a_match_without_an_interaction_class_silences_the_finding() -> None:
    for match in (NARCAN_MATCH, OPVEE_MATCH):
        meds = with_matches(screening(OXY), match)
        assert naloxone_rule(snapshot(medications=meds, doses=USING), CFG) == []
        assert naloxone_on_file(meds) == (match.entered,)


def test_a_rescue_class_on_file_silences_the_finding() -> None:
    rescue = interaction("naloxone", "opioid_rescue", "minor", name="Kloxxado")
    assert naloxone_rule(snapshot(medications=screening(OXY, rescue), doses=USING), CFG) == []


def test_the_naloxone_in_buprenorphine_naloxone_is_not_rescue_naloxone() -> None:
    bup = interaction("buprenorphine", "moud", "moderate", name="Suboxone")
    meds = with_matches(screening(bup), SUBOXONE_MATCH)
    assert naloxone_on_file(meds) == ()
    assert keys(naloxone_rule(snapshot(medications=meds, doses=USING), CFG)) == {"naloxone:not_on_file": "moderate"}


def test_an_approximate_naloxone_match_does_not_count_as_on_file() -> None:
    fuzzy = interaction("naloxone", "opioid_antagonists", "major", name="Narcann", match_status="suggested")
    assert naloxone_on_file(screening(OXY, fuzzy)) == ()
    assert len(naloxone_rule(snapshot(medications=screening(OXY, fuzzy), doses=USING), CFG)) == 1


def test_no_naloxone_finding_without_kratom_use_or_without_an_opioid_acting_partner() -> None:
    assert naloxone_rule(snapshot(medications=screening(OXY)), CFG) == []
    assert naloxone_rule(snapshot(medications=screening(GABA), doses=USING), CFG) == []
    assert naloxone_rule(snapshot(doses=USING), CFG) == []


# ---------------------------------------------------------------------------------------- no benefit


def pain(instrument_id: str, days: int, base: float, latest: float) -> PainTrajectory:
    return PainTrajectory(instrument_id, AS_OF - dt.timedelta(days=days), base, AS_OF, latest)


def test_no_benefit_on_the_pain_nrs_cites_immpact() -> None:
    [finding] = no_benefit_rule(snapshot(pain=pain("pain_nrs", 56, 8.0, 7.0)), CFG)
    assert finding.sources == src.IMMPACT and finding.program_settings == ("no_benefit_weeks",)


def test_no_benefit_on_the_peg_labels_the_30_percent_a_program_setting() -> None:
    [finding] = no_benefit_rule(snapshot(pain=pain("peg", 56, 8.0, 7.0)), CFG)
    assert finding.sources == () and finding.evidence_as_of is None
    assert finding.program_settings == ("no_benefit_weeks", "no_benefit_percent")
    assert finding.basis == "program setting" and "pain-intensity ratings" in finding.reason


def test_new_rules_are_in_the_table() -> None:
    ids = [rule_id for rule_id, _ in RULES]
    assert "history" in ids and "naloxone" in ids


def test_naloxone_reported_as_a_screening_positive_silences_the_finding() -> None:
    rescue = interaction("naloxone", "opioid_rescue", "minor", name="Narcan")
    meds = dataclasses.replace(screening(OXY), positives=(rescue,))
    assert naloxone_on_file(meds) == ("Narcan",)
    assert naloxone_rule(snapshot(medications=meds, doses=USING), CFG) == []
    match = MedicationMatch(
        entered="Zimhi", status="matched", ingredient_ids=("naloxone",), class_ids=("opioid_rescue",), confidence=1.0
    )
    assert naloxone_on_file(with_matches(screening(OXY), match)) == ("Zimhi",)
