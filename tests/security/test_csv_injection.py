"""CSV exports neutralise spreadsheet formulas (OWASP CSV injection): the dose export CLI, the audit CSV download
and the patient's own record download all write text cells through ``kratomwatch.core.csvsafe``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.core.csvsafe import restore_cell, safe_cell, safe_row
from kratomwatch.records import actions
from kratomwatch.records.models import Dose

runner = CliRunner()
FORMULA = '=HYPERLINK("http://evil.example")'


def test_safe_cell_prefixes_formula_text_and_leaves_numbers_alone() -> None:
    for text in (FORMULA, "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(1,2)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
        assert restore_cell("'" + text) == text
    assert safe_row(["plain", -2.5, -3, None, "a=b", ""]) == ["plain", -2.5, -3, None, "a=b", ""]
    assert restore_cell("'quoted") == "'quoted"


@pytest.mark.django_db
def test_dose_export_neutralises_a_formula_idempotency_key(world: Any, system: Any, tmp_path: Path) -> None:
    actions.record_dose(
        actor=system,
        patient=world.patient,
        dose=actions.DoseIn(
            "P-001", world.leaf_cert_lot.pk, timezone.now() - dt.timedelta(hours=2), 2.0, "g", idempotency_key=FORMULA
        ),
    )
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["export", "doses", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '\'=HYPERLINK(""http://evil.example"")' in text
    assert ',"=HYPERLINK' not in text and ",=HYPERLINK" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["idempotency_key"] == "'" + FORMULA
    # The export still re-imports as itself: the same key, nothing new.
    again = runner.invoke(app, ["import", "doses", str(out)])
    assert "created 0, skipped 1" in again.output, again.output
    assert list(Dose.objects.values_list("idempotency_key", flat=True)) == [FORMULA]


@pytest.mark.django_db
def test_audit_csv_neutralises_a_formula_username(world: Any, system: Any) -> None:
    from kratomwatch.accounts.actions import create_user

    user, _ = create_user(
        actor=system, username="-2+3", password="correct-horse-battery-9", role="clinician", program_slug="pain"
    )
    client = Client()
    client.force_login(user)
    client.get(reverse("clinic-patient", args=["P-001"]))
    admin = Client()
    admin.force_login(world.admin)
    response = admin.get(reverse("audit-log"), {"download": "csv"})
    assert response.status_code == 200
    actors = {r[2] for r in csv.reader(io.StringIO(response.content.decode()))}
    assert "'-2+3" in actors and "-2+3" not in actors


@pytest.mark.django_db
def test_patient_record_csv_neutralises_formula_text(world: Any, system: Any) -> None:
    actions.record_medication(actor=system, patient=world.patient, name=FORMULA, dose_text="@SUM(1,2)")
    client = Client()
    client.force_login(world.carol)
    response = client.get(reverse("patient-download-csv"))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    meds = list(csv.DictReader(io.StringIO(archive.read("medications.csv").decode("utf-8-sig"))))
    assert meds[0]["name"] == "'" + FORMULA
    assert "'@SUM(1,2)" in meds[0].values()
