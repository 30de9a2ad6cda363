"""`kratomwatch import doses` on a file that is not a UTF-8 dose CSV: one plain line naming the problem, exit 2,
no traceback, nothing written (UTF-16, Latin-1, binary, a huge field, a year-1 timestamp)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.records.models import Dose

runner = CliRunner()
HEADER = "patient_code,lot_id,taken_at,amount,unit,source,idempotency_key\n"

pytestmark = pytest.mark.django_db


def _row(lot: int, when: str = "2026-11-10T08:00:00-06:00", key: str = "k1") -> str:
    return f"P-001,{lot},{when},1,g,import,{key}\n"


def _import(path: Path) -> Any:
    return runner.invoke(app, ["import", "doses", str(path)])


def _assert_refused(result: Any, expected: str) -> None:
    text = " ".join(result.output.split())  # Rich wraps at the terminal width
    assert result.exit_code == 2, text
    assert expected in text, text
    assert "Traceback" not in text and isinstance(result.exception, SystemExit)
    assert text.count("error:") == 1 and text.startswith("error: file="), text
    assert Dose.objects.count() == 0


def test_utf16_file(world: Any, tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_text(HEADER + _row(world.leaf_cert_lot.pk), encoding="utf-16")
    _assert_refused(_import(path), "line 1: the file is UTF-16 text, not UTF-8 (save it as UTF-8 CSV)")


def test_latin1_file(world: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + _row(world.leaf_cert_lot.pk, key="clé")).encode("latin-1"))
    _assert_refused(_import(path), "line 2: the file is not UTF-8 text (save it as UTF-8 CSV)")


def test_binary_file(world: Any, tmp_path: Path) -> None:
    path = tmp_path / "random.csv"
    path.write_bytes(b"\x00\x9f" + os.urandom(4096))
    result = _import(path)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in text, text
    assert "line 1: the file" in text and Dose.objects.count() == 0


def test_field_over_the_csv_limit(world: Any, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + _row(world.leaf_cert_lot.pk, key="x" * 200_000), encoding="utf-8")
    _assert_refused(_import(path), "line 2: a field is longer than 131072 characters")


def test_year_one_timestamp_is_a_rejected_row(world: Any, tmp_path: Path) -> None:
    path = tmp_path / "year1.csv"
    path.write_text(HEADER + _row(world.leaf_cert_lot.pk, when="0001-01-01T00:30:00+05:00"), encoding="utf-8")
    result = _import(path)
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in text, text
    assert "line 2: taken_at=" in text and "is not a date that can be recorded" in text, text
    assert Dose.objects.count() == 0
