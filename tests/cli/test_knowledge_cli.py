"""`score`, `check`, `legal`, `evidence` from the command line (no database)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app

runner = CliRunner()


def run_json(*args: str) -> tuple[int, object]:
    result = runner.invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.output)


def test_score_phq9_example_from_the_issue() -> None:
    """PHQ-9 (Kroenke 2001, PMID 11556941): eight items at 1 and item 9 at 0 -> 8, mild (5-9), no flag."""
    code, payload = run_json("score", "phq9", "1", "1", "1", "1", "1", "1", "1", "1", "0")
    assert code == 0
    assert payload["scales"][0]["value"] == 8 and payload["scales"][0]["band"]["id"] == "mild"
    assert "suicidality" not in [f["id"] for f in payload["flags"]]


def test_score_flags_item_9_whatever_the_total() -> None:
    code, payload = run_json("score", "phq9", "0", "0", "0", "0", "0", "0", "0", "0", "1")
    assert code == 0 and "suicidality" in [f["id"] for f in payload["flags"]]


def test_score_dsm5_supervised_drops_tolerance_and_withdrawal() -> None:
    """DSM-5 SUD (PMC7993020): tolerance and withdrawal do not count under medical supervision."""
    answers = ["1", "0", "0", "1", "0", "0", "0", "0", "0", "1", "1"]
    _, plain = run_json("score", "dsm5_sud", *answers)
    _, supervised = run_json("score", "dsm5_sud", *answers, "--supervised")
    assert plain["scales"][0]["value"] == 4 and supervised["scales"][0]["value"] == 2


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("score", "phq10", "1"), "instrument"),
        (("score", "phq9", "1", "1"), "answers"),
        (("score", "phq9", "1", "1", "1", "1", "1", "1", "1", "1", "7"), "answers"),
        (("score", "cows", "3", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"), "answers"),
    ],
)
def test_score_errors(args: tuple[str, ...], field: str) -> None:
    code, payload = run_json(*args)
    assert code == 2 and payload["error"]["field"] == field  # type: ignore[index]


def test_check_brand_names_and_unmatched_entries() -> None:
    code, payload = run_json("check", "Xanax 0.5 mg", "Suboxone", "zzzqqq")
    assert code == 0
    ingredients = {f["ingredient_id"] for f in payload["findings"]}  # type: ignore[index]
    assert {"alprazolam", "buprenorphine"} <= ingredients
    assert payload["highest_severity"] == "major"  # type: ignore[index]
    assert [m["entered"] for m in payload["unresolved"]] == ["zzzqqq"]  # type: ignore[index]
    assert all(f["sources"] for f in payload["findings"])  # type: ignore[index]


def test_legal_on_a_date_and_with_a_product() -> None:
    _, before = run_json("legal", "US-AL", "--on", "2016-05-09")
    _, after = run_json("legal", "US-AL", "--on", "2016-05-10")
    assert before["status"] != "banned" and after["status"] == "banned"  # type: ignore[index]
    code, bad = run_json("legal", "ZZ-99")
    assert code == 2 and bad["error"]["field"] == "jurisdiction"  # type: ignore[index]
    code, bad_date = run_json("legal", "US-TX", "--on", "21/11/2026")
    assert code == 2 and bad_date["error"]["field"] == "on"  # type: ignore[index]


def test_evidence_lists_graded_claims() -> None:
    code, payload = run_json("evidence")
    assert code == 0
    claims = {c["id"]: c for c in payload}  # type: ignore[union-attr]
    assert claims["adhd"]["certainty"] in {"very_low", "no_human_evidence"}
    assert all(c["sources"] and c["as_of"] for c in claims.values())
    code, bad = run_json("evidence", "cures-everything")
    assert code == 2 and bad["error"]["field"] == "claim"  # type: ignore[index]


def test_check_reports_naloxone_on_file_and_asks_to_confirm_an_approximate_name() -> None:
    """Narcan is a rescue medication on file, never an interaction; 'xanex' is a question, not alprazolam."""
    result = runner.invoke(app, ["check", "Narcan", "xanex", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["findings"] == [] and payload["highest_severity"] is None
    assert [p["ingredient_id"] for p in payload["positives"]] == ["naloxone"]
    assert payload["to_confirm"] == [{"entered": "xanex", "suggestions": ["xanax"]}]
    assert payload["knowledge_as_of"]
    text = runner.invoke(app, ["check", "Narcan", "xanex"]).output
    assert "ON FILE" in text and "CONFIRM THIS MEDICATION" in text and "MAJOR" not in text


def test_legal_without_a_date_names_today() -> None:
    import datetime as dt

    from typer.testing import CliRunner

    from kratomwatch.cli import app

    before = dt.datetime.now(dt.UTC).date()
    result = CliRunner().invoke(app, ["legal", "US-FL"])
    after = dt.datetime.now(dt.UTC).date()
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert "None" not in first
    assert any(f"on {day} (today, UTC)" in first for day in {before, after}), first
