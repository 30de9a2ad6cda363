"""End-to-end checks of the pure screening functions on the curated knowledge."""

from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.core.screening import (
    HistoryFlags,
    ScreeningKnowledge,
    UnknownJurisdiction,
    contraindications,
    evaluate_product,
    legal_status,
    normalize_medication,
    product_safety,
    screen_interactions,
)
from kratomwatch.knowledge.loader import screening_knowledge

D = dt.date.fromisoformat


@pytest.fixture(scope="module")
def kb() -> ScreeningKnowledge:
    return screening_knowledge()


BRANDS = {
    "Xanax 0.5 mg tab": ("alprazolam",),
    "Klonopin": ("clonazepam",),
    "Valium 5mg": ("diazepam",),
    "Ativan": ("lorazepam",),
    "Ambien CR": ("zolpidem",),
    "Suboxone 8/2 film": ("buprenorphine", "naloxone"),
    "Subutex": ("buprenorphine",),
    "Sublocade": ("buprenorphine",),
    "Zubsolv": ("buprenorphine", "naloxone"),
    "Methadose": ("methadone",),
    "OxyContin 20 mg ER": ("oxycodone",),
    "Percocet 5/325": ("oxycodone", "paracetamol"),
    "Vicodin": ("hydrocodone", "paracetamol"),
    "Norco": ("hydrocodone", "paracetamol"),
    "Dilaudid": ("hydromorphone",),
    "Duragesic 25 mcg/h patch": ("fentanyl",),
    "Ultram": ("tramadol",),
    "Adderall XR 20mg": ("amfetamine",),
    "Vyvanse": ("lisdexamfetamine",),
    "Ritalin": ("methylphenidate",),
    "Concerta 36 mg": ("methylphenidate",),
    "Strattera": ("atomoxetine",),
    "Neurontin 300mg": ("gabapentin",),
    "Lyrica": ("pregabalin",),
    "Seroquel": ("quetiapine",),
    "Zyprexa": ("olanzapine",),
    "Haldol": ("haloperidol",),
    "Celexa": ("citalopram",),
    "Lexapro 10 mg": ("escitalopram",),
    "Zoloft": ("sertraline",),
    "Prozac": ("fluoxetine",),
    "Paxil": ("paroxetine",),
    "Effexor XR": ("venlafaxine",),
    "Cymbalta": ("duloxetine",),
    "Remeron": ("mirtazapine",),
    "Wellbutrin SR": ("bupropion",),
    "Benadryl": ("diphenhydramine",),
    "Phenergan": ("promethazine",),
    "Unisom": ("doxylamine",),
    "Vivitrol": ("naltrexone",),
    "Revia": ("naltrexone",),
    "Narcan": ("naloxone",),
    "Lipitor": ("atorvastatin",),
    "Zocor": ("simvastatin",),
    "Prograf": ("tacrolimus",),
    "Neoral": ("ciclosporin",),
    "Versed": ("midazolam",),
    "Tylenol #3": ("codeine", "paracetamol"),
    "Robitussin DM": ("dextromethorphan", "guaifenesin"),
    "Lopressor": ("metoprolol",),
    "Elavil": ("amitriptyline",),
    "Pamelor": ("nortriptyline",),
    "acetaminophen": ("paracetamol",),
    "7-OH tablets": ("hydroxymitragynine",),
}


@pytest.mark.parametrize(("text", "ids"), sorted(BRANDS.items()))
def test_brand_names_normalize(kb: ScreeningKnowledge, text: str, ids: tuple[str, ...]) -> None:
    match = normalize_medication(text, kb.index)
    assert (match.status, match.ingredient_ids) == ("matched", ids)


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("alprazolan", "alprazolam"),
        ("Zolofft 50mg", "sertraline"),
        ("seroquell", "quetiapine"),
        ("Klonopine", "clonazepam"),
        ("Lopresor", "metoprolol"),
        ("gabapentine", "gabapentin"),
        ("buprenorphin", "buprenorphine"),
    ],
)
def test_misspellings_are_suggested(kb: ScreeningKnowledge, typo: str, expected: str) -> None:
    match = normalize_medication(typo, kb.index)
    assert match.status == "suggested"
    assert match.suggestions[0].ingredient_ids == (expected,)


