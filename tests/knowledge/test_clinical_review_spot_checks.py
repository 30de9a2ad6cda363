"""The spot checks of the clinical review of 2026-12 (section 4), re-walked one by one against the curated knowledge.

Each row of the review's tables 4.1 (evidence grades), 4.2 (39 interaction entries), 4.3 (jurisdictions) and 4.5 (alert
thresholds) is a case here; docs/knowledge.md ("Clinical review of 2026-12: every finding and where it stands") says
what each row found and whether it was fixed or answered. Section 4.4 (instruments) is covered by
tests/core/instruments/test_scoring_golden.py and test_change.py, which hold the review's edge cases.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.core.rules import RuleConfig, catalogue, liver
from kratomwatch.core.screening import ScreeningKnowledge, evaluate_product, screen_interactions
from kratomwatch.core.screening.legal import record_in_force
from kratomwatch.knowledge import loader

DAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def kb() -> ScreeningKnowledge:
    return loader.screening_knowledge()


# ------------------------------------------------------------------------------------------- 4.1 evidence grades

GRADES = {
    "chronic_pain": "very_low",
    "neuropathic_pain": "no_human_evidence",
    "adhd": "no_human_evidence",
    "opioid_withdrawal_oud": "very_low",
    "mood_anxiety": "very_low",
    "focus_cognition": "very_low",
    "lower_addiction_risk_than_opioids": "very_low",
    "respiratory_depression_ceiling": "no_human_evidence",
}


@pytest.mark.parametrize(("claim", "grade"), GRADES.items())
def test_review_evidence_grades_are_unchanged(claim: str, grade: str) -> None:
    claims = {c.id: c for c in loader.evidence_claims()}
    assert claims[claim].certainty == grade


# ---------------------------------------------------------------------------------------- 4.2 interactions (39 rows)

OPIOID = ("full_opioid_agonists", "major")
CYP3A = ("cyp3a_substrates", "moderate")
CYP2D6 = ("cyp2d6_substrates", "minor")
BENZO = ("benzodiazepines_z_drugs", "major")
QT = ("antipsychotics_qt", "major")
MOUD = ("moud", "moderate")
SERO = ("serotonergic_antidepressants", "moderate")
STIM = ("stimulants", "moderate")
ANTIHIST = ("sedating_antihistamines", "moderate")
CNS = ("other_cns_depressants", "major")
GABA = ("gabapentinoids", "major")
ANTAGONIST = ("opioid_antagonists", "major")
SEVEN_OH = ("seven_oh_and_adulterants", "major")
ALPHA2 = ("alpha2_agonists", "moderate")
SEIZURE = ("seizure_threshold_lowering", "moderate")
CYP3A_INHIB = ("cyp3a_inhibitors_kratom_metabolism", "moderate")
CYP3A_INDUC = ("cyp3a_inducers_kratom_metabolism", "minor")

# Review 4.2 input -> the (class, severity) findings expected now. Rows the review judged correct keep the class it
# saw; rows it found wrong or missing (E1, E14, O1-O5) carry the fix.
INTERACTIONS: dict[str, set[tuple[str, str]]] = {
    "Morphine": {OPIOID},
    "MS Contin": {OPIOID},
    "Percocet 5/325": {OPIOID, CYP3A},
    "OxyContin": {OPIOID, CYP3A},
    "oxycodone 10mg": {OPIOID, CYP3A},
    "Norco 10-325 mg": {OPIOID, CYP3A},  # hydrocodone: label boxed warning "CYP450 3A4 interaction" (2026-12-02)
    "hydrocodone/apap": {OPIOID, CYP3A},
    "Tylenol #3": {OPIOID, CYP2D6},
    "Tylenol 3": {OPIOID, CYP2D6},
    "Tylenol with Codeine": {OPIOID, CYP2D6},
    "Tramadol": {OPIOID, SERO, CYP2D6, SEIZURE},
    "Ultram": {OPIOID, SERO, CYP2D6, SEIZURE},
    "Tapentadol": {OPIOID},
    "Nucynta": {OPIOID},
    "Dilaudid": {OPIOID},
    "Demerol": {OPIOID},
    "Methadone 80 mg daily": {OPIOID, QT, MOUD},
    "Suboxone": {MOUD},
    "Zubsolv": {MOUD},
    "Sublocade": {MOUD},
    "Brixadi": {MOUD},
    "Belbuca": {MOUD},
    "Butrans": {MOUD},
    "Vivitrol": {ANTAGONIST},
    "naltrexone": {ANTAGONIST},
    "Narcan": set(),  # E1: a positive, never an interaction
    "naloxone": set(),
    "Opvee": set(),
    "Xanax": {BENZO, CYP3A},
    "Klonopin": {BENZO},
    "Valium": {BENZO},
    "Ativan": {BENZO},
    "Restoril": {BENZO},
    "Lunesta": {BENZO},
    "Ambien": {BENZO},
    "Midazolam": {BENZO, CYP3A},
    "Alcohol": {("alcohol", "major")},
    "Neurontin": {GABA},
    "Lyrica 75 mg bid": {GABA},
    "Soma": {CNS},
    "Flexeril": {CNS},
    "Seroquel": {QT, CYP3A},
    "Dextromethorphan": {CYP2D6},
    "Metoprolol": {CYP2D6},
    "Strattera": {STIM, CYP2D6},  # O5
    "Adderall": {STIM},
    "adderall XR": {STIM},
    "Vyvanse 30mg": {STIM},
    "Concerta 36 mg": {STIM},
    "Modafinil": {STIM, CYP3A_INDUC},  # O2
    "Caffeine": {STIM},
    "Nardil": {SERO},
    "Parnate": {SERO},
    "Emsam": {SERO},
    "Zoloft": {SERO},
    "Cymbalta": {SERO, CYP2D6},
    "Lexapro": {SERO},
    "Effexor": {SERO, CYP2D6},
    "Remeron": {SERO},
    "trazodone": {SERO},
    "Benadryl": {ANTIHIST},
    "Unisom": {ANTIHIST},
    "hydroxyzine": {ANTIHIST},
    "Imodium": {QT},
    "Zofran": {QT},
    "azithromycin": {QT},
    "Lucemyra": {QT, ALPHA2},  # O3
    "7-OH": {SEVEN_OH},
    "O-DSMT": {OPIOID, SEVEN_OH},
    "krypton": {OPIOID, SEVEN_OH},
    # O3, O4: were "no interaction class matched"
    "Wellbutrin": {SEIZURE},
    "Intuniv": {ALPHA2},
    "Kapvay": {ALPHA2},
    "clonidine": {ALPHA2},
    # O1, O2: were unmatched
    "tianeptine": {OPIOID, SEIZURE},
    "phenibut": {CNS},
    "xylazine": {CNS, ALPHA2},
    "nitazene": {OPIOID},
    "ketoconazole": {CYP3A_INHIB},
    "ritonavir": {CYP3A_INHIB},
    "Paxlovid": {CYP3A_INHIB},
    "rifampin": {CYP3A_INDUC},
    "St John's wort": {CYP3A_INDUC},
    "Fioricet": {CNS, STIM},
    "Qelbree": {STIM},
    "Belsomra": {CNS},
    "Lomotil": {CNS},
    # E14: were wrong-drug suggestions
    "kava": {CNS},
    "clarithromycin": {CYP3A_INHIB},
    "carfentanil": {OPIOID},
}


@pytest.mark.parametrize(("entered", "expected"), INTERACTIONS.items())
def test_review_interaction_rows(kb: ScreeningKnowledge, entered: str, expected: set[tuple[str, str]]) -> None:
    result = screen_interactions([entered], kb)
    assert {(f.class_id, f.severity) for f in result.findings} == expected, entered
    assert all(f.sources and f.as_of for f in result.findings)
    assert result.unresolved == () or all(m.status == "suggested" for m in result.unresolved)


@pytest.mark.parametrize("entered", ["Narcan", "Narcan nasal spray", "naloxone", "Opvee"])
def test_review_rescue_rows_are_positives(kb: ScreeningKnowledge, entered: str) -> None:
    result = screen_interactions([entered], kb)
    assert result.findings == () and result.has_opioid_rescue


@pytest.mark.parametrize("entered", ["xanex", "alprazolm", "klonipin", "seroquil", "adderal", "percoset", "suboxon"])
def test_review_misspellings_ask_for_confirmation(kb: ScreeningKnowledge, entered: str) -> None:
    result = screen_interactions([entered], kb)
    assert result.findings == () and len(result.to_confirm) == 1


def test_methylene_blue_is_never_screened_as_methylphenidate(kb: ScreeningKnowledge) -> None:
    result = screen_interactions(["methylene blue"], kb)
    assert result.findings == ()
    assert all(m.status != "matched" for m in result.matches)


# -------------------------------------------------------------------------------------- 4.3 jurisdictions

# code -> (status on 2026-12-01, effective_from of the record in force, age limit)
JURISDICTIONS: dict[str, tuple[str, dt.date | None, int | None]] = {
    "US-AL": ("banned", dt.date(2016, 5, 10), None),
    "US-AR": ("banned", dt.date(2016, 2, 1), None),
    "US-IN": ("banned", None, None),
    "US-RI": ("regulated", dt.date(2026, 4, 1), 21),
    "US-VT": ("banned", None, None),
    "US-WI": ("banned", None, None),
    "US-TN": ("regulated", None, 21),
    "US-GA": ("regulated", dt.date(2025, 1, 1), 21),
    "US-AZ": ("regulated", None, 18),
    "US-NV": ("regulated", None, 18),
    "US-OK": ("regulated", dt.date(2024, 11, 1), 18),
    "US-UT": ("regulated", dt.date(2026, 5, 6), None),
    "US-FL": ("regulated", dt.date(2025, 12, 8), 21),
    "US-LA": ("banned", dt.date(2025, 8, 1), None),
    "US-CA": ("banned", dt.date(2025, 10, 24), None),
    "US-CT": ("banned", dt.date(2026, 2, 24), None),
    "US-OH": ("unknown", dt.date(2026, 6, 10), None),
    "US": ("legal", dt.date(2026, 7, 1), None),
    "TH": ("regulated", dt.date(2022, 8, 27), 18),
    "MY": ("banned", None, None),
    "AU": ("banned", None, None),
    "GB": ("banned", dt.date(2016, 5, 26), None),
    "DK": ("banned", None, None),
    "SE": ("banned", dt.date(2025, 3, 11), None),
}

# Dates the review or the curation could not confirm stay flagged, never presented as confirmed.
UNCONFIRMED_DATES = {"US-OK", "US-UT"}


@pytest.mark.parametrize(("code", "expected"), JURISDICTIONS.items())
def test_review_jurisdiction_rows(
    kb: ScreeningKnowledge, code: str, expected: tuple[str, dt.date | None, int | None]
) -> None:
    record = record_in_force(kb.jurisdictions[code], DAY)
    assert record is not None
    assert (record.status, record.effective_from, record.age_limit) == expected
    assert record.sources and record.as_of
    if code in UNCONFIRMED_DATES:
        assert record.effective_from_confirmed is False


def test_rhode_island_was_banned_before_april_2026(kb: ScreeningKnowledge) -> None:
    record = record_in_force(kb.jurisdictions["US-RI"], dt.date(2026, 3, 31))
    assert record is not None and record.status == "banned"


def test_thailand_history_banned_then_legal_then_regulated(kb: ScreeningKnowledge) -> None:
    entry = kb.jurisdictions["TH"]
    statuses = [
        record.status
        for day in (dt.date(2021, 1, 1), dt.date(2021, 12, 1), dt.date(2022, 9, 1))
        if (record := record_in_force(entry, day)) is not None
    ]
    assert statuses == ["banned", "legal", "regulated"]


def test_georgia_per_gram_limit_is_machine_checked(kb: ScreeningKnowledge) -> None:
    assert evaluate_product("US-GA", DAY, kb, seven_oh_share_percent=None, seven_oh_mg_per_g=0.6).verdict == "over_cap"


# ------------------------------------------------------------------------------------------- 4.5 thresholds


def test_review_alert_thresholds() -> None:
    """Review 4.5: every threshold it checked, as the rules hold it now."""
    assert (liver.HYS_ALT_TIMES_ULN, liver.HYS_BILIRUBIN_TIMES_ULN) == (3.0, 2.0)  # FDA 2009
    assert liver.AMINOTRANSFERASE_GRADE3_TIMES_ULN == 5.0  # CTCAE v5 grade 3
    assert (catalogue.QTC_MAX_MS, catalogue.QTC_RISE_MS) == (500.0, 60.0)  # CTCAE grade 3, Medsafe
    assert (catalogue.COWS_MODERATE.low, catalogue.COWS_MODERATELY_SEVERE.low) == (13, 25)
    assert catalogue.PHQ9_SEVERE.low == 20 and catalogue.GAD7_SEVERE.low == 15
    assert (catalogue.DSM5_MODERATE.low, catalogue.DSM5_SEVERE.low) == (4, 6)
    config = RuleConfig()
    assert (config.no_benefit_weeks, config.no_benefit_percent) == (8, 30.0)
    assert (
        "pain_nrs" in catalogue.PAIN_INTENSITY_INSTRUMENTS and "peg" not in catalogue.PAIN_INTENSITY_INSTRUMENTS
    )  # E6: IMMPACT only for intensity ratings
    assert config.seven_oh_cap_percent == 2.0  # E13: cites KY and SD, no longer Oklahoma
    assert catalogue.SODIUM_LOW_MMOL_L == 135.0  # O10, Martin 2022


# ------------------------------------------------------------------ unknown jurisdictions searched on 2026-12-02


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("US-MO", "vetoed by the Governor on 1 Jul 2022"),
        ("US-ND", "Legislative Management study"),
        ("US-NH", "searched again and not found"),
    ],
)
def test_searched_states_stay_unknown_and_say_what_was_found(kb: ScreeningKnowledge, code: str, says: str) -> None:
    record = record_in_force(kb.jurisdictions[code], DAY)
    assert record is not None and record.status == "unknown"
    assert says in (record.note or "") and record.as_of == dt.date(2026, 12, 2)


def test_oklahoma_one_percent_date_stays_flagged(kb: ScreeningKnowledge) -> None:
    record = record_in_force(kb.jurisdictions["US-OK"], DAY)
    assert record is not None and record.seven_oh_cap_percent == 1.0
    assert record.effective_from_confirmed is False and "2026-12-02" in (record.note or "")
