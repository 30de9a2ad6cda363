"""D11: a NUL character in any text of an API request is refused naming the field and nothing is stored; dates of a
dose, medication, side effect, lab, questionnaire, taper step and schedule are refused before the patient's birth
year and in the future (a plan's date: more than five years ahead). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from kratomwatch.assessments.models import Assessment, Schedule
from kratomwatch.cli import app
from kratomwatch.consent.models import CareOverride
from kratomwatch.records.models import AdverseEvent, Dose, LabResult, Medication
from tests.api.test_api import assert_error, call

pytestmark = pytest.mark.django_db


def _recent() -> str:
    return (timezone.now() - dt.timedelta(minutes=30)).isoformat()


def _nul_cases(w: Any) -> list[tuple[str, str, dict[str, Any], str, Any]]:
    today = w.patient.local_today().isoformat()
    dose = {"lot_id": w.leaf_cert_lot.pk, "taken_at": _recent(), "amount": 1, "unit": "g"}
    return [
        ("post", "/patients/P-001/doses", {**dose, "idempotency_key": "k\x00x"}, "idempotency_key", Dose),
        ("post", "/patients/P-001/medications", {"name": "Sert\x00raline"}, "name", Medication),
        ("post", "/patients/P-001/medications", {"name": "Sertraline", "dose_text": "50\x00"}, "dose_text", Medication),
        (
            "post",
            "/patients/P-001/adverse-events",
            {"term": "Nau\x00sea", "onset": today, "grade": 1},
            "term",
            AdverseEvent,
        ),
        ("put", "/patients/P-001/care-plan", {"goals": "fewer\x00", "notes": ""}, "goals", None),
        ("post", "/patients/P-001/consent/override", {"reason": "documented reason\x00 here"}, "reason", CareOverride),
    ]


@pytest.mark.parametrize("index", range(6))
def test_a_nul_character_in_a_body_is_refused_naming_the_field(world: Any, index: int) -> None:
    method, path, body, field, model = _nul_cases(world)[index]
    status, payload = call(world, "alice", method, path, body)
    assert status == 400, payload
    assert_error(payload, "nul_character", field)
    assert "NUL character" in payload["error"]["message"]
    if model is not None:
        assert model.objects.count() == 0


def test_a_nul_character_in_a_nested_value_or_a_query_is_refused(world: Any) -> None:
    body = {"goals": "", "taper": [{"start": "2026-12-01\x00", "target_mg": 10}]}
    status, payload = call(world, "alice", "put", "/patients/P-001/care-plan", body)
    assert status == 400, payload
    assert_error(payload, "nul_character", "taper.0.start")
    status, payload = call(world, "alice", "get", "/patients?program_id=1%00")
    assert status == 400, payload
    assert_error(payload, "nul_character", "program_id")


def test_text_without_nul_is_still_stored(world: Any) -> None:
    status, payload = call(world, "alice", "post", "/patients/P-001/medications", {"name": "Sertraline ≥ 50 µg"})
    assert status == 201 and payload["name"] == "Sertraline ≥ 50 µg", payload


def test_the_importer_refuses_a_nul_byte(world: Any, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    header = "patient_code,lot_id,taken_at,amount,unit,source,idempotency_key\n"
    path.write_text(header + f"P-001,{world.leaf_cert_lot.pk},{_recent()},1,g,import,k26\x00x\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "doses", str(path)])
    assert result.exit_code == 2 and "line 2" in result.output, result.output
    assert Dose.objects.count() == 0


# --- dates: before the birth year (P-001 was born in 1980) or in the future ----------------------------------------


def _date_cases(w: Any) -> list[tuple[str, str, dict[str, Any], str, Any]]:
    lab = {"test": "alt", "value": 20, "unit": "U/L", "upper_limit_normal": 40}
    far = "9999-12-31"
    return [
        ("post", "/patients/P-001/medications", {"name": "A", "start": "1975-06-01"}, "start", Medication),
        ("post", "/patients/P-001/medications", {"name": "A", "start": "1900-01-01"}, "start", Medication),
        ("post", "/patients/P-001/medications", {"name": "A", "start": far}, "start", Medication),
        ("post", "/patients/P-001/medications", {"name": "A", "start": "2020-01-01", "stop": far}, "stop", Medication),
        ("post", "/patients/P-001/labs", {**lab, "taken_at": "1975-01-01T08:00:00+00:00"}, "taken_at", LabResult),
        ("post", "/patients/P-001/labs", {**lab, "taken_at": "0001-01-01T00:30:00+05:00"}, "taken_at", LabResult),
        ("post", "/patients/P-001/labs", {**lab, "taken_at": "9999-12-30T08:00:00+00:00"}, "taken_at", LabResult),
        (
            "post",
            "/patients/P-001/adverse-events",
            {"term": "x", "onset": "0001-01-01", "grade": 1},
            "onset",
            AdverseEvent,
        ),
        ("post", "/patients/P-001/adverse-events", {"term": "x", "onset": far, "grade": 1}, "onset", AdverseEvent),
        (
            "post",
            "/patients/P-001/doses",
            {"lot_id": w.leaf_cert_lot.pk, "taken_at": "1900-01-01T08:00:00+00:00", "amount": 1, "unit": "g"},
            "taken_at",
            Dose,
        ),
        ("post", "/patients/P-001/schedules", {"instrument": "peg", "every_days": 7, "start": far}, "start", Schedule),
        (
            "post",
            "/patients/P-001/schedules",
            {"instrument": "peg", "every_days": 7, "start": "0001-01-01"},
            "start",
            Schedule,
        ),
        (
            "post",
            "/patients/P-001/schedules",
            {"instrument": "peg", "every_days": 7, "start": "1975-01-01"},
            "start",
            Schedule,
        ),
        (
            "post",
            "/patients/P-001/assessments",
            {"instrument": "peg", "answers": [1, 1, 1], "administered_at": "1900-01-01T08:00:00+00:00"},
            "administered_at",
            Assessment,
        ),
        (
            "put",
            "/patients/P-001/care-plan",
            {"taper": [{"start": "0001-01-01", "target_mg": 10}]},
            "taper.0.start",
            None,
        ),
        ("put", "/patients/P-001/care-plan", {"taper": [{"start": far, "target_mg": 10}]}, "taper.0.start", None),
    ]


@pytest.mark.parametrize("index", range(16))
def test_implausible_dates_are_refused_naming_the_field(world: Any, index: int) -> None:
    method, path, body, field, model = _date_cases(world)[index]
    status, payload = call(world, "alice", method, path, body)
    assert status == 400, payload
    assert payload["error"]["field"] == field, payload
    message = payload["error"]["message"].lower()
    assert "check the year" in message or "future" in message, payload
    if model is not None:
        assert model.objects.count() == 0


def test_plausible_dates_are_accepted(world: Any) -> None:
    today = world.patient.local_today()
    ahead = (today + dt.timedelta(days=30)).isoformat()
    lab = {"test": "alt", "value": 20, "unit": "U/L", "upper_limit_normal": 40, "taken_at": "1990-05-01T08:00:00+00:00"}
    for path, body in (
        ("/patients/P-001/medications", {"name": "A", "start": "1980-01-01", "stop": ahead}),
        ("/patients/P-001/labs", lab),
        ("/patients/P-001/schedules", {"instrument": "peg", "every_days": 7, "start": ahead}),
    ):
        status, payload = call(world, "alice", "post", path, body)
        assert status == 201, (path, payload)


@pytest.mark.parametrize(
    "path",
    [
        "/patients/P-0%0001",
        "/instruments/ph%00q9",
        "/legal/U%00S",
        "/evidence/a%00b",
        "/patients/P-001/doses%00/1/void",
    ],
)
def test_a_nul_character_in_a_path_is_never_a_server_error(world: Any, path: str) -> None:
    method, body = ("post", {"reason": "typo"}) if path.endswith("void") else ("get", None)
    status, payload = call(world, "alice", method, path, body)
    assert 400 <= status < 500, payload
    assert set(payload) == {"error"}
