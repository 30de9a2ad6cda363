"""The patient's own data in and out (web/patient_data.py): the record download (CSV ZIP and FHIR R4, validated
with fhir.resources), the tracker import preview and confirmation, and another user's data never included."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kratomwatch.audit.models import AuditEvent
from kratomwatch.records import actions
from kratomwatch.records.models import Dose

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[1] / "fixtures" / "trackers"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _dose(world: Any, system: Any, patient: Any, lot: Any, key: str, hours_ago: float = 3) -> Any:
    dose, _ = actions.record_dose(
        actor=system,
        patient=patient,
        dose=actions.DoseIn(
            patient.code, lot.pk, timezone.now() - dt.timedelta(hours=hours_ago), 2.5, "g", idempotency_key=key
        ),
    )
    return dose


def _seed(world: Any, system: Any) -> Any:
    from kratomwatch.assessments import actions as assessment_actions

    kept = _dose(world, system, world.patient, world.leaf_cert_lot, "keep")
    _dose(world, system, world.patient, world.leaf_plain_lot, "gone", hours_ago=4)
    from kratomwatch.records.models import Dose as DoseModel

    DoseModel.objects.filter(idempotency_key="gone").update(voided_at=timezone.now(), void_reason="typed twice")
    assessment_actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=[1] * 9,
        administered_at=timezone.now() - dt.timedelta(hours=1),
        source="self_report",
    )
    actions.record_adverse_event(
        actor=system, patient=world.patient, term="Nausea", onset=timezone.localdate(), grade=1
    )
    actions.record_medication(actor=system, patient=world.patient, name="Sertraline", dose_text="50 mg daily")
    # Another patient's data, which must never appear.
    foreign_lot = actions.create_lot(
        actor=system,
        product=actions.create_product(
            actor=system, program=world.other_program, vendor="Z", name="Zeta", form="leaf_powder"
        ),
        lot_code="Z1",
    )
    _dose(world, system, world.foreign_patient, foreign_lot, "foreign")
    actions.record_medication(actor=system, patient=world.foreign_patient, name="Warfarin")
    return kept


def test_download_page_is_reachable_and_only_for_the_patient(world: Any) -> None:
    page = _client(world.carol).get(reverse("patient-download"))
    assert page.status_code == 200
    assert reverse("patient-download-csv") in page.content.decode()
    assert _client(world.alice).get(reverse("patient-download")).status_code == 404
    assert _client(world.alice).get(reverse("patient-download-csv")).status_code == 404


def test_csv_zip_holds_the_patients_own_active_entries_in_local_time(world: Any, system: Any) -> None:
    kept = _seed(world, system)
    response = _client(world.carol).get(reverse("patient-download-csv"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {
        "README.txt",
        "doses.csv",
        "questionnaires.csv",
        "side_effects.csv",
        "medications.csv",
    }

    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))

    doses = rows("doses.csv")
    assert len(doses) == 1  # the voided dose is left out, the other patient's never in
    local = kept.taken_at.astimezone(dt.timezone(dt.timedelta(hours=-6)))
    assert doses[0]["date"] == local.date().isoformat() and doses[0]["time"] == local.strftime("%H:%M")
    assert doses[0]["time_zone"] == "America/Chicago" and doses[0]["zone_abbreviation"] == "CST"
    assert doses[0]["basis"] == "certificate" and doses[0]["mitragynine_mg"] == "37.5" and doses[0]["unit"] == "g"
    assert rows("questionnaires.csv")[0]["total"] == "9"
    assert rows("side_effects.csv")[0]["what"] == "Nausea"
    assert [m["name"] for m in rows("medications.csv")] == ["Sertraline"]
    assert AuditEvent.objects.filter(action="patient.export", patient_code="P-001").count() == 1


def test_fhir_bundle_validates_and_holds_only_the_pseudonymous_code(world: Any, system: Any) -> None:
    from fhir.resources.R4B.bundle import Bundle

    _seed(world, system)
    response = _client(world.carol).get(reverse("patient-download-fhir"))
    assert response.status_code == 200
    data = json.loads(response.content)
    Bundle.model_validate(data)  # every entry's resource is validated with it
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    assert kinds.count("Patient") == 1
    patient = data["entry"][0]["resource"]
    assert set(patient) == {"resourceType", "id", "identifier"} and patient["identifier"][0]["value"] == "P-001"
    assert kinds.count("MedicationStatement") == 2  # one dose (voided left out) and one medication
    assert "QuestionnaireResponse" in kinds and "AdverseEvent" in kinds
    text = response.content.decode()
    assert "Warfarin" not in text and "Q-001" not in text
    dose_obs = next(e["resource"] for e in data["entry"] if e["resource"]["id"].endswith("-mg"))
    assert dose_obs["component"][0]["valueQuantity"]["value"] == 37.5
    assert dose_obs["effectiveDateTime"].endswith("-06:00")


def _upload(client: Client, name: str, fmt: str = "") -> Any:
    data = (FIXTURES / name).read_bytes()
    return client.post(
        reverse("patient-import"), {"step": "upload", "format": fmt, "file": SimpleUploadedFile(name, data)}
    )


def _token(html: str) -> str:
    return html.split('name="token" value="', 1)[1].split('"', 1)[0]


def test_import_preview_then_confirm_then_reimport_creates_nothing(world: Any) -> None:
    client = _client(world.carol)
    assert reverse("patient-import") in client.get(reverse("patient-home")).content.decode()
    preview = _upload(client, "teataper.json")
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "Tea Taper JSON backup" in html and "Kratom tea (Tea Taper)" in html
    assert not Dose.objects.filter(patient=world.patient).exists()  # nothing before the confirmation
    missing = client.post(reverse("patient-import"), {"step": "confirm", "token": _token(html)})
    assert missing.status_code == 400
    assert 'aria-invalid="true"' in missing.content.decode() and "or choose" in missing.content.decode()
    wrong = client.post(
        reverse("patient-import"), {"step": "confirm", "token": _token(html), "map-0": str(world.leaf_cert_lot.pk)}
    )
    assert wrong.status_code == 400 and "does not fit" in wrong.content.decode()
    assert not Dose.objects.filter(patient=world.patient).exists()
    done = client.post(
        reverse("patient-import"), {"step": "confirm", "token": _token(html), "map-0": str(world.shot_lot.pk)}
    )
    assert done.status_code == 200 and "3 new" in done.content.decode()
    assert Dose.objects.filter(patient=world.patient, source="import").count() == 3
    again = _upload(client, "teataper.json")
    repeat = client.post(
        reverse("patient-import"),
        {"step": "confirm", "token": _token(again.content.decode()), "map-0": str(world.shot_lot.pk)},
    )
    assert "0 new" in repeat.content.decode() and "3 already imported" in repeat.content.decode()
    assert Dose.objects.filter(patient=world.patient).count() == 3


def test_a_naive_time_file_says_it_is_read_in_the_patients_zone(world: Any) -> None:
    html = _upload(_client(world.carol), "herbal_tracker.csv").content.decode()
    assert "read in your zone, America/Chicago" in html
    assert "Sat 28 Nov 2026, 08:15 CST" in html


def test_a_malformed_file_is_refused_with_its_line_and_nothing_saved(world: Any) -> None:
    client = _client(world.carol)
    bad = (
        b"date,time,iso_timestamp,strain_code,strain_name,amount_g,notes\n"
        b"2026-11-28,08:15,2026-11-28T08:15,G,Green,2,\n2026-11-28,09:00,2026-11-28T09:00,G,Green,two,\n"
    )
    response = client.post(reverse("patient-import"), {"step": "upload", "file": SimpleUploadedFile("export.csv", bad)})
    assert response.status_code == 400
    html = response.content.decode()
    assert "line 3" in html and "is not a number" in html and 'aria-invalid="true"' in html
    assert not Dose.objects.filter(patient=world.patient).exists()


def test_upload_errors_are_in_plain_words(world: Any) -> None:
    client = _client(world.carol)
    none = client.post(reverse("patient-import"), {"step": "upload"})
    assert none.status_code == 400 and "Choose the file" in none.content.decode()
    big = SimpleUploadedFile("big.csv", b"x" * (2 * 1024 * 1024 + 1))
    assert (
        "larger than 2 MB" in client.post(reverse("patient-import"), {"step": "upload", "file": big}).content.decode()
    )
    stale = client.post(reverse("patient-import"), {"step": "confirm", "token": "nope"})
    assert stale.status_code == 400 and "upload the file again" in stale.content.decode()


def test_a_clinician_cannot_use_the_patient_import(world: Any) -> None:
    assert _client(world.alice).get(reverse("patient-import")).status_code == 404


def test_home_offers_28_90_days_or_all(world: Any, system: Any) -> None:
    from kratomwatch.records.models import Dose as DoseModel

    _dose(world, system, world.patient, world.leaf_cert_lot, "old")
    DoseModel.objects.filter(idempotency_key="old").update(
        local_date=world.patient.local_today() - dt.timedelta(days=199)
    )
    client = _client(world.carol)
    assert "My last 28 days" in client.get(reverse("patient-home")).content.decode()
    ninety = client.get(reverse("patient-home"), {"days": "90"}).content.decode()
    assert "My last 90 days" in ninety and 'href="?days=90#chart-h" aria-current="page"' in ninety
    assert "My last 200 days" in client.get(reverse("patient-home"), {"days": "all"}).content.decode()
    assert "My last 28 days" in client.get(reverse("patient-home"), {"days": "9999"}).content.decode()
