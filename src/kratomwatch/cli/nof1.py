"""``kratomwatch nof1 analyze FILE.csv``: analyse any n-of-1 data set (one patient, randomized periods) with the
engine in ``core/nof1.py``; no database, so researchers can use it on trials run elsewhere (docs/nof1.md).

CSV columns: ``date`` (YYYY-MM-DD, one row per day), ``condition``, ``outcome`` (a number, or empty for a missing
day); optional ``block`` (an integer), ``washout`` (0/1, true/false, yes/no; empty means 0) and ``exposure_mg``
(the measured mg that day, for the exposure-adjusted estimate). Bad input (a missing column, a non-numeric
outcome, a duplicate date, an unknown ``--reference``, an empty or undecodable file) is one line naming the row
and the value, exit 2, no traceback. The result is about one patient over that period; it never recommends a dose.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kratomwatch.cli import console, reporting
from kratomwatch.core import nof1
from kratomwatch.core.errors import InputError

nof1_app = typer.Typer(help="N-of-1 trials: one patient, randomized periods, an honest answer.", no_args_is_help=True)

REQUIRED = ("date", "condition", "outcome")
TRUE = {"1", "true", "yes", "y"}
FALSE = {"0", "false", "no", "n", ""}
MAX_BYTES = 50_000_000


def _number(text: str, column: str, line: int, *, allow_empty: bool) -> float:
    text = text.strip()
    if not text and allow_empty:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise InputError(column, text, f"line {line}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(column, text, f"line {line}: {column} {text!r} is not a finite number")
    return value


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise InputError("file", len(data), f"the file is larger than {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise InputError("file", f"byte {problem.start}", "the file is not UTF-8 text (save it as CSV UTF-8)") from None
    if "\x00" in text:
        raise InputError("file", "NUL", "the file is not a text CSV (it contains NUL bytes)")
    return text


def _date(text: str, line: int, seen: dict[dt.date, int]) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InputError("date", text, f"line {line}: date {text!r} is not YYYY-MM-DD") from None
    if day in seen:
        raise InputError("date", text, f"line {line}: date {day} already appears on line {seen[day]}")
    seen[day] = line
    return day


def _block(text: str, line: int) -> int:
    block = _number(text, "block", line, allow_empty=False)
    if block != int(block):
        raise InputError("block", text, f"line {line}: block {text!r} is not a whole number")
    return int(block)


def _washout(text: str, line: int) -> bool:
    if text.lower() not in TRUE | FALSE:
        raise InputError("washout", text, f"line {line}: washout {text!r} is not 0/1 (or true/false)")
    return text.lower() in TRUE


def parse_csv(data: bytes) -> nof1.Trial:
    """The CSV bytes as a :class:`nof1.Trial` (day 0 = the first date); ``InputError`` naming line and value."""
    reader = csv.DictReader(io.StringIO(_decode(data), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InputError("file", "", "the file is empty: expected a header line date,condition,outcome")
    reader.fieldnames = header
    for column in REQUIRED:
        if column not in header:
            raise InputError("column", column, f"the header has no {column!r} column (it has {header})")
    dates: list[dt.date] = []
    conditions: list[str] = []
    outcomes: list[float] = []
    optional: dict[str, list[Any]] = {"block": [], "washout": [], "exposure_mg": []}
    seen: dict[dt.date, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise InputError("row", line, f"line {line} has more fields than the header")
        cells = {k: (v or "").strip() for k, v in row.items()}
        dates.append(_date(cells["date"], line, seen))
        if not cells["condition"]:
            raise InputError("condition", "", f"line {line}: the condition is empty")
        conditions.append(cells["condition"])
        outcomes.append(_number(cells["outcome"], "outcome", line, allow_empty=True))
        if "block" in header:
            optional["block"].append(_block(cells["block"], line))
        if "washout" in header:
            optional["washout"].append(_washout(cells["washout"], line))
        if "exposure_mg" in header:
            optional["exposure_mg"].append(_number(cells["exposure_mg"], "exposure_mg", line, allow_empty=True))
    if not dates:
        raise InputError("file", "", "the file has a header but no rows")
    first = min(dates)
    given = {name: (values if name in header else None) for name, values in optional.items()}
    return nof1.Trial.of(
        [(d - first).days for d in dates],
        conditions,
        outcomes,
        block=given["block"],
        washout=given["washout"],
        exposure_mg=given["exposure_mg"],
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print(result: dict[str, Any]) -> None:
    better = "lower" if result["lower_is_better"] else "higher"
    table = Table(title=f"Each condition against {result['reference']} ({better} outcome is better)")
    for column in ("Condition", "Effect", "95% credible interval", "P(better)", "P(better by MCID)", "Days used"):
        table.add_column(column)
    table.add_column("GLS effect (95% CI)")
    for name, c in result["conditions"].items():
        low, high = c["interval_95"]
        f_low, f_high = c["frequentist"]["interval_95"]
        table.add_row(
            name,
            _fmt(c["effect"]),
            f"{_fmt(low)} to {_fmt(high)}",
            _fmt(c["prob_better"]),
            _fmt(c["prob_better_by_mcid"]),
            str(c["n_days_used"]),
            f"{_fmt(c['frequentist']['effect'])} ({_fmt(f_low)} to {_fmt(f_high)})",
        )
    console.print(table)
    console.print(f"Reference {result['reference']}: {result['reference_n_days_used']} days used.")
    if result["mcid"] is None:
        console.print("No MCID was given (--mcid), so P(better by MCID) is not computed.")
    console.print(f"Model: {result['model']}. Posterior mean rho {result['rho']:.2f}.")
    for row in result["sensitivity"]:
        extra = row["extra_washout_days"]
        if "error" in row:
            console.print(f"Dropping {extra} more day(s) at the start of each period: {row['error']}")
            continue
        parts = ", ".join(
            f"{name} {_fmt(c['effect'])} ({_fmt(c['interval_95'][0])} to {_fmt(c['interval_95'][1])})"
            for name, c in row["conditions"].items()
        )
        console.print(f"Dropping {extra} more day(s) at the start of each period: {parts}")
    adjusted = result["exposure_adjusted"]
    if adjusted is not None and adjusted["status"] == "estimated":
        parts = ", ".join(f"{name} {_fmt(c['effect'])}" for name, c in adjusted["conditions"].items())
        slope = adjusted["per_10_mg"]
        console.print(
            f"Adjusted for the measured mg: {parts}; per 10 mg {_fmt(slope['effect'])} "
            f"({_fmt(slope['interval_95'][0])} to {_fmt(slope['interval_95'][1])}). {adjusted['note']}"
        )
    elif adjusted is not None:
        console.print(f"Exposure-adjusted estimate not estimable: {adjusted['reason']}")
    console.print(result["caveat"])


@nof1_app.command("analyze")
def analyze(
    file: Annotated[Path, typer.Argument(help="CSV: date, condition, outcome [, block, washout, exposure_mg]")],
    reference: Annotated[
        str | None, typer.Option(help="The reference condition (default: the first condition in date order)")
    ] = None,
    mcid: Annotated[float | None, typer.Option(help="Minimal clinically important difference, outcome units")] = None,
    lower_is_better: Annotated[
        bool, typer.Option("--lower-is-better/--higher-is-better", help="Direction of benefit (pain: lower)")
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the posterior sampler (results are reproducible)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Analyse an n-of-1 trial: each condition minus the reference, Bayesian (AR(1), block effects) and
    frequentist, with washout sensitivity. One patient, this period: never a dosing recommendation."""
    with reporting(as_json=as_json):
        try:
            data = file.read_bytes()
        except OSError as problem:
            raise InputError("file", str(file), f"cannot read the file: {problem.strerror}") from None
        trial = parse_csv(data)
        ref = reference if reference is not None else trial.condition[0]
        result = nof1.analyse(trial, ref, mcid=mcid, lower_is_better=lower_is_better, seed=seed).to_dict()
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)


def register(app: typer.Typer) -> None:
    app.add_typer(nof1_app, name="nof1")
