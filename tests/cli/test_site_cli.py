"""CLI polish: a database command before `migrate` says so in one line (no traceback, no empty SQLite file);
`migrate` says what it did; `export doses` is the identified care export with rounded numbers."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app

KRATOMWATCH = str(Path(sys.executable).with_name("kratomwatch"))


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "KRATOMWATCH_HOME": str(tmp_path / "home"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "COLUMNS": "100",
        "KRATOMWATCH_DEBUG": "1",
    }
    return subprocess.run([KRATOMWATCH, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_demo_before_migrate_says_run_migrate_and_leaves_no_database_file(tmp_path: Path) -> None:
    result = _run(tmp_path, "demo")
    assert result.returncode == 1
    assert result.stderr.strip() == "The database is not set up yet: run `kratomwatch migrate` first."
    assert "Traceback" not in result.stdout + result.stderr and "demo data" not in result.stderr
    assert not (tmp_path / "fresh.sqlite3").exists()


def test_migrate_says_it_created_the_schema_then_that_it_is_up_to_date(tmp_path: Path) -> None:
    first = _run(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("created the database schema (") and "migrations applied)" in first.stdout
    again = _run(tmp_path, "migrate")
    assert again.returncode == 0 and again.stdout.strip() == "database is up to date"
    export = _run(tmp_path, "export", "doses")  # a database command after migrate works
    assert export.returncode == 0 and export.stdout.startswith("patient_code,")


def test_export_help_says_identified_care_data_not_research() -> None:
    result = CliRunner().invoke(app, ["export", "doses", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "IDENTIFIED care data" in text and "not a research export" in text


@pytest.mark.django_db
def test_export_rounds_amounts_and_mg_to_three_decimals(world: Any, system: Any, tmp_path: Path) -> None:
    from kratomwatch.records import actions

    actions.record_dose(
        actor=system,
        patient=world.patient,
        dose=actions.DoseIn(
            "P-001", world.leaf_cert_lot.pk, world.now - dt.timedelta(hours=1), 0.1 + 0.2, "g", idempotency_key="r1"
        ),
        now=world.now,
    )
    out = tmp_path / "doses.csv"
    result = CliRunner().invoke(app, ["export", "doses", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert rows and rows[0]["amount"] == "0.3"
    assert "0000000" not in out.read_text()
    assert rows[0]["mitragynine_mg"] == "4.5"  # 0.3 g x 15 mg/g
