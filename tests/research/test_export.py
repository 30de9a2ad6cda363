"""The research export (``research/export.py``, ``kratomwatch research export``): consent-filtered, de-identified,
k-anonymous, written completely or not at all, reproducible, and free of every identifier of the fixtures."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.utils import timezone
from typer.testing import CliRunner

from kratomwatch.core import deid

pytestmark = pytest.mark.django_db

SECRET = "a-test-research-secret-0123456789"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
FREE_TEXT = [
    "Zebrafinch rash after breakfast",  # adverse-event term
    "Quokka goal: walk to the harbour",  # care-plan goals
    "Narwhal note about the family",  # care-plan notes
    "Ocelot dose note 2x daily",  # medication dose text
    "Wombat tonic",  # a medication name matching no curated ingredient
    "Test Patient",  # the typed consent name
    "Pain clinic",  # program name
]
runner = CliRunner()


class Cohort:
    patients: dict[str, Any]
    withdrawn: Any
    unique: Any
    never: Any
    identifiers: list[str]


@pytest.fixture
def cohort(world: Any, system: Any) -> Cohort:
    from kratomwatch.assessments import actions as assessment_actions
    from kratomwatch.careplans import actions as plan_actions
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.consent.models import ConsentDocument
    from kratomwatch.records import actions, writes
    from tests.helpers import add_patient

    c = Cohort()
    now = timezone.now()
    doc = ConsentDocument.objects.get(program=world.program)
    with writes.batch():
        c.patients = {"P-001": world.patient}
        for n in range(2, 6):
            c.patients[f"P-00{n}"] = add_patient(world, f"P-00{n}", conditions=["chronic_pain"])
        c.withdrawn = add_patient(world, "P-006", conditions=["chronic_pain"])
        c.unique = add_patient(
            world, "P-007", birth_year=1931, sex="male", jurisdiction="GB", time_zone="Europe/London"
        )
        c.never = add_patient(world, "P-008", conditions=["chronic_pain"])
        for p in [*list(c.patients.values())[1:], c.withdrawn, c.unique]:
            consent_actions.sign(
                actor=system, patient=p, document=doc, scopes=["care", "research"], typed_name="Test Patient"
            )
        consent_actions.sign(actor=system, patient=c.never, document=doc, scopes=["care"], typed_name="Test Patient")
        consent_actions.withdraw(actor=system, patient=c.withdrawn, scope="research")
        for p in [*c.patients.values(), c.withdrawn, c.never]:
            for days, amount in ((3, 2.0), (2, 3.0), (1, 2.5)):
                dose = actions.DoseIn(p.code, world.leaf_cert_lot.pk, now - dt.timedelta(days=days), amount, "g")
                actions.record_dose(actor=system, patient=p, dose=dose, now=now)
            assessment_actions.record_assessment(
                actor=system,
                patient=p,
                instrument_id="peg",
                answers=[6, 5, 4],
                administered_at=now - dt.timedelta(days=2),
                source="self_report",
                now=now,
            )
            actions.record_medication(
                actor=system, patient=p, name="sertraline", dose_text="Ocelot dose note 2x daily", start=None
            )
            actions.record_medication(actor=system, patient=p, name="Wombat tonic")
            actions.record_lab(
                actor=system,
                patient=p,
                test="alt",
                value=31.0,
                unit="U/L",
                upper_limit_normal=40.0,
                taken_at=now - dt.timedelta(days=1),
                now=now,
            )
            actions.record_adverse_event(
                actor=system, patient=p, term="Zebrafinch rash after breakfast", onset=p.local_today(now), grade=1
            )
            plan_actions.save_care_plan(
                actor=system,
                patient=p,
                goals="Quokka goal: walk to the harbour",
                modalities=["cbt"],
                notes="Narwhal note about the family",
                taper=[(p.local_today(now), 20.0)],
            )
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.all()
    c.identifiers = sorted(
        {p.code for p in [*c.patients.values(), c.withdrawn, c.unique, c.never, world.foreign_patient]}
        | {u.username for u in users}
        | {u.email for u in users if u.email}
    )
    return c


def _run(world: Any, out: Path, **kwargs: Any) -> Any:
    from kratomwatch import access
    from kratomwatch.audit.log import Actor
    from kratomwatch.research import export

    options = {"project": "pain", "now": NOW, "k": 5} | kwargs
    request = export.ExportRequest(out=out, **options)
    patients = access.patients_for(access.operator("tester")).filter(program=world.program)
    return export.export(patients, request, actor=Actor.system("test"), secret=SECRET, program=world.program)


def _texts(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, and each Parquet file decoded to CSV too (its pages are compressed)."""
    out = {p.name: p.read_bytes() for p in folder.iterdir()}
    for p in folder.glob("*.parquet"):
        out[p.name + ".decoded"] = pl.read_parquet(p).write_csv().encode()
    return out


