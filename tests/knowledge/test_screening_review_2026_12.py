"""Curated screening after the December 2026 clinical review (issue 10 items 1, 7, 8; review E1, E8, E9, E14, O1-O5)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.core.rules import PatientSnapshot, RuleConfig, evaluate
from kratomwatch.core.screening import ScreeningKnowledge, ScreeningResult, normalize_medication, screen_interactions
from kratomwatch.core.screening.types import OPIOID_RESCUE_CLASS, POSITIVE_CLASSES
from kratomwatch.knowledge import loader
from tests.core.rules.factories import AS_OF


@pytest.fixture(scope="module")
def kb() -> ScreeningKnowledge:
    return loader.screening_knowledge()


def _interaction_alerts(result: ScreeningResult) -> list[str]:
    snap = PatientSnapshot(patient_code="P-001", as_of=AS_OF, jurisdiction="US-OK", medications=result)
    return [f.subject_key for f in evaluate(snap, RuleConfig()) if f.rule_id == "interaction"]


# ------------------------------------------------------------------------------------------ E1 naloxone

RESCUE = [
    "Narcan",
    "Narcan nasal spray",
    "Narcan 4 mg nasal spray",
    "Kloxxado",
    "Zimhi",
    "RiVive",
    "Opvee",
    "naloxone",
    "nalmefene",
    "Zurnai",
]


@pytest.mark.parametrize("name", RESCUE)
def test_rescue_medications_are_positives_not_interactions(kb: ScreeningKnowledge, name: str) -> None:
    result = screen_interactions([name], kb)
    assert result.findings == (), name
    assert result.highest_severity is None
    assert [p.class_id for p in result.positives] == [OPIOID_RESCUE_CLASS]
    assert result.has_opioid_rescue and set(result.opioid_rescue_ids) <= {"naloxone", "nalmefene"}
    assert _interaction_alerts(result) == []


def test_rescue_class_is_a_positive_class_with_sources(kb: ScreeningKnowledge) -> None:
    assert OPIOID_RESCUE_CLASS in POSITIVE_CLASSES
    rule = kb.interactions[OPIOID_RESCUE_CLASS]
    assert rule.sources and rule.as_of
    assert "not an adverse interaction" in rule.summary.lower()
    members = {i.id for i in loader.ingredients() if OPIOID_RESCUE_CLASS in i.class_ids}
    assert members == {"naloxone", "nalmefene"}


@pytest.mark.parametrize("name", ["naltrexone", "Vivitrol", "Revia", "Contrave"])
def test_naltrexone_stays_major(kb: ScreeningKnowledge, name: str) -> None:
    result = screen_interactions([name], kb)
    assert ("naltrexone", "opioid_antagonists", "major") in {
        (f.ingredient_id, f.class_id, f.severity) for f in result.findings
    }
    assert not result.has_opioid_rescue


@pytest.mark.parametrize("name", ["Suboxone", "Zubsolv", "buprenorphine/naloxone"])
def test_buprenorphine_naloxone_keeps_its_buprenorphine_findings_and_is_not_rescue(
    kb: ScreeningKnowledge, name: str
) -> None:
    result = screen_interactions([name], kb)
    assert {f.class_id for f in result.findings} == {"moud"}
    assert result.positives == () and not result.has_opioid_rescue


def test_rescue_on_a_mixed_list_is_visible_to_rules(kb: ScreeningKnowledge) -> None:
    result = screen_interactions(["oxycodone 10 mg", "Xanax", "Narcan nasal spray"], kb)
    assert result.opioid_rescue_ids == ("naloxone",)
    assert "naloxone" not in {f.ingredient_id for f in result.findings}
    assert "interaction:naloxone" not in _interaction_alerts(result)


def test_cli_check_narcan_raises_no_interaction() -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["check", "Narcan", "--json"])
    assert out.exit_code == 0
    payload = json.loads(out.output)
    assert payload["findings"] == [] and payload["highest_severity"] is None and payload["unresolved"] == []
    text = runner.invoke(app, ["check", "Narcan"])
    assert text.exit_code == 0 and "MAJOR" not in text.output


# --------------------------------------------------------------------------------- E14 fuzzy matching

WRONG_DRUG = [
    ("kava", "clonidine"),
    ("clarithromycin", "azithromycin"),
    ("methylene blue", "methylphenidate"),
    ("carfentanil", "alfentanil"),
]


@pytest.mark.parametrize(("entered", "wrong"), WRONG_DRUG)
def test_a_close_name_never_becomes_another_drug(kb: ScreeningKnowledge, entered: str, wrong: str) -> None:
    result = screen_interactions([entered], kb)
    assert wrong not in {f.ingredient_id for f in result.findings}
    assert all(f.match_status == "matched" for f in result.findings)
    assert not any(wrong in m.ingredient_ids and m.status == "matched" for m in result.matches)


def test_fuzzy_suggestion_is_a_confirmation_request_without_findings(kb: ScreeningKnowledge) -> None:
    for typo in ("xanex", "alprazolm", "percoset", "suboxon", "adderal", "methylene blue", "carfentanil"):
        result = screen_interactions([typo], kb)
        match = result.matches[0]
        if match.status == "suggested":
            assert result.findings == () and result.to_confirm == (match,) and match.class_ids == ()
            assert _interaction_alerts(result) == []


def test_exact_brand_and_synonym_matches_still_screen(kb: ScreeningKnowledge) -> None:
    for name, ingredient in [
        ("Xanax 0.5 mg", "alprazolam"),
        ("Percocet 5/325", "oxycodone"),
        ("kava", "kava"),
        ("clarithromycin 500 mg", "clarithromycin"),
        ("Paxlovid", "ritonavir"),
    ]:
        result = screen_interactions([name], kb)
        assert ingredient in {f.ingredient_id for f in result.findings}, name


# ------------------------------------------------------------------------------ O1-O5 new substances

NEW = [
    ("tianeptine", "tianeptine", {"full_opioid_agonists", "seizure_threshold_lowering"}),
    ("Neptune's Fix", "tianeptine", {"full_opioid_agonists"}),
    ("phenibut", "phenibut", {"other_cns_depressants"}),
    ("kava kava", "kava", {"other_cns_depressants"}),
    ("xylazine", "xylazine", {"alpha2_agonists", "other_cns_depressants"}),
    ("tranq", "xylazine", {"alpha2_agonists"}),
    ("isotonitazene", "nitazenes", {"full_opioid_agonists"}),
    ("nitazene", "nitazenes", {"full_opioid_agonists"}),
    ("GHB", "sodium_oxybate", {"other_cns_depressants"}),
    ("Xyrem", "sodium_oxybate", {"other_cns_depressants"}),
    ("ketamine", "ketamine", {"other_cns_depressants"}),
    ("Spravato", "esketamine", {"other_cns_depressants"}),
    ("butorphanol", "butorphanol", {"mixed_agonist_antagonists"}),
    ("Nubain", "nalbuphine", {"mixed_agonist_antagonists"}),
    ("pentazocine", "pentazocine", {"mixed_agonist_antagonists"}),
    ("Lomotil", "diphenoxylate", {"other_cns_depressants"}),
    ("Belsomra", "suvorexant", {"other_cns_depressants"}),
    ("Qelbree", "viloxazine", {"stimulants"}),
    ("Strattera", "atomoxetine", {"stimulants", "cyp2d6_substrates"}),
    ("Auvelity", "bupropion", {"seizure_threshold_lowering"}),
    ("Wellbutrin XL 150 mg", "bupropion", {"seizure_threshold_lowering"}),
    ("Qsymia", "phentermine", {"stimulants"}),
    ("Fioricet", "butalbital", {"other_cns_depressants"}),
    ("mitragynine pseudoindoxyl", "mitragynine_pseudoindoxyl", {"seven_oh_and_adulterants"}),
    ("MGM-15", "mgm_15", {"seven_oh_and_adulterants"}),
    ("MGM-16", "mgm_16", {"seven_oh_and_adulterants"}),
    ("cychlorphine", "cychlorphine", {"full_opioid_agonists"}),
    ("clarithromycin", "clarithromycin", {"cyp3a_inhibitors_kratom_metabolism"}),
    ("ketoconazole", "ketoconazole", {"cyp3a_inhibitors_kratom_metabolism"}),
    ("itraconazole", "itraconazole", {"cyp3a_inhibitors_kratom_metabolism"}),
    ("Norvir", "ritonavir", {"cyp3a_inhibitors_kratom_metabolism"}),
    ("Paxlovid", "ritonavir", {"cyp3a_inhibitors_kratom_metabolism"}),
    ("rifampin", "rifampicin", {"cyp3a_inducers_kratom_metabolism"}),
    ("Tegretol", "carbamazepine", {"cyp3a_inducers_kratom_metabolism"}),
    ("St John's wort", "st_johns_wort", {"cyp3a_inducers_kratom_metabolism"}),
    ("clonidine", "clonidine", {"alpha2_agonists"}),
    ("Kapvay", "clonidine", {"alpha2_agonists"}),
    ("Intuniv", "guanfacine", {"alpha2_agonists"}),
    ("Lucemyra", "lofexidine", {"alpha2_agonists", "antipsychotics_qt"}),
    ("tramadol", "tramadol", {"seizure_threshold_lowering", "full_opioid_agonists"}),
]


@pytest.mark.parametrize(("entered", "ingredient", "classes"), NEW)
def test_new_substances_and_classes_are_screened(
    kb: ScreeningKnowledge, entered: str, ingredient: str, classes: set[str]
) -> None:
    result = screen_interactions([entered], kb)
    assert result.unresolved == (), entered
    found = {f.class_id for f in result.findings if f.ingredient_id == ingredient}
    assert classes <= found, (entered, found)


@pytest.mark.parametrize(
    "name", ["kratom", "Kratom leaf", "mitragynine", "cannabis", "THC", "delta-8 THC", "CBD", "Epidiolex"]
)
def test_recognised_without_a_confirmed_interaction(kb: ScreeningKnowledge, name: str) -> None:
    match = normalize_medication(name, kb.index)
    assert match.status == "matched", name
    assert screen_interactions([name], kb).findings == ()


def test_metabolism_classes_are_labelled_with_their_evidence() -> None:
    classes = {c.id: c for c in loader.interaction_classes()}
    inducers = classes["cyp3a_inducers_kratom_metabolism"]
    assert inducers.evidence_level == "theoretical" and "theoretical" in inducers.summary.lower()
    inhibitors = classes["cyp3a_inhibitors_kratom_metabolism"]
    assert inhibitors.evidence_level == "animal" and "doi:10.1111/bph.15832" in inhibitors.sources
    assert "unknown" in inhibitors.summary.lower()


# ------------------------------------------------------------------------------- E8, E9 evidence levels


def test_evidence_levels_after_review() -> None:
    classes = {c.id: c for c in loader.interaction_classes()}
    assert classes["seven_oh_and_adulterants"].evidence_level == "case_reports_surveillance"
    assert classes["alcohol"].evidence_level == "case_reports_surveillance"
    assert any("clintox" in s for s in classes["alcohol"].sources)
    assert classes["opioid_antagonists"].severity == "major"
    assert "naloxone" not in classes["opioid_antagonists"].name.lower()


def test_every_new_record_is_sourced_and_dated() -> None:
    for record in (*loader.interaction_classes(), *loader.ingredients(), *loader.combination_products()):
        assert record.sources and record.as_of, getattr(record, "id", record)
