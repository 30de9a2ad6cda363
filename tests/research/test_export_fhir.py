"""The research export as FHIR R4 Bulk Data NDJSON (``--format fhir``, ``research/export_fhir.py``): every line of
every file validates with fhir.resources (R4B models, the same as R4 for these resources), carries no identifier of
the fixtures, counts match the CSV tables, a withdrawn participant is absent, and study days become dates from the
epoch the manifest states."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fhir.resources.R4B import get_fhir_model_class

from kratomwatch.core import deid
from kratomwatch.core.instruments.schema import is_valid_loinc
from tests.research import test_export, test_export_jobs
from tests.research.test_export import FREE_TEXT, SECRET, Cohort, _leaks, _run

cohort = test_export.cohort  # the same fixture: the cohort of test_export.py (consented, withdrawn, never, unique)
people = test_export_jobs.people  # the researchers of tests/research/test_export_jobs.py

pytestmark = pytest.mark.django_db

TYPES = ("Patient", "Observation", "QuestionnaireResponse", "MedicationStatement", "AdverseEvent")


def _resources(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Each NDJSON file's resources, every line validated by the fhir.resources model of its type."""
    found: dict[str, list[dict[str, Any]]] = {}
    for kind in TYPES:
        lines = (out / "fhir" / f"{kind}.ndjson").read_text(encoding="utf-8").splitlines()
        model = get_fhir_model_class(kind)
        found[kind] = []
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == kind
            model.model_validate(resource)
            found[kind].append(resource)
    return found


