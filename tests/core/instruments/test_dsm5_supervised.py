"""DSM-5 `supervised`: the score warns that the exclusion covers prescribed medicines under supervision (O13)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kratomwatch.core import instruments
from kratomwatch.core.instruments import score
from kratomwatch.core.instruments.dsm5_sud import SUPERVISED_WARNING

DSM5 = instruments.get("dsm5_sud")
ANSWERS = [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]  # 4 met; tolerance and withdrawal among them


def test_supervised_score_carries_the_warning_in_its_notes() -> None:
    result = score(DSM5, ANSWERS, supervised=True)
    assert result.total == 2
    warning = next(note for note in result.notes if "WARNING" in note)
    assert warning == f"criteria_count: {SUPERVISED_WARNING}"
    assert "taken as prescribed" in warning and "supervised clinical program" in warning
    assert "Kratom bought and taken on one's own is not supervised use" in warning


def test_no_warning_without_supervised() -> None:
    result = score(DSM5, ANSWERS)
    assert result.total == 4
    assert not any("WARNING" in note for note in result.notes)


def test_no_other_instrument_carries_a_supervised_warning() -> None:
    for instrument_id in instruments.instrument_ids():
        for scale in instruments.get(instrument_id).scales:
            assert (scale.supervised_warning is not None) == (instrument_id == "dsm5_sud"), instrument_id


def test_cli_score_shows_the_warning() -> None:
    from kratomwatch.cli import app

    runner = CliRunner()
    args = ["score", "dsm5_sud", *map(str, ANSWERS), "--supervised"]
    plain = runner.invoke(app, args, terminal_width=400)
    assert plain.exit_code == 0, plain.output
    assert "WARNING: supervised use drops tolerance and withdrawal" in plain.output
    as_json = runner.invoke(app, [*args, "--json"])
    assert any("WARNING" in note for note in json.loads(as_json.output)["notes"])