def test_screening_a_typical_list(kb: ScreeningKnowledge) -> None:
    result = screen_interactions(["Xanax 1mg", "Suboxone 8/2", "Lipitor 20", "Tylenol", "blorptex"], kb)
    pairs = {(f.ingredient_id, f.class_id) for f in result.findings}
    assert ("alprazolam", "benzodiazepines_z_drugs") in pairs
    assert ("buprenorphine", "moud") in pairs
    assert ("atorvastatin", "cyp3a_substrates") in pairs
    assert not any(f.ingredient_id == "naloxone" for f in result.findings)
    assert result.findings[0].severity == "major"
    assert [m.entered for m in result.unresolved] == ["blorptex"]
    assert all(f.sources for f in result.findings)


def test_naltrexone_flags_precipitated_withdrawal(kb: ScreeningKnowledge) -> None:
    result = screen_interactions(["Vivitrol"], kb)
    assert [f.class_id for f in result.findings] == ["opioid_antagonists"]
    assert result.findings[0].severity == "major"


@pytest.mark.parametrize(
    ("code", "day_before", "day_of", "before", "after"),
    [
        ("US-AL", "2016-05-09", "2016-05-10", "legal", "banned"),
        ("US-LA", "2025-07-31", "2025-08-01", "regulated", "banned"),
        ("US-RI", "2026-03-31", "2026-04-01", "banned", "regulated"),
        ("US-CO", "2024-06-30", "2024-07-01", "legal", "regulated"),
        ("TH", "2021-08-23", "2021-08-24", "banned", "legal"),
        ("TH", "2022-08-26", "2022-08-27", "legal", "regulated"),
        ("US-UT", "2019-05-13", "2019-05-14", "legal", "regulated"),
    ],
)
def test_effective_date_boundaries(
    kb: ScreeningKnowledge, code: str, day_before: str, day_of: str, before: str, after: str
) -> None:
    assert legal_status(code, D(day_before), kb).status == before
    assert legal_status(code, D(day_of), kb).status == after


def test_rhode_island_age_and_colorado_age(kb: ScreeningKnowledge) -> None:
    ri = legal_status("US-RI", D("2026-04-01"), kb)
    assert ri.record is not None and ri.record.age_limit == 21
    co = legal_status("US-CO", D("2025-01-01"), kb)
    assert co.record is not None and co.record.age_limit == 21


def test_florida_7oh_products(kb: ScreeningKnowledge) -> None:
    before = evaluate_product("US-FL", D("2025-08-12"), kb, seven_oh_share_percent=None, is_seven_oh_product=True)
    on = evaluate_product("US-FL", D("2025-08-13"), kb, seven_oh_share_percent=None, is_seven_oh_product=True)
    assert before.verdict == "allowed"
    assert on.verdict == "banned" and on.sources


def test_oklahoma_cap(kb: ScreeningKnowledge) -> None:
    over = evaluate_product("US-OK", D("2023-01-01"), kb, seven_oh_share_percent=2.5)
    assert over.verdict == "over_cap" and over.cap_percent == 2.0
    ok = evaluate_product("US-OK", D("2023-01-01"), kb, seven_oh_share_percent=1.5)
    assert ok.verdict == "allowed"


def test_unknown_jurisdiction(kb: ScreeningKnowledge) -> None:
    with pytest.raises(UnknownJurisdiction, match="'US-ZZ'"):
        legal_status("US-ZZ", D("2025-01-01"), kb)


def test_unconfirmed_state_is_unknown(kb: ScreeningKnowledge) -> None:
    assert legal_status("US-KS", D("2025-01-01"), kb).status == "unknown"


def test_product_and_history_findings_are_sourced(kb: ScreeningKnowledge) -> None:
    assert kb.product_rules is not None
    findings = product_safety("seven_oh_product", False, 30.0, 2.0, rules=kb.product_rules)
    assert [f.code for f in findings] == ["unknown_potency_extract", "seven_oh_above_cap", "seven_oh_product"]
    assert all(f.sources for f in findings)
    history = contraindications(
        HistoryFlags(
            liver_disease=True,
            seizure_disorder=True,
            cardiac_qt=True,
            respiratory_disease=True,
            pregnant=True,
            breastfeeding=True,
        ),
        kb.contraindications,
    )
    assert len(history) == 6 and all(f.sources for f in history)
