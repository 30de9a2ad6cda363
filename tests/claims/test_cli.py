"""``kratomwatch claims check`` and ``claims evaluate``: text, Markdown and HTML files or standard input, JSON the
API's document, bad input in the one error shape (exit 2). No database."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kratomwatch.cli import app

runner = CliRunner()


def test_check_a_file_in_plain_words(tmp_path: Path) -> None:
    article = tmp_path / "article.md"
    article.write_text("# Kratom\n\nKratom is non-addictive. Kratom may ease pain for some users.\n", encoding="utf-8")
    result = runner.invoke(app, ["claims", "check", str(article)])
    assert result.exit_code == 0, result.output
    assert "FACTUAL ERROR" in result.output and "Kratom is non-addictive." in result.output
    assert "consistent with the evidence" in result.output and "1 factual errors" in result.output


def test_check_standard_input_as_json_is_the_api_document() -> None:
    result = runner.invoke(app, ["claims", "check", "-", "--json"], input="<p>Kratom <i>cures</i> ADHD.</p>")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {"findings", "summary"}
    (finding,) = body["findings"]
    assert finding["verdict"] == "overclaim" and finding["claim"] == "adhd" and finding["grade"] == "no_human_evidence"
    assert finding["sentence"] == "Kratom cures ADHD." and (finding["start"], finding["end"]) == (0, 18)


def test_bad_files_are_one_line_naming_the_problem(tmp_path: Path) -> None:
    binary = tmp_path / "photo.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    result = runner.invoke(app, ["claims", "check", str(binary)])
    assert result.exit_code == 2 and result.output.startswith("error: file='NUL byte': ")
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"kratom is safe. " * 20_000)
    result = runner.invoke(app, ["claims", "check", str(huge), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert error["field"] == "file" and "200,000 bytes" in error["message"]
    result = runner.invoke(app, ["claims", "check", "-"], input="")
    assert result.exit_code == 2 and "there is no text to check" in result.output


def test_evaluate_prints_precision_and_recall_per_half() -> None:
    result = runner.invoke(app, ["claims", "evaluate", "--half", "holdout", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {"holdout", "errors"}
    assert body["holdout"]["per_verdict"]["overclaim"]["recall"] >= 0.9
    assert all(e["half"] == "holdout" for e in body["errors"])
    plain = runner.invoke(app, ["claims", "evaluate"])
    assert plain.exit_code == 0 and "development" in plain.output and "holdout" in plain.output
    assert "hedged statements flagged: 0" in plain.output
