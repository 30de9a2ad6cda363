"""`kratomwatch nof1 analyze FILE.csv`: a CSV end to end (the JSON contract), and each bad input is one line
naming the problem, exit 2, no traceback. No database is touched."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.cli.nof1 import parse_csv
from kratomwatch.core.errors import InputError

runner = CliRunner()
HEADER = "date,condition,outcome,block,washout,exposure_mg\n"


def trial_csv(effect: float = -1.5, *, seed: int = 3) -> str:
    """2 conditions x 4 blocks x 2 periods of 14 days, 2 washout days per period, a few missing outcomes."""
    rng = np.random.default_rng(seed)
    day = dt.date(2026, 9, 1)
    e = 0.0
    lines = [HEADER]
    for block in range(1, 5):
        for condition in rng.permutation(["usual", "reduced"]):
            for i in range(14):
                e = 0.5 * e + rng.normal() * 0.87
                y = 5 + (effect if condition == "reduced" else 0.0) + e
                mg = (40 if condition == "usual" else 20) + rng.normal() * 3
                out = "" if (block, i, condition) == (2, 5, "usual") else f"{y:.2f}"
                lines.append(f"{day},{condition},{out},{block},{1 if i < 2 else 0},{mg:.1f}\n")
                day += dt.timedelta(days=1)
    return "".join(lines)


def _run(tmp_path: Path, content: str | bytes, *args: str) -> Any:
    path = tmp_path / "trial.csv"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return runner.invoke(app, ["nof1", "analyze", str(path), *args])


def test_csv_end_to_end_json(tmp_path: Path) -> None:
    result = _run(tmp_path, trial_csv(), "--reference", "usual", "--mcid", "1", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["reference"] == "usual"
    assert body["lower_is_better"] is True
    assert body["mcid"] == 1.0
    reduced = body["conditions"]["reduced"]
    assert set(reduced) == {"effect", "interval_95", "prob_better", "prob_better_by_mcid", "n_days_used", "frequentist"}
    low, high = reduced["interval_95"]
    assert low < reduced["effect"] < high < 0  # a clear benefit of 1.5 points is found
    assert reduced["prob_better"] > 0.95
    assert 0 <= reduced["prob_better_by_mcid"] <= reduced["prob_better"]
    assert reduced["n_days_used"] == 4 * 12  # 2 washout days per period excluded
    assert body["reference_n_days_used"] == 4 * 12 - 1  # and the one missing outcome
    f_low, f_high = reduced["frequentist"]["interval_95"]
    assert f_low < reduced["frequentist"]["effect"] < f_high
    assert 0 <= reduced["frequentist"]["p_value"] < 0.05
    assert "AR(1)" in body["model"]
    assert -0.9 <= body["rho"] <= 0.95
    assert [row["extra_washout_days"] for row in body["sensitivity"]] == [0, 1, 2, 3]
    assert body["exposure_adjusted"]["status"] == "estimated"
    assert "never recommends a dose" in body["caveat"]


def test_text_output_without_mcid_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path, trial_csv(), "--higher-is-better")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # Rich wraps lines at the terminal width
    assert "No MCID was given" in text
    assert "higher outcome is better" in text
    assert "never recommends a dose" in text


def test_higher_is_better_flips_the_probability(tmp_path: Path) -> None:
    lower = json.loads(_run(tmp_path, trial_csv(), "--reference", "usual", "--json").stdout)
    higher = json.loads(_run(tmp_path, trial_csv(), "--reference", "usual", "--higher-is-better", "--json").stdout)
    p_low = lower["conditions"]["reduced"]["prob_better"]
    assert higher["conditions"]["reduced"]["prob_better"] == pytest.approx(1 - p_low)
    assert higher["conditions"]["reduced"]["prob_better_by_mcid"] is None


def _replace_line(text: str, n: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[n] = new
    return "".join(lines)


GOOD = trial_csv()
BAD_INPUTS = {
    "unknown reference": (GOOD, ("--reference", "placebo"), "placebo"),
    "non-numeric outcome": (_replace_line(GOOD, 3, "2026-09-03,usual,bad,1,0,40\n"), (), "line 4: outcome 'bad'"),
    "duplicate date": (_replace_line(GOOD, 3, "2026-09-02,usual,4,1,0,40\n"), (), "2026-09-02 already appears"),
    "missing column": (GOOD.replace("outcome", "score", 1), (), "'outcome'"),
    "empty file": ("", (), "empty"),
    "undecodable bytes": ("date,condition,outcome\n2026-09-01,A,\xff\n".encode("latin-1"), (), "not UTF-8"),
    "bad date": (_replace_line(GOOD, 3, "03/09/2026,usual,4,1,0,40\n"), (), "not YYYY-MM-DD"),
    "bad washout": (_replace_line(GOOD, 3, "2026-09-03,usual,4,1,maybe,40\n"), (), "washout 'maybe'"),
    "one block": ("date,condition,outcome,block\n2026-09-01,A,1,1\n2026-09-02,B,2,1\n", (), "two blocks"),
    "one condition": ("date,condition,outcome\n2026-09-01,A,1\n2026-09-02,A,2\n", (), "at least two"),
    "no rows": (HEADER, (), "no rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_naming_the_problem(tmp_path: Path, case: str) -> None:
    content, args, expected = BAD_INPUTS[case]
    result = _run(tmp_path, content, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in " ".join(result.output.split())
    as_json = _run(tmp_path, content, *args, "--json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["error"]["message"]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["nof1", "analyze", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2
    assert "absent.csv" in result.output


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_parser_never_fails_except_with_input_error(data: bytes) -> None:
    try:
        trial = parse_csv(data)
    except InputError as problem:
        assert problem.message
    else:
        assert len(trial.day) == len(trial.condition)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet='date,conditionu01234-.\n"\r x', max_size=200))
def test_parser_on_csv_like_text(text: str) -> None:
    try:
        trial = parse_csv(("date,condition,outcome\n" + text).encode())
    except InputError as problem:
        assert problem.message
    else:
        assert len(trial.outcome) == len(trial.day)
