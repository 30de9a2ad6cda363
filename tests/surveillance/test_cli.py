"""``kratomwatch signals scan FILE --format openebgm``: the CAERS example end to end, the analysis in the store, the
caveat, kratom naming, and bad input in the CLI's one error shape."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.surveillance import CAVEAT, ingest

runner = CliRunner()
CAERS = Path(__file__).parent / "data" / "caers.csv"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    return tmp_path


def scan(path: Path, *args: str) -> list[str]:
    return ["signals", "scan", str(path), "--format", "openebgm", *args]


def test_signals_on_the_caers_example_as_json(home: Path) -> None:
    result = runner.invoke(app, scan(CAERS, "--as-reported", "--json", "--top", "3"))
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["caveat"] == CAVEAT and "causation" in body["caveat"]
    assert (body["cases_counted"], body["pairs"], body["sorted_by"]) == (3356, 17189, "eb05")
    hypers = body["fit"]
    # Fitted on autoSquash's points: within autoHyper's own closeness tolerances of the vignette's estimate.
    assert hypers["alpha1"] == pytest.approx(3.2538, abs=0.05) and hypers["p"] == pytest.approx(0.0653, abs=0.025)
    top = body["signals"][0]
    assert (top["drug"], top["event"], top["n"]) == ("REUMOFAN PLUS", "WEIGHT INCREASED", 16)
    assert top["eb05"] == pytest.approx(15.68, abs=0.05) and top["prr_signal"] is True
    assert len(body["signals"]) == 3 and all(s["n"] >= 3 for s in body["signals"])
    assert body["signals"][2]["prr"] is None  # REUMOFAN PLUS / IMMOBILE: PRR infinite (no other product), null
    # The analysis: every pair with every column, under KRATOMWATCH_HOME/surveillance/analyses/<name>/
    folder = Path(body["analysis"])
    assert folder == home / "surveillance" / "analyses" / "openebgm-ps"
    signals = pl.read_parquet(folder / "signals.parquet")
    issue_columns = ["drug", "event", "n", "expected", "prr", "prr_chi2", "ror", "ror_lower95", "ror_upper95"]
    issue_columns += ["ic", "ic025", "ebgm", "eb05", "eb95"]
    assert signals.height == 17189 and set(issue_columns) <= set(signals.columns)
    # Idempotent: the same file again is the same unit, and the analysis has the same content.
    again = json.loads(runner.invoke(app, scan(CAERS, "--as-reported", "--json", "--top", "3")).output)
    assert again["units"] == body["units"] and len(ingest.units("openebgm")) == 1
    assert pl.read_parquet(folder / "signals.parquet").equals(signals)


def test_plain_output_names_the_caveat_and_the_prior() -> None:
    result = runner.invoke(app, scan(CAERS, "--as-reported", "--method", "prr,ror", "--top", "2"))
    assert result.exit_code == 0, result.output
    assert "17189 product-event pairs" in " ".join(result.output.split())
    assert "cannot establish incidence or causation" in " ".join(result.output.split())
    assert "GPS prior" not in result.output  # no EBGM asked for


def test_min_count_and_top_zero_show_every_pair_with_enough_reports() -> None:
    result = runner.invoke(app, scan(CAERS, "--json", "--method", "ic", "--min-count", "10", "--top", "0"))
    body = json.loads(result.output)
    assert body["pairs_listed"] == len(body["signals"]) > 0
    assert min(s["n"] for s in body["signals"]) >= 10
    ic025 = [s["ic025"] for s in body["signals"]]
    assert ic025 == sorted(ic025, reverse=True)


BAD = {
    "missing column": ("id,var1,event\n1,KRATOM,NAUSEA\n", "column", "var2"),
    "empty file": ("", "file", None),
    "header only": ("id,var1,var2\n", "file", None),
    "empty product": ("id,var1,var2\n1,KRATOM,NAUSEA\n2,,VOMITING\n", "var1", ""),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_named_in_the_one_error_shape(tmp_path: Path, case: str) -> None:
    text, field, value = BAD[case]
    path = tmp_path / "reports.csv"
    path.write_text(text)
    result = runner.invoke(app, [*scan(path), "--json"])
    assert result.exit_code == 2, result.output
    error = json.loads(result.output)["error"]
    assert error["field"] == field and error["value"] == (str(path) if value is None else value)
    assert error["message"]
    plain = runner.invoke(app, ["signals", "ingest", str(path), "--format", "openebgm"])
    # (the console wraps a long path: compare without the line breaks)
    assert plain.exit_code == 2 and "".join(plain.output.split()).startswith(f"error:{field}=")
    assert "Traceback" not in plain.output
    assert ingest.units("openebgm") == []  # nothing stored from a bad file


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,var1,var2\n1,CAF\xc9INE,NAUSEA\n".encode("latin-1"))
    result = runner.invoke(app, [*scan(path), "--json"])
    assert result.exit_code == 2
    assert "UTF-8" in json.loads(result.output)["error"]["message"]


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [("--method", "prr,magic", "method"), ("--format", "xml", "format"), ("--min-count", "-1", "min_count")],
)
def test_bad_options_are_named(option: str, value: str, field: str) -> None:
    result = runner.invoke(app, [*scan(CAERS), option, value, "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["field"] == field


def test_kratom_spellings_are_counted_as_one_product_and_the_rest_listed(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_text(
        "id,var1,var2\n1,KRATOM POWDER,NAUSEA\n2,Mitragyna speciosa,SEIZURE\n2,OXYCODONE,SEIZURE\n"
        "3,7-OHMZ,WITHDRAWAL SYNDROME\n4,OXYCODONE,NAUSEA\n5,ROXYTABS,WITHDRAWAL SYNDROME\n6,kratom,SEIZURE\n"
        "7,HERBAL BLEND X,NAUSEA\n"
    )
    args = [*scan(path), "--json", "--method", "prr,ic", "--min-count", "1"]
    body = json.loads(runner.invoke(app, [*args, "--drug", "kratom"]).output)
    names = body["names"]
    assert names["products"] == {"kratom": 3, "seven_oh": 2, "mitragynine_pseudoindoxyl": 0}
    assert names["review"] == [["ROXYTABS", "seven_oh", 1]]  # a brand alone: to be reviewed
    assert names["by_basis"]["ingredient_index"] == 2  # OXYCODONE through the ingredient index
    assert names["unmatched_total"] == 1 and names["unmatched_top"] == [["HERBAL BLEND X", 1]]
    assert {(s["drug"], s["event"], s["n"]) for s in body["signals"]} == {
        ("kratom", "SEIZURE", 2),
        ("kratom", "NAUSEA", 1),
    }
    as_reported = json.loads(runner.invoke(app, [*args, "--as-reported", "--drug", "kratom"]).output)
    assert as_reported["names"]["products"]["kratom"] == 0
    assert [(s["drug"], s["n"]) for s in as_reported["signals"]] == [("kratom", 1)]


def test_when_the_ebgm_prior_cannot_be_fitted_the_other_methods_stand(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_text("id,var1,var2\n1,A,X\n2,A,Y\n3,B,X\n4,B,Z\n5,C,Y\n")
    body = json.loads(runner.invoke(app, [*scan(path), "--json", "--min-count", "1"]).output)
    assert body["fit"] is None
    assert body["notes"] and body["notes"][0].startswith("EBGM not computed")
    assert body["sorted_by"] == "ic025" and all("ebgm" not in s and "prr" in s for s in body["signals"])
