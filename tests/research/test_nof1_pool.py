"""N-of-1 trials in the research export (``research/export_nof1.py``) and pooled across participants on the
analysis snapshot (``research/nof1_pool.py``): no identifier and no free text leaves; a participant without
research consent, and a trial the patient withdrew from, are absent; the pooled estimate is
``core.nof1_pool.pool`` of the per-trial posteriors; a group below k is withheld; another program's researcher
sees nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from django.test import Client

from tests.research.test_export import SECRET
from tests.research.test_export_jobs import People
from tests.research.test_export_jobs import people as _people  # noqa: F401 - its fixture, as "_people"
from tests.research.test_snapshot import _build, _home  # noqa: F401 - autouse: KRATOMWATCH_HOME and the secret

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
FREE_TEXT = [
    "Kestrel trial title",
    "Heron question about my pain",
    "Usual Osprey routine",
    "Half the Osprey routine",
    "Stop when the magpie sings",
    "Gannet reason",
    "Program choice for the test",
]
EFFECTS = [-2.0, -1.0, -1.5, -2.5, -0.5]


@pytest.fixture
def people(_people: People) -> People:  # noqa: F811
    return _people


def _design() -> Any:
    from kratomwatch.nof1 import actions
    from tests.nof1.conftest import trial_in

    return trial_in(
        title="Kestrel trial title",
        question="Heron question about my pain",
        conditions=[
            actions.ConditionIn("A", "Usual Osprey routine", "Usual Osprey routine", True, 30.0, None),
            actions.ConditionIn("B", "Half the Osprey routine", "Half the Osprey routine", False, 15.0, None),
        ],
        period_days=4,
        run_in_days=1,
        mcid_source="Program choice for the test",
        stopping_rules=["Stop when the magpie sings"],
        secondary_instruments=[],
        seed=7,
    )


def _trial(world: Any, system: Any, patient: Any, effect: float, *, running: bool = False) -> Any:
    """A completed trial of ``patient`` that ended yesterday (their zone), or one ``running`` for 8 days: a pain
    rating every day at noon, 5 under A and 5 + ``effect`` under B with a small wobble."""
    from kratomwatch.assessments import actions as assessment_actions
    from kratomwatch.nof1 import actions, queries
    from kratomwatch.records import writes

    trial = actions.create_trial(actor=system, patient=patient, user=world.alice, design=_design())
    trial = actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    trial = actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    total = 8 if running else queries.design_of(trial).total_days
    start = patient.local_today() - dt.timedelta(days=total)
    trial = actions.start_trial(actor=system, trial=trial, user=world.alice, start_date=start)
    codes = {p.start + dt.timedelta(days=i): p.condition.code for p in queries.periods_of(trial) for i in range(4)}
    tz = ZoneInfo(patient.time_zone)
    with writes.batch():
        for i in range(total):
            day = start + dt.timedelta(days=i)
            pain = 5 + (effect if codes.get(day) == "B" else 0.0) + (0.5 if i % 3 == 0 else -0.5 if i % 3 == 1 else 0)
            assessment_actions.record_assessment(
                actor=system,
                patient=patient,
                instrument_id="pain_nrs",
                answers=[round(pain)],
                administered_at=dt.datetime.combine(day, dt.time(12), tzinfo=tz),
                source="self_report",
            )
    return actions.complete_if_ended(actor=system, trial=trial, today=patient.local_today())


class Trials:
    patients: list[Any]
    no_research: Any
    withdrew: Any


@pytest.fixture
def trials(world: Any, system: Any) -> Trials:
    """Five research-consented participants with a completed trial of one design; a sixth with care consent only;
    a seventh who withdrew from their trial (stopped)."""
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.consent.models import ConsentDocument
    from kratomwatch.nof1 import actions
    from kratomwatch.records.models import Patient
    from tests.helpers import add_patient

    doc = ConsentDocument.objects.get(program=world.program)
    t = Trials()
    t.patients = [world.patient]
    for n in range(2, 8):
        p = add_patient(world, f"P-00{n}", conditions=["chronic_pain"])
        scopes = ["care"] if n == 6 else ["care", "research"]
        consent_actions.sign(actor=system, patient=p, document=doc, scopes=scopes, typed_name="Test Patient")
        if n < 6:
            t.patients.append(p)
    t.no_research = Patient.objects.get(code="P-006")
    t.withdrew = Patient.objects.get(code="P-007")
    for p, effect in zip(t.patients, EFFECTS, strict=True):
        _trial(world, system, p, effect)
    _trial(world, system, t.no_research, -3.0)
    running = _trial(world, system, t.withdrew, -3.0, running=True)
    assert running.status == "active"
    actions.withdraw(actor=system, trial=running, reason="Gannet reason")
    return t


def _export(world: Any, out: Path, **options: Any) -> Any:
    from kratomwatch import access
    from kratomwatch.audit.log import Actor
    from kratomwatch.research import export

    request = export.ExportRequest(out=out, **({"project": "pain", "now": NOW, "k": 2} | options))
    patients = access.patients_for(access.operator("tester")).filter(program=world.program)
    return export.export(patients, request, actor=Actor.system("test"), secret=SECRET, program=world.program)


def test_export_has_the_trials_and_days_without_identifiers_or_free_text(
    world: Any, trials: Trials, tmp_path: Path
) -> None:
    from kratomwatch.records.models import Patient

    _export(world, tmp_path / "out", formats=("csv", "parquet", "fhir"))
    out = tmp_path / "out"
    listed = pl.read_csv(out / "nof1_trials.csv")
    assert listed.columns == [
        "study_id", "trial_no", "design_key", "primary_instrument", "lower_is_better", "period_days",
        "washout_days", "run_in_days", "blocks", "conditions", "reference", "mcid", "status", "start", "end",
    ]  # fmt: skip
    assert listed.height == 5  # five research-consented participants; the withdrawn trial and P-006 absent
    assert set(listed["design_key"]) == {"pain_nrs/lower/p4/w1/b2/A|B/ref=A"}
    assert set(listed["status"]) == {"completed"} and set(listed["trial_no"]) == {1}
    days = pl.read_parquet(out / "nof1_days.parquet")
    assert days.columns == [
        "study_id", "trial_no", "date", "role", "condition", "block", "outcome", "mitragynine_mg", "seven_oh_mg",
    ]  # fmt: skip
    assert days.height == 5 * 17  # run-in 1 + 2 blocks x 2 periods x 4 days
    assert days.group_by("role").len().sort("role").rows() == [("analysed", 60), ("run-in", 5), ("washout", 20)]
    assert set(days["study_id"]) == set(listed["study_id"])
    participants = pl.read_csv(out / "participants.csv")
    assert set(listed["study_id"]) <= set(participants["study_id"])

    codes = [p.code for p in Patient.objects.all()]
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".parquet":
            text = pl.read_parquet(path).write_csv()
        for needle in [*FREE_TEXT, *codes, "Carol Patient", "alice"]:
            assert needle not in text, (path.name, needle)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["nof1_trials"] == 5 and manifest["counts"]["nof1_days"] == 85
    assert "nof1_trials" in manifest["fhir"]["not_included"]
    assert not any("nof1" in o["url"] for o in manifest["fhir"]["output"])
    dictionary = pl.read_csv(out / "data_dictionary.csv")
    notes = dict(zip(dictionary["Variable / Field Name"], dictionary["Field Note"], strict=True))
    assert notes["nof1_trials_status"] == "completed or stopped (early)"
    assert notes["nof1_days_outcome"].startswith("Mean of the day's valid primary scores")
    assert "nof1_days" in (out / "README.md").read_text()


def test_study_day_export_and_withdrawal_of_research_consent(world: Any, system: Any, trials: Trials) -> None:
    from kratomwatch.consent import actions as consent_actions

    before = _build(world, k=2)
    days = pl.read_parquet(before.path / "nof1_days.parquet")
    assert "date_study_day" in days.columns and "date" not in days.columns
    listed = pl.read_parquet(before.path / "nof1_trials.parquet")
    assert {"start_study_day", "end_study_day"} <= set(listed.columns)
    assert listed.height == 5
    consent_actions.withdraw(actor=system, patient=trials.patients[1], scope="research")
    after = _build(world, now=NOW + dt.timedelta(minutes=1), k=2)
    assert pl.read_parquet(after.path / "nof1_trials.parquet").height == 4


def test_pooled_estimate_is_the_hierarchical_model_on_the_per_trial_posteriors(world: Any, trials: Trials) -> None:
    from kratomwatch.core import nof1, nof1_pool
    from kratomwatch.research import nof1_pool as research_pool

    snap = _build(world, k=5)
    report = research_pool.pool_snapshot(snap).to_dict()
    (group,) = report["groups"]
    assert group["n_participants"] == 5 and not group["suppressed"]
    assert group["design"]["conditions"] == ["A", "B"] and group["design"]["reference"] == "A"
    (b,) = group["conditions"]
    assert b["condition"] == "B" and b["n_participants"] == 5

    days = pl.read_parquet(snap.path / "nof1_days.parquet")
    effects = []
    for study_id in sorted(set(days["study_id"])):
        rows = days.filter(pl.col("study_id") == study_id).filter(pl.col("role") != "run-in").sort("date_study_day")
        trial = nof1.Trial.of(
            (rows["date_study_day"] - rows["date_study_day"].min()).to_list(),
            rows["condition"].to_list(),
            rows["outcome"].fill_null(float("nan")).to_list(),
            block=rows["block"].to_list(),
            washout=(rows["role"] == "washout").to_list(),
            exposure_mg=rows["mitragynine_mg"].to_list(),
        )
        est, _ = nof1.bayes(trial, "A", lower_is_better=True, draws=20_000, seed=0)
        low, high = est["B"].interval_95
        effects.append(nof1_pool.PatientEffect.from_interval(study_id, est["B"].effect, low, high))
    expected = nof1_pool.pool(effects, lower_is_better=True, mcid=1.0).to_dict()
    assert b["mu"] == expected["mu"]
    assert b["tau"] == expected["tau"] and b["predictive"] == expected["predictive"]
    assert b["der_simonian_laird"] == expected["der_simonian_laird"]
    assert -2.5 < b["mu"]["mean"] < -0.5 and b["mu"]["prob_better"] > 0.9
    assert "shrunken" not in b  # no per-participant estimate is shown
    assert "dosing recommendation" in group["caveat"] and group["caveat"].startswith("These are 5 self-selected")


def test_a_group_below_k_is_withheld(world: Any, trials: Trials) -> None:
    from kratomwatch.research import nof1_pool as research_pool

    report = research_pool.pool_snapshot(_build(world, k=6)).to_dict()
    (group,) = report["groups"]
    assert group["suppressed"] and group["n_participants"] is None and group["conditions"] == []
    assert "fewer than k = 6" in group["reason"]


def test_api_for_the_programs_researcher_only(world: Any, people: People, trials: Trials) -> None:
    from kratomwatch.audit.models import AuditEvent

    def get(who: str, program: int) -> Any:
        url = f"/api/v1/research/programs/{program}/nof1-pooled"
        return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {people.tokens[who]}")

    missing = get("rita", world.program.pk)
    assert missing.status_code == 409 and missing.json()["error"]["field"] == "snapshot"
    _build(world, k=5)
    ok = get("rita", world.program.pk)
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["groups"][0]["conditions"][0]["n_participants"] == 5
    assert "P-00" not in ok.content.decode()
    assert AuditEvent.objects.filter(action="research.nof1.pool", program_id=world.program.pk).count() == 1
    other = get("rex", world.program.pk)
    assert other.status_code == 404 and other.json()["error"]["code"]
    assert get("alice", world.program.pk).status_code == 403


def test_cli_prints_the_pooled_table_or_json(world: Any, trials: Trials) -> None:
    from typer.testing import CliRunner

    from kratomwatch.cli import app

    runner = CliRunner()
    before = runner.invoke(app, ["research", "nof1-pool", "--program", "pain"])
    assert before.exit_code == 2 and "no analysis snapshot yet" in " ".join(before.output.split())
    assert runner.invoke(app, ["research", "snapshot", "--program", "pain", "--k", "5"]).exit_code == 0
    shown = runner.invoke(app, ["research", "nof1-pool", "--program", "pain"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "pain_nrs/lower/p4/w1/b2/A|B/ref=A" in text and "5 participants" in text
    assert "never recommends a kratom dose" in text and "P-00" not in text
    as_json = runner.invoke(app, ["research", "nof1-pool", "--program", "pain", "--json"])
    body = json.loads(as_json.output)
    assert body["groups"][0]["conditions"][0]["mu"]["interval_95"][0] < body["groups"][0]["conditions"][0]["mu"]["mean"]


def test_web_page_for_the_programs_researcher_only(world: Any, people: People, trials: Trials) -> None:
    from tests.research.test_export_jobs import login

    url = f"/research/programs/{world.program.pk}/nof1/"
    before = login(people.rita).get(url)
    assert before.status_code == 200 and 'id="no-snapshot"' in before.content.decode()
    home = login(people.rita).get("/research/").content.decode()
    assert f'href="{url}"' in home
    _build(world, k=5)
    page = login(people.rita).get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "5 participants" in text and "DerSimonian-Laird" in text and "never recommends a kratom dose" in text
    assert "P-00" not in text and "Kestrel" not in text
    assert login(people.rex).get(url).status_code == 404
    assert login(world.alice).get(url).status_code == 403


def test_the_demos_trials_pool_into_one_design(world: Any, system: Any) -> None:
    """``demo.nof1.create_trial`` (KW-001's trial and the research cohort's) for five research-consented patients
    gives completed trials of one design that the snapshot pools."""
    import numpy as np
    from django.utils import timezone

    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.consent.models import ConsentDocument
    from kratomwatch.demo import nof1 as demo_nof1
    from kratomwatch.research import nof1_pool as research_pool
    from tests.helpers import add_patient

    doc = ConsentDocument.objects.get(program=world.program)
    now = timezone.now()
    patients = [world.patient]
    for n in range(2, 6):
        p = add_patient(world, f"P-00{n}", conditions=["chronic_pain"])
        consent_actions.sign(actor=system, patient=p, document=doc, scopes=["care", "research"], typed_name="T P")
        patients.append(p)
    for n, p in enumerate(patients):
        trial = demo_nof1.create_trial(
            system, p, world.alice, now, np.random.default_rng(n), signed_name="T P", seed=100 + n, effect=-1.0
        )
        assert trial.status == "completed"
    report = research_pool.pool_snapshot(_build(world, k=5)).to_dict()
    (group,) = report["groups"]
    assert group["design_key"] == "pain_nrs/lower/p7/w2/b3/A|B/ref=A" and group["n_participants"] == 5
    (b,) = group["conditions"]
    assert b["mu"]["interval_95"][0] < -1.0 < b["mu"]["interval_95"][1]


def _frames(effects: list[float], *, mcid: float | None = 1.0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Snapshot-shaped frames (study days) of completed trials, one per effect: run-in 1 day, then blocks of A and B
    periods of 4 days (1 washout), outcome 5 under A and 5 + effect under B with a wobble."""
    trials, days = [], []
    for n, effect in enumerate(effects):
        study_id = f"S-{n:012d}"
        trials.append((study_id, 1, "k", "pain_nrs", 1, 4, 1, 1, 2, "A|B", "A", mcid, "completed", 0, 16))
        days.append((study_id, 1, 0, "run-in", None, None, 5.0, 0.0, 0.0))
        for position, code in enumerate("ABBA"):
            for i in range(4):
                day = 1 + 4 * position + i
                wobble = (0.4, -0.3, 0.1, -0.2)[(day + n) % 4]
                outcome = 5 + (effect if code == "B" else 0.0) + wobble
                role = "washout" if i == 0 else "analysed"
                days.append((study_id, 1, day, role, code, 1 + position // 2, outcome, 0.0, 0.0))
    trial_columns = [
        "study_id", "trial_no", "design_key", "primary_instrument", "lower_is_better", "period_days",
        "washout_days", "run_in_days", "blocks", "conditions", "reference", "mcid", "status", "start_study_day",
        "end_study_day",
    ]  # fmt: skip
    day_columns = [
        "study_id", "trial_no", "date_study_day", "role", "condition", "block", "outcome", "mitragynine_mg",
        "seven_oh_mg",
    ]  # fmt: skip
    return (
        pl.DataFrame(trials, schema=trial_columns, orient="row"),
        pl.DataFrame(days, schema=day_columns, orient="row"),
    )


def test_two_participants_at_k_2_use_a_half_normal_prior_scaled_by_the_mcid() -> None:
    from kratomwatch.research import nof1_pool as research_pool

    trials, days = _frames([-1.0, -2.0])
    report = research_pool.analyse(trials, days, k=2, data={}).to_dict()
    (b,) = report["groups"][0]["conditions"]
    assert b["n_participants"] == 2 and "half-normal(scale 1)" in b["prior"]
    json.dumps(report, allow_nan=False)
    no_mcid = research_pool.analyse(*_frames([-1.0, -2.0], mcid=None), k=2, data={}).to_dict()
    (b,) = no_mcid["groups"][0]["conditions"]
    assert "half-normal" in b["prior"] and "scale 1)" not in b["prior"] and b["mu"]["prob_better_by_mcid"] is None
    three = research_pool.analyse(*_frames([-1.0, -2.0, -1.5]), k=2, data={}).to_dict()
    assert "uniform" in three["groups"][0]["conditions"][0]["prior"]
