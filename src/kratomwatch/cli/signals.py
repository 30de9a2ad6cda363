"""``kratomwatch signals ingest`` and ``kratomwatch signals scan``: public spontaneous-report data (FAERS quarters,
CAERS exports, openEBGM-layout files) into the analytical store, and disproportionality (PRR, ROR, IC, EBGM) for
every product-event pair of what was ingested (``kratomwatch.surveillance``; docs/surveillance.md).

Needs no database. Bad input is one line naming the option or file and the value, exit 2; a unit (a quarter, a
file) is ingested whole or not at all. Every output says that spontaneous reports cannot give incidence or
causation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.progress import TaskID
from rich.table import Table

from kratomwatch.cli import console, progress, reporting
from kratomwatch.core.errors import InputError

signals_app = typer.Typer(
    help="Disproportionality signals in public adverse-event reports (FAERS, CAERS): ingest, then scan.",
    no_args_is_help=True,
)

COLUMNS = (
    "drug",
    "event",
    "n",
    "expected",
    "prr",
    "prr_chi2",
    "ror",
    "ror_lower95",
    "ror_upper95",
    "ic",
    "ic025",
    "ebgm",
    "eb05",
    "eb95",
)
SORT_KEYS = ("eb05", "ic025", "ror_lower95", "prr")
SHOWN = (
    ("drug", "product"),
    ("event", "event"),
    ("n", "n"),
    ("expected", "E"),
    ("prr", "PRR"),
    ("ror_lower95", "ROR low95"),
    ("ic025", "IC025"),
    ("ebgm", "EBGM"),
    ("eb05", "EB05"),
)


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "inf" if value == math.inf else "n/a" if not math.isfinite(value) else f"{value:.2f}"
    return str(value)


def _format(value: str) -> str:
    from kratomwatch.surveillance.ingest import FORMATS

    chosen = value.strip().lower()
    if chosen not in FORMATS:
        raise InputError("format", value, f"formats are: {', '.join(FORMATS)}")
    return chosen


def _exists(paths: list[Path]) -> None:
    for path in paths:
        if not path.exists():
            raise InputError("file", str(path), "no such file or directory")


class _Bar:
    """A progress bar that appears once the first step is done, so an error in the first file is one plain line
    (the CLI's one error shape), not a bar followed by the error."""

    def __init__(self, quiet: bool, prefix: str = "") -> None:
        self.bar = progress(quiet=quiet)
        self.prefix = prefix
        self.task: TaskID | None = None

    def __enter__(self) -> Callable[[str, int, int], None]:
        return self.step

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:
            self.bar.stop()

    def step(self, label: str, done: int, total: int) -> None:
        if done < 1:
            return
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(self.prefix + label, total=total)
        self.bar.update(self.task, completed=done, total=total, description=self.prefix + label)


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


@signals_app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="faers: quarterly ASCII zips (or unpacked quarter folders, or a folder of them); caers: CAERS CSV "
            "exports; openebgm: CSVs with id, var1, var2 [, strat*]"
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help="faers, caers or openebgm")] = "faers",
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a unit already ingested from a different file")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Read each quarter or file whole, check it, and store it (Parquet under KRATOMWATCH_HOME/surveillance/);
    the same file again changes nothing."""
    from kratomwatch.surveillance import ingest

    with reporting(as_json=as_json):
        chosen = _format(fmt)
        _exists(paths)
        with _Bar(as_json, "ingest: ") as step:
            report = ingest.ingest(paths, chosen, progress=step, replace=replace)
    out = {
        "format": report.format,
        "units": [
            {
                "unit": u.name,
                "status": u.status,
                "layout": u.layout,
                "rows": u.rows,
                "rejected_lines": u.rejects,
                "encodings": u.encodings,
                "unknown_columns": u.unknown_columns,
                "seconds": round(u.seconds, 3),
            }
            for u in report.units
        ],
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
    }
    if as_json:
        print(json.dumps(out, indent=2))
        return
    for u in report.units:
        rejected = sum(u.rejects.values())
        latin = [f for f, e in u.encodings.items() if e != "utf-8"]
        _say(
            f"{u.name}: {u.status}"
            + (f" ({u.layout})" if u.layout else "")
            + f"; {u.rows.get('cases', 0)} reports, {u.rows.get('drugs', 0)} drug rows, "
            f"{u.rows.get('reactions', 0)} reaction rows; {rejected} malformed lines rejected"
            + (f"; read as Latin-1: {', '.join(latin)}" if latin else "")
        )
        for label, columns in u.unknown_columns.items():
            _say(f"  {label}: columns not in the published layout, not read: {', '.join(columns)}")


@signals_app.command("scan")
def scan_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="Ingest this file or folder first and scan only it (default: everything ingested)"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="faers, caers or openebgm")] = "faers",
    role: Annotated[str, typer.Option(help="Drugs counted: ps (primary suspect), suspect (PS+SS) or any")] = "ps",
    stratify: Annotated[
        str, typer.Option("--stratify", help="Strata for expected counts, comma separated: sex, age, year, strat")
    ] = "",
    method: Annotated[str, typer.Option("--method", help="prr, ror, ic and/or ebgm, comma separated")] = (
        "prr,ror,ic,ebgm"
    ),
    drug: Annotated[str | None, typer.Option("--drug", help="Write and list only this product (e.g. kratom)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write one row per pair to this CSV file")] = None,
    min_count: Annotated[int, typer.Option("--min-count", help="List pairs with at least this many reports")] = 3,
    top: Annotated[int, typer.Option("--top", help="List this many pairs (0: all)")] = 20,
    as_reported: Annotated[
        bool, typer.Option("--as-reported", help="Keep product names as reported (no kratom or ingredient naming)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary and listed pairs as JSON")] = False,
) -> None:
    """Score every product-event pair (PRR with chi-squared, ROR with 95% CI, IC with IC025, EBGM with EB05 and
    EB95). A signal is a reason to read the reports, not a finding of harm."""
    from kratomwatch.surveillance import ingest, scan, signals

    with reporting(as_json=as_json):
        chosen = _format(fmt)
        methods = signals.parse_methods(method)
        strata = tuple(s.strip().lower() for s in stratify.split(",") if s.strip())
        if min_count < 0:
            raise InputError("min_count", min_count, "--min-count must be 0 or more")
        if top < 0:
            raise InputError("top", top, "--top must be 0 or more")
        if out is not None and (out.is_dir() or not out.parent.is_dir()):
            raise InputError("out", str(out), "--out must be a file in an existing folder")
        if role.strip().lower() not in scan.ROLES:
            raise InputError("role", role, f"roles are: {', '.join(scan.ROLES)}")
        for s in strata:
            if s not in scan.STRATA:
                raise InputError("stratify", s, f"strata are: {', '.join(scan.STRATA)}")
        _exists([] if path is None else [path])
        only: list[str] | None = None
        with _Bar(as_json) as step:
            if path is not None:
                report = ingest.ingest([path], chosen, progress=step)
                only = [u.name for u in report.units]
            result = scan.scan(
                chosen,
                role=role.strip().lower(),
                strata=strata,
                methods=methods,
                progress=step,
                only_units=only,
                as_reported=as_reported,
            )
        table = result.table
        if drug is not None:
            wanted = drug.strip().casefold()
            table = table.filter(pl.col("drug").str.to_lowercase() == wanted)
            if table.height == 0:
                raise InputError("drug", drug, "no pair names this product in the scanned reports")
        key = next(k for k in SORT_KEYS if k in table.columns)
        table = table.sort([key, "n"], descending=True, nulls_last=True)
        if out is not None:
            missing = [pl.lit(None, dtype=pl.Float64).alias(c) for c in COLUMNS if c not in table.columns]
            table.with_columns(missing).select(COLUMNS).write_csv(out, float_precision=6)
    listed = table.filter(pl.col("n") >= min_count)
    shown = listed if top == 0 else listed.head(top)
    summary = result.summary | {
        "analysis": str(result.path),
        "out": None if out is None else str(out),
        "drug": drug,
        "sorted_by": key,
        "pairs_listed": listed.height,
        "seconds_total": round(sum(result.seconds.values()), 3),
    }
    if as_json:
        summary["signals"] = [{k: _number(v) for k, v in row.items()} for row in shown.iter_rows(named=True)]
        print(json.dumps(summary, indent=2, default=str))
        return
    _print(summary, shown, min_count)


def _print(summary: dict[str, Any], shown: pl.DataFrame, min_count: int) -> None:
    _say(
        f"{summary['format']} ({', '.join(summary['units'])}): {summary['reports_read']} reports read, "
        f"{summary['versions_dropped']} older versions and {summary['deleted_dropped']} deleted cases dropped, "
        f"{summary['cases_kept']} cases kept, {summary['cases_counted']} counted (role {summary['role']}); "
        f"{summary['pairs']} product-event pairs; {summary['seconds_total']} s."
    )
    rejected = sum(summary["rejects"].values())
    if rejected:
        _say(f"Malformed lines rejected: {rejected} ({', '.join(f'{k} {v}' for k, v in summary['rejects'].items())}).")
    fit = summary["fit"]
    if fit is not None:
        _say(
            "GPS prior: alpha1 {alpha1:.4f}, beta1 {beta1:.4f}, alpha2 {alpha2:.4f}, beta2 {beta2:.4f}, "
            "P {p:.4f} (on {pts} squashed points)".format(**fit, pts=summary["squashed_points"])
        )
    found = summary["names"]
    _say(
        "Names: rows named kratom "
        f"{found['products']['kratom']}, 7-OH {found['products']['seven_oh']}, mitragynine pseudoindoxyl "
        f"{found['products']['mitragynine_pseudoindoxyl']}; {len(found['review'])} names matched on a brand alone "
        f"(to review); {found['unmatched_total']} rows under {found['unmatched_distinct']} names matched to no "
        "ingredient, kept as reported."
    )
    if summary["strata"]:
        _say(f"Expected counts by stratum: {', '.join(summary['strata'])}.")
    for note in summary["notes"]:
        _say(note)
    if summary["out"]:
        _say(f"Wrote {summary['out']}.")
    table = Table(title=f"Pairs with n >= {min_count}, by {summary['sorted_by']} (highest first)")
    columns = [(c, label) for c, label in SHOWN if c in shown.columns]
    for column, label in columns:
        table.add_column(label, justify="left" if column in ("drug", "event") else "right", overflow="fold")
    for row in shown.iter_rows(named=True):
        table.add_row(*(_fmt(row[c]) for c, _ in columns))
    console.print(table)
    _say(summary["caveat"])


def register(app: typer.Typer) -> None:
    app.add_typer(signals_app, name="signals")