def _leaks(folder: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for each needle found as a whole token (a short login such as "pa" inside "pain" is not one),
    case-insensitive, in any file's bytes or a Parquet file's decoded cells."""

    def has(needle: str, data: bytes) -> bool:
        token = rb"(?<![A-Za-z0-9])" + re.escape(needle.encode()) + rb"(?![A-Za-z0-9])"
        return re.search(token, data, re.IGNORECASE) is not None

    found = []
    for name, data in _texts(folder).items():
        # Words of the Parquet format itself (its schema's root is named "root", like the staff login of the
        # fixtures): an empty file of the same schema has them too; the decoded cells are still scanned for them.
        form = pl.read_parquet(folder / name).clear().write_parquet if name.endswith(".parquet") else None
        reference = b""
        if form is not None:
            buffer = io.BytesIO()
            form(buffer)
            reference = buffer.getvalue()
        found += [(name, n) for n in needles if has(n, data) and not has(n, reference)]
    return found


def test_export_is_consent_filtered_deidentified_and_verifiable(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    from kratomwatch.records.validation import enrolment_date

    out = tmp_path / "export"
    result = _run(world, out)
    assert (result.included, result.excluded, result.withheld) == (5, 2, 1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["consent"] | {"as_of": None} == {
        "scope": "research",
        "as_of": None,
        "eligible": 8,
        "included": 5,
        "excluded_without_research_consent": 2,
        "withheld_small_cells": 1,
    }
    assert manifest["consent"]["as_of"] == NOW.isoformat()
    assert manifest["software"]["kratomwatch"] and "interactions.yaml" in manifest["knowledge"]
    # Every listed file verifies, and every file but the manifest is listed.
    files = manifest["files"]
    assert set(files) == {p.name for p in out.iterdir()} - {"manifest.json"}
    assert all(hashlib.sha256((out / name).read_bytes()).hexdigest() == digest for name, digest in files.items())
    assert not list(tmp_path.glob(".export.partial-*"))

    participants = pl.read_parquet(out / "participants.parquet")
    key = deid.project_key(SECRET, "pain")
    expected = {deid.study_id(key, p.pk) for p in cohort.patients.values()}
    assert set(participants["study_id"]) == expected
    assert pl.read_csv(out / "participants.csv")["study_id"].to_list() == participants["study_id"].to_list()
    # The withdrawn, the never-consented and the k-withheld participant are nowhere, not even by study ID.
    absent = [deid.study_id(key, p.pk) for p in (cohort.withdrawn, cohort.never, cohort.unique)]
    assert _leaks(out, absent) == []
    # The unique combination (male, 95, GB, no condition) was suppressed and withheld; every class left has k.
    report = pl.read_csv(out / "k_anonymity.csv")
    assert report.rows() == [("45-49", "female", "US-TX", "chronic_pain", 5)]
    assert manifest["deidentification"]["suppressed"] == 1

    # Dates move by one offset per participant: intervals within the participant are kept, dates are not.
    doses = pl.read_parquet(out / "doses.parquet")
    assert doses.height == 15 and doses["basis"].unique().to_list() == ["certificate"]
    assert doses["mitragynine_mg"].sort().to_list()[:3] == pytest.approx([30.0, 30.0, 30.0])
    for code, patient in cohort.patients.items():
        sid = deid.study_id(key, patient.pk)
        shift = dt.timedelta(days=deid.shift_days(key, patient.pk))
        real = sorted(d.local_date for d in patient.doses.all())
        mine = doses.filter(pl.col("study_id") == sid)["date"].to_list()
        assert mine == [d + shift for d in real], code
        enrolled = participants.filter(pl.col("study_id") == sid)["enrolment_date"].item()
        assert enrolled == enrolment_date(patient) + shift
        # The year of enrolment is not shifted (Safe Harbor permits years).
        year = participants.filter(pl.col("study_id") == sid)["enrolment_year"].item()
        assert year == enrolment_date(patient).year
    labs = pl.read_parquet(out / "labs.parquet")
    assert labs.height == 5 and set(labs.columns) >= {"study_id", "date", "test", "value"}
    meds = pl.read_parquet(out / "medications.parquet")
    matched = meds.filter(pl.col("match_status") == "matched")
    assert matched["ingredient_id"].unique().to_list() == ["sertraline"]
    assert "serotonergic" in matched["interaction_classes"][0]
    assert meds.filter(pl.col("match_status") == "unmatched")["ingredient_id"].null_count() == 5
    items = pl.read_parquet(out / "assessment_items.parquet")
    assert items.height == 15 and items["answer"].to_list()[:3] == [6, 5, 4]
    scores = pl.read_parquet(out / "assessment_scores.parquet")
    assert set(scores["instrument_id"]) == {"peg"} and scores.height >= 5
    assessments = pl.read_parquet(out / "assessments.parquet")
    assert assessments["instrument_version"].null_count() == 0 and assessments.height == 5
    assert pl.read_parquet(out / "taper_steps.parquet")["target_mg"].to_list() == [20.0] * 5
    events = pl.read_parquet(out / "adverse_events.parquet")
    # A term outside the curated CTCAE list leaves only as "not classified"; the term itself never leaves.
    assert events.columns[:4] == ["study_id", "onset", "grade", "system"] and "term" not in events.columns
    assert events["system"].to_list() == ["not classified"] * 5

    # No code, login, e-mail or free text from the fixtures in any byte of any file.
    leaks = _leaks(out, cohort.identifiers + FREE_TEXT)
    assert leaks == [], leaks
    dictionary = (out / "data_dictionary.csv").read_text()
    assert dictionary.startswith('Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices')
    assert "doses_mitragynine_mg,doses," in dictionary
    assert "enrolment_year,participants,,text,Enrolment year," in dictionary
    assert "adverse_events_system,adverse_events,,text,System," in dictionary


def test_the_leak_scan_finds_a_planted_code(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "export"
    _run(world, out, formats=("parquet",))
    assert _leaks(out, cohort.identifiers) == []
    planted = pl.read_parquet(out / "labs.parquet").with_columns(pl.lit("xx P-003 xx").alias("unit"))
    planted.write_parquet(out / "labs.parquet", compression="zstd", statistics=False)
    (out / "README.md").write_text("notes about p-005.")
    leaks = _leaks(out, cohort.identifiers)
    assert ("labs.parquet.decoded", "P-003") in leaks and ("README.md", "P-005") in leaks


def test_export_is_reproducible_and_projects_do_not_link(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    one, two, other, days = (tmp_path / n for n in ("one", "two", "other", "days"))
    _run(world, one)
    two.mkdir()  # an existing empty directory is fine
    _run(world, two)
    for path in one.iterdir():
        if path.name != "manifest.json":
            assert path.read_bytes() == (two / path.name).read_bytes(), path.name
    first, second = (json.loads((d / "manifest.json").read_text()) for d in (one, two))
    assert first.pop("created_at") and second.pop("created_at")
    assert first == second

    _run(world, other, project="another-study", formats=("csv",))
    assert not list(other.glob("*.parquet"))
    ids = set(pl.read_csv(one / "participants.csv")["study_id"])
    assert ids and not ids & set(pl.read_csv(other / "participants.csv")["study_id"])

    _run(world, days, dates="study-days", formats=("csv",))
    doses = pl.read_csv(days / "doses.csv")
    assert "date" not in doses.columns
    key = deid.project_key(SECRET, "pain")
    patient = world.patient
    from kratomwatch.records.validation import enrolment_date

    start = enrolment_date(patient)
    expected = sorted((d.local_date - start).days for d in patient.doses.all())
    mine = doses.filter(pl.col("study_id") == deid.study_id(key, patient.pk))["date_study_day"].to_list()
    assert mine == expected
    in_days = pl.read_csv(days / "participants.csv")
    assert "enrolment_date" not in in_days.columns
    own = in_days.filter(pl.col("study_id") == deid.study_id(key, patient.pk))
    assert own["enrolment_year"].to_list() == [start.year]


def test_an_interrupted_export_leaves_nothing(world: Any, cohort: Cohort, tmp_path: Path, monkeypatch: Any) -> None:
    from kratomwatch.research import export

    def crash(tmp: Path, *args: Any) -> dict[str, str]:
        (tmp / "participants.csv").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "_write_all", crash)
    with pytest.raises(KeyboardInterrupt):
        _run(world, tmp_path / "export")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_and_bad_input(world: Any, cohort: Cohort, tmp_path: Path, monkeypatch: Any) -> None:
    from kratomwatch.audit.models import AuditEvent
    from kratomwatch.cli import app

    monkeypatch.setenv("KRATOMWATCH_RESEARCH_SECRET", SECRET)
    out = tmp_path / "cli"
    result = runner.invoke(app, ["research", "export", "--out", str(out), "--program", "pain", "--k", "5"])
    assert result.exit_code == 0, result.output
    assert "exported 5 participants (2 without active research consent left out, 1 withheld" in result.output
    assert (out / "manifest.json").exists() and (out / "doses.csv").exists() and (out / "doses.parquet").exists()
    event = AuditEvent.objects.filter(action="research.export").get()
    assert event.actor_label.startswith("cli:") and event.program_id == world.program.pk
    assert event.detail["included"] == 5 and event.detail["counts"]["doses"] == 15
    detail = json.dumps(event.detail)
    assert not [n for n in cohort.identifiers if re.search(rf"\b{re.escape(n)}\b", detail)], detail
    assert event.patient_code == ""

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    bad = [
        (["--program", "nope"], "program='nope'"),
        (["--format", "csv,xml"], "format='xml'"),
        (["--k", "1"], "k=1"),
        (["--dates", "weekly"], "dates='weekly'"),
        (["--out", str(tmp_path / "full")], "out="),
    ]
    for extra, needle in bad:
        args = ["research", "export", "--out", str(tmp_path / "new"), *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (extra, result.output)
        # One message (Rich wraps it at the test terminal's 80 columns), naming the option and its value.
        assert result.output.startswith("error: ") and result.output.count("error:") == 1, result.output
        assert needle in result.output.replace("\n", ""), result.output
    assert not (tmp_path / "new").exists()
    monkeypatch.delenv("KRATOMWATCH_RESEARCH_SECRET")
    result = runner.invoke(app, ["research", "export", "--out", str(tmp_path / "new")])
    assert result.exit_code == 2 and "KRATOMWATCH_RESEARCH_SECRET" in result.output
    assert AuditEvent.objects.filter(action="research.export").count() == 1


def test_a_program_with_no_releasable_participant_exports_empty_tables(world: Any, tmp_path: Path) -> None:
    from kratomwatch import access
    from kratomwatch.audit.log import Actor
    from kratomwatch.research import export

    out = tmp_path / "other"
    request = export.ExportRequest(out=out, project="other", now=NOW, formats=("csv",))
    patients = access.patients_for(access.operator("tester")).filter(program=world.other_program)
    result = export.export(patients, request, actor=Actor.system("test"), secret=SECRET, program=world.other_program)
    # One research-consented patient: a class of one, so withheld; every table is there, with its header only.
    assert (result.included, result.excluded, result.withheld) == (0, 0, 1)
    assert set(result.counts.values()) == {0}
    assert (out / "doses.csv").read_text().startswith("study_id,date,local_minute,")
    assert "0 participant(s) suppressed" not in (out / "README.md").read_text()


def test_csv_cells_that_look_like_formulas_are_quoted_and_the_program_secret_wins(world: Any) -> None:
    from kratomwatch.core.errors import InputError
    from kratomwatch.research import export

    frame = pl.DataFrame({"a": ["=1+1", "-x", "ok", None], "n": [-1, 2, 3, 4]})
    assert export.csv_safe(frame).rows() == [("'=1+1", -1), ("'-x", 2), ("ok", 3), (None, 4)]
    env = {"KRATOMWATCH_RESEARCH_SECRET": "site", "KRATOMWATCH_RESEARCH_SECRET_PAIN": "program"}
    assert export.project_secret(world.program, env) == "program"
    assert export.project_secret(world.other_program, env) == "site"
    with pytest.raises(InputError) as caught:
        export.project_secret(None, {})
    assert caught.value.field == "research_secret"


def test_the_development_research_secret_stands_in_only_when_none_is_set(
    world: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kratomwatch.core.errors import InputError
    from kratomwatch.research import export

    monkeypatch.delenv("KRATOMWATCH_RESEARCH_SECRET", raising=False)
    settings.RESEARCH_DEV_SECRET = None  # production, and the test suite's default
    with pytest.raises(InputError):
        export.project_secret(world.program)
    settings.RESEARCH_DEV_SECRET = "generated-for-development-only"
    assert export.project_secret(world.program) == "generated-for-development-only"
    monkeypatch.setenv("KRATOMWATCH_RESEARCH_SECRET", "the-real-one-0123456")
    assert export.project_secret(world.program) == "the-real-one-0123456"  # a set secret always wins


def test_adverse_events_leave_with_their_system_organ_class(world: Any, system: Any, tmp_path: Path) -> None:
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.consent.models import ConsentDocument
    from kratomwatch.records import actions, writes
    from tests.helpers import add_patient

    doc = ConsentDocument.objects.get(program=world.program)
    terms = ["  Hepatitis CHOLESTATIC ", "Seizure", "Tachycardia", "Opiate withdrawal"]
    with writes.batch():
        people = [add_patient(world, f"P-1{n:02d}") for n in range(5)]
        for p in people:
            consent_actions.sign(
                actor=system, patient=p, document=doc, scopes=["care", "research"], typed_name="Test Patient"
            )
        for term in terms:
            actions.record_adverse_event(
                actor=system, patient=people[0], term=term, onset=people[0].local_today(), grade=2
            )
    out = tmp_path / "export"
    _run(world, out, k=2, formats=("csv",))
    events = pl.read_csv(out / "adverse_events.csv")
    assert sorted(events["system"].to_list()) == [
        "Cardiac disorders",
        "Hepatobiliary disorders",
        "Nervous system disorders",
        "not classified",
    ]
    # "Seizure" is left out of the scan: the history column seizure_disorder is not a leak.
    assert _leaks(out, ["Hepatitis CHOLESTATIC", "Tachycardia", "Opiate withdrawal"]) == []


def test_large_tables_written_batch_by_batch_are_the_same_tables(
    world: Any, cohort: Cohort, tmp_path: Path, monkeypatch: Any
) -> None:
    """Doses and daily exposure are read and written a few participants at a time (PostgreSQL: one COPY, split by
    batch); with FHIR asked for too they are whole frames. Both give the same CSV bytes and the same Parquet rows."""
    from kratomwatch.research import export

    whole, batched = tmp_path / "whole", tmp_path / "batched"
    _run(world, whole, formats=("csv", "parquet", "fhir"))
    monkeypatch.setattr(export, "BATCH_PARTICIPANTS", 2)  # 5 participants: 3 batches
    _run(world, batched, formats=("csv", "parquet"))
    for name in ("doses", "daily_exposure"):
        assert (whole / f"{name}.csv").read_bytes() == (batched / f"{name}.csv").read_bytes(), name
        expected = pl.read_parquet(whole / f"{name}.parquet")
        assert expected.height > 0 and expected.equals(pl.read_parquet(batched / f"{name}.parquet")), name
    assert not [p for p in batched.rglob("*") if p.name.startswith(".")]  # no part or scratch file left
    manifest = json.loads((batched / "manifest.json").read_text())
    assert manifest["counts"]["doses"] == 15 and manifest["counts"]["daily_exposure"] > 0
