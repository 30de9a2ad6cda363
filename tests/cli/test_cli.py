"""CLI: `dose` without a database, CSV import/export round trip, idempotent re-import, malformed rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.records.models import Dose

runner = CliRunner()


def test_dose_with_certificate_json() -> None:
    result = runner.invoke(
        app,
        [
            "dose",
            "2",
            "capsule",
            "--form",
            "capsule",
            "--mitragynine",
            "8",
            "--seven-oh",
            "0.5",
            "--content-unit",
            "mg/unit",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["mitragynine_mg"] == pytest.approx(16.0) and payload["seven_oh_mg"] == pytest.approx(1.0)
    assert payload["basis"] == "certificate" and payload["enhanced"] is True
    assert payload["seven_oh_share_percent"] == pytest.approx(100 / 17)


def test_dose_leaf_without_certificate_is_estimated_with_range() -> None:
    result = runner.invoke(app, ["dose", "4", "g", "--form", "leaf_powder", "--json"])
    payload = json.loads(result.output)
    assert payload["basis"] == "estimated"
    assert payload["mitragynine_range_mg"] == [pytest.approx(53.2), pytest.approx(78.0)]
    assert payload["seven_oh_mg"] is None


def test_dose_unit_per_gram_via_unit_mass() -> None:
    result = runner.invoke(
        app,
        [
            "dose",
            "3",
            "capsule",
            "--form",
            "capsule",
            "--mitragynine",
            "16",
            "--seven-oh",
            "0.1",
            "--unit-mass-mg",
            "500",
            "--json",
        ],
    )
    assert json.loads(result.output)["mitragynine_mg"] == pytest.approx(24.0)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["5", "mL", "--form", "capsule"], "unit"),
        (["5", "bucket", "--form", "leaf_powder"], "unit"),
        (["0", "g", "--form", "leaf_powder"], "amount"),
        (["1", "g", "--form", "gummy"], "form"),
        (["1", "g", "--form", "leaf_powder", "--mitragynine", "10"], "seven_oh"),
    ],
)
def test_dose_errors_name_the_field(args: list[str], field: str) -> None:
    result = runner.invoke(app, ["dose", *args, "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["field"] == field


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.django_db
def test_import_is_idempotent_and_export_round_trips(world: Any, tmp_path: Path) -> None:
    rows = [
        {
            "patient_code": "P-001",
            "lot_id": world.leaf_cert_lot.pk,
            "taken_at": f"2026-11-{d:02d}T09:00:00-06:00",
            "amount": "2.5",
            "unit": "g",
        }
        for d in range(1, 11)
    ]
    source = write_csv(tmp_path / "doses.csv", rows)
    first = runner.invoke(app, ["import", "doses", str(source)])
    assert first.exit_code == 0, first.output
    assert "created 10, skipped 0, rejected 0" in first.output
    second = runner.invoke(app, ["import", "doses", str(source)])
    assert "created 0, skipped 10, rejected 0" in second.output
    assert Dose.objects.count() == 10

    out = tmp_path / "export.csv"
    exported = runner.invoke(app, ["export", "doses", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    with out.open() as handle:
        data = list(csv.DictReader(handle))
    assert len(data) == 10 and float(data[0]["mitragynine_mg"]) == pytest.approx(37.5)
    reimport = runner.invoke(app, ["import", "doses", str(out)])
    assert "created 0, skipped 10" in reimport.output


@pytest.mark.django_db
def test_malformed_rows_are_reported_and_nothing_is_written(world: Any, tmp_path: Path) -> None:
    rows = [
        {
            "patient_code": "P-001",
            "lot_id": world.leaf_cert_lot.pk,
            "taken_at": "2026-11-01T09:00:00Z",
            "amount": "2",
            "unit": "g",
        },
        {"patient_code": "P-001", "lot_id": "abc", "taken_at": "2026-11-01T10:00:00Z", "amount": "2", "unit": "g"},
        {
            "patient_code": "P-001",
            "lot_id": world.leaf_cert_lot.pk,
            "taken_at": "not a date",
            "amount": "2",
            "unit": "g",
        },
        {
            "patient_code": "P-001",
            "lot_id": world.leaf_cert_lot.pk,
            "taken_at": "2026-11-01T11:00:00",
            "amount": "2",
            "unit": "g",
        },
        {
            "patient_code": "NOPE",
            "lot_id": world.leaf_cert_lot.pk,
            "taken_at": "2026-11-01T12:00:00Z",
            "amount": "2",
            "unit": "g",
        },
        {
            "patient_code": "P-001",
            "lot_id": world.leaf_cert_lot.pk,
            "taken_at": "2026-11-01T13:00:00Z",
            "amount": "two",
            "unit": "g",
        },
        {
            "patient_code": "P-001",
            "lot_id": world.leaf_cert_lot.pk,
            "taken_at": "2026-11-01T14:00:00Z",
            "amount": "2",
            "unit": "scoop",
        },
    ]
    result = runner.invoke(app, ["import", "doses", str(write_csv(tmp_path / "bad.csv", rows))])
    assert result.exit_code == 1
    assert "created 0, skipped 0, rejected 6" in result.output
    for expected in (
        "line 3: lot_id='abc'",
        "line 4: taken_at='not a date'",
        "line 5: taken_at=",
        "line 6: patient_code='NOPE'",
        "line 7: amount='two'",
        "line 8: unit='scoop'",
    ):
        assert expected in result.output
    assert Dose.objects.count() == 0
    partial = runner.invoke(app, ["import", "doses", str(tmp_path / "bad.csv"), "--allow-partial"])
    assert "created 1" in partial.output and Dose.objects.count() == 1


@pytest.mark.django_db
def test_missing_columns_are_named(world: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [{"patient_code": "P-001", "amount": "1"}])
    result = runner.invoke(app, ["import", "doses", str(path)])
    assert result.exit_code == 2 and "lot_id" in result.output and "taken_at" in result.output


@pytest.mark.django_db
def test_exposure_command(world: Any, system: Any) -> None:
    import datetime as dt

    from kratomwatch.records import actions

    actions.record_dose(
        actor=system,
        patient=world.patient,
        now=world.now,
        dose=actions.DoseIn("P-001", world.leaf_cert_lot.pk, dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC), 2.0, "g"),
    )
    result = runner.invoke(app, ["exposure", "P-001", "--as-of", "2026-11-20", "--days", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [d["mitragynine_mg"] for d in payload["days"]] == [0.0, 30.0]
    missing = runner.invoke(app, ["exposure", "NOPE"])
    assert missing.exit_code == 2 and "NOPE" in missing.output