def test_fhir_ndjson_validates_matches_the_tables_and_leaks_nothing(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = _run(world, out, formats=("csv", "fhir"))
    assert result.included == 5
    resources = _resources(out)
    table = {name: pl.read_csv(out / f"{name}.csv") for name in result.counts}

    # Counts match the CSV tables the same export wrote.
    assert len(resources["Patient"]) == table["participants"].height == 5
    assert len(resources["QuestionnaireResponse"]) == table["assessments"].height == 5
    assert len(resources["Observation"]) == (
        table["doses"].height + table["labs"].height + table["assessment_scores"].height
    )
    assert len(resources["MedicationStatement"]) == table["doses"].height + table["medications"].height
    assert len(resources["AdverseEvent"]) == table["adverse_events"].height == 5
    assert {p["id"] for p in resources["Patient"]} == set(table["participants"]["study_id"])

    # Bulk Data manifest entries and checksums of every NDJSON file.
    manifest = json.loads((out / "manifest.json").read_text())
    output = {o["type"]: o for o in manifest["fhir"]["output"]}
    assert set(output) == set(TYPES) and manifest["fhir"]["spec"] == "https://hl7.org/fhir/uv/bulkdata/"
    assert all(output[k]["count"] == len(resources[k]) and output[k]["url"] == f"fhir/{k}.ndjson" for k in TYPES)
    files = manifest["files"]
    for kind in TYPES:
        path = out / "fhir" / f"{kind}.ndjson"
        assert files[f"fhir/{kind}.ndjson"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["fhir"]["study_day_epoch"] is None

    # Doses: mg of mitragynine as the Observation's component, part of the dose's MedicationStatement.
    mg = [o for o in resources["Observation"] if o["code"]["coding"][0]["code"] == "dose-alkaloid-mg"]
    assert len(mg) == 15
    statements = {s["id"] for s in resources["MedicationStatement"]}
    assert all(o["partOf"][0]["reference"].removeprefix("MedicationStatement/") in statements for o in mg)
    assert sorted(o["component"][0]["valueQuantity"]["value"] for o in mg)[:3] == pytest.approx([30.0] * 3)
    # Labs carry LOINC (valid check digit); scores are the instruments' survey Observations.
    labs = [o for o in resources["Observation"] if o["id"].split("-")[-2] == "lab"]
    assert len(labs) == 5 and {o["code"]["coding"][0]["code"] for o in labs} == {"1742-6"}
    assert all(is_valid_loinc(o["code"]["coding"][0]["code"]) for o in labs)
    from kratomwatch.research.export_fhir import LAB_LOINC

    assert all(is_valid_loinc(code) for code, _ in LAB_LOINC.values())
    responses = {r["id"] for r in resources["QuestionnaireResponse"]}
    scores = [o for o in resources["Observation"] if "derivedFrom" in o]
    assert scores and all(o["derivedFrom"][0]["reference"].split("/")[1] in responses for o in scores)
    # Every reference to a Patient points to an exported participant; dates are shifted dates without a time.
    patients = {f"Patient/{p['id']}" for p in resources["Patient"]}
    for kind in TYPES[1:]:
        for r in resources[kind]:
            assert r["subject"]["reference"] in patients
    key = deid.project_key(SECRET, "pain")
    sid = deid.study_id(key, world.patient.pk)
    shift = dt.timedelta(days=deid.shift_days(key, world.patient.pk))
    onset = next(a["date"] for a in resources["AdverseEvent"] if a["subject"]["reference"] == f"Patient/{sid}")
    assert onset == (world.patient.adverse_events.get().onset + shift).isoformat()

    # Withdrawn, never consented and k-withheld participants are absent; no identifier or free text anywhere.
    absent = [deid.study_id(key, p.pk) for p in (cohort.withdrawn, cohort.never, cohort.unique)]
    assert _leaks(out / "fhir", absent) == []
    leaks = _leaks(out / "fhir", cohort.identifiers + FREE_TEXT)
    assert leaks == [], leaks


def test_study_days_become_dates_from_the_stated_epoch(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "export"
    _run(world, out, formats=("fhir",), dates="study-days")
    resources = _resources(out)
    manifest = json.loads((out / "manifest.json").read_text())
    epoch = dt.date.fromisoformat(manifest["fhir"]["study_day_epoch"])
    fhir_files = {f"fhir/{k}.ndjson" for k in TYPES}
    assert set(manifest["files"]) == fhir_files | {"README.md", "data_dictionary.csv", "k_anonymity.csv"}
    key = deid.project_key(SECRET, "pain")
    patient = world.patient
    sid = deid.study_id(key, patient.pk)
    from kratomwatch.records.validation import enrolment_date

    onset = patient.adverse_events.get().onset
    expected = epoch + (onset - enrolment_date(patient))
    dates = [a["date"] for a in resources["AdverseEvent"] if a["subject"]["reference"] == f"Patient/{sid}"]
    assert dates == [expected.isoformat()]
    assert len(resources["Patient"]) == 5


@pytest.mark.django_db(transaction=True)
def test_the_api_accepts_fhir_and_its_zip_holds_the_ndjson(
    world: Any, people: Any, cohort: Cohort, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.test import Client

    from kratomwatch.jobs import worker as jobs_worker

    settings.KRATOMWATCH_REQUIRE_2FA = False
    settings.BASE_DIR = tmp_path / "home"
    monkeypatch.setenv("KRATOMWATCH_RESEARCH_SECRET", SECRET)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {people.tokens['rita']}"}
    body = {"program_id": world.program.pk, "format": "fhir", "dates": "shifted", "k": 5}
    started = Client().post("/api/v1/research/exports", data=json.dumps(body), content_type="application/json", **auth)
    assert started.status_code == 202, started.content
    assert jobs_worker.run(burst=True, schedule=False).tasks_run == 1
    url = f"/api/v1/research/exports/{started.json()['id']}/download"
    download = Client().get(url, **auth)
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        archive.extractall(tmp_path / "zip")
    (out,) = (tmp_path / "zip").iterdir()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["formats"] == ["fhir"]
    listed = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == listed and {f"fhir/{k}.ndjson" for k in TYPES} <= listed
    assert len(_resources(out)["Patient"]) == 5
    assert _leaks(out / "fhir", cohort.identifiers) == []


def test_cli_writes_fhir_and_names_it_among_the_formats(
    world: Any, cohort: Cohort, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from kratomwatch.cli import app

    monkeypatch.setenv("KRATOMWATCH_RESEARCH_SECRET", SECRET)
    out = tmp_path / "cli"
    runner = CliRunner()
    result = runner.invoke(app, ["research", "export", "--out", str(out), "--program", "pain", "--format", "fhir"])
    assert result.exit_code == 0, result.output
    assert len(_resources(out)["Patient"]) == 5
    assert not (out / "doses.csv").exists() and not (out / "doses.parquet").exists()
    bad = runner.invoke(app, ["research", "export", "--out", str(tmp_path / "new"), "--format", "fhir,xml"])
    assert bad.exit_code == 2 and "fhir" in bad.output.replace("\n", "") and "format='xml'" in bad.output


def test_lab_observations_carry_only_confirmed_loinc_codes_and_the_qtc_is_a_procedure() -> None:
    from kratomwatch.research.export_fhir import _labs

    frame = pl.DataFrame(
        {
            "study_id": ["S-aaaaaa"] * 4,
            "date": [dt.date(2026, 1, 5)] * 4,
            "test": ["sodium", "sodium", "qtc", "total_bilirubin"],
            "value": [139.0, 139.0, 471.0, 1.1],
            "unit": ["mmol/L", "mEq/L", "ms", "mg/dL"],
            "upper_limit_normal": [145.0, 145.0, None, 1.2],
            "lower_limit_normal": [135.0, 135.0, None, None],
        }
    )
    out = list(_labs(frame))
    for resource in out:
        get_fhir_model_class("Observation").model_validate(resource)
    codes = [[c["code"] for c in o["code"]["coding"]] for o in out]
    assert codes == [["2951-2", "sodium"], ["sodium"], ["8636-3", "qtc"], ["1975-2", "total_bilirubin"]]
    # sodium in mEq/L: no LOINC source read confirms 2951-2 for it, so only the local code (docs/fhir.md)
    categories = [o["category"][0]["coding"][0]["code"] for o in out]
    assert categories == ["laboratory", "laboratory", "procedure", "laboratory"]  # the QTc comes from an ECG
