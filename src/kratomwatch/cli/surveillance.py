"""``kratomwatch surveillance signals FILE --layout openebgm``: disproportionality (PRR, ROR, IC, EBGM) for every
product-event pair of a spontaneous-report file (``kratomwatch.surveillance``; docs/surveillance.md).

Needs no database: the counts and the results are written as Parquet under ``KRATOMWATCH_HOME/surveillance/``.
Bad input (unreadable, empty or non-UTF-8 file, a missing column, an empty id/product/event, an unknown layout or
method, a negative --min-count or --top) is one line naming the option and its value, exit 2. Every output says
that spontaneous reports cannot give incidence or causation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from kratomwatch.cli import console, progress, reporting
from kratomwatch.cli.signals import _fmt, _number
from kratomwatch.core.errors import InputError

surveillance_app = typer.Typer(
    help="Population safety surveillance on public adverse-event reports (signals, not causes).", no_args_is_help=True
)

LAYOUTS = ("openebgm", "faers")
SORT_KEYS = ("eb05", "ic025", "ror_lower95", "prr")
# The plain table keeps one or two numbers per method (--json has every column).
PLAIN_COLUMNS = (
    ("drug", "product"),
    ("event", "event"),
    ("n", "n"),
    ("expected", "E"),
    ("prr", "PRR"),
    ("prr_signal", "Evans"),
    ("ror_lower95", "ROR low95"),
    ("ic025", "IC025"),
    ("ebgm", "EBGM"),
    ("eb05", "EB05"),
)


@surveillance_app.command("signals")
def signals(
    file: Annotated[
        Path,
        typer.Argument(
            help="openebgm: a CSV (id, var1, var2 [, strat*]); faers: a quarterly ASCII zip (or its directory), or "
            "a directory of quarter zips"
        ),
    ],
    layout: Annotated[str, typer.Option(help="Input layout: openebgm or faers")] = "openebgm",
    role: Annotated[str, typer.Option(help="faers: drug role counted: ps, suspect (PS+SS) or any")] = "suspect",
    method: Annotated[
        str, typer.Option("--method", help="prr, ror, ic and/or ebgm, comma separated")
    ] = "prr,ror,ic,ebgm",
    min_count: Annotated[int, typer.Option("--min-count", help="Show pairs with at least this many reports")] = 3,
    top: Annotated[int, typer.Option("--top", help="Show this many pairs (0: all)")] = 20,
    stratify: Annotated[bool, typer.Option("--stratify", help="Expected counts by the strat* columns")] = False,
    normalise: Annotated[
        bool,
        typer.Option(
            "--normalise/--as-reported",
            help="Count every kratom, 7-OH or mitragynine pseudoindoxyl spelling as one product (kratom, seven_oh, "
            "mitragynine_pseudoindoxyl); other names stay as reported",
        ),
    ] = True,
    drug: Annotated[str | None, typer.Option("--drug", help="List only this product (e.g. kratom)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Screen every product-event pair for disproportionate reporting; the pairs with the highest lower bound
    (EB05, else IC025, else ROR lower 95%, else PRR) come first. A signal is a reason to read the reports."""
    from kratomwatch.surveillance import CAVEAT, names, openebgm, store
    from kratomwatch.surveillance import signals as surveillance_signals

    started = time.perf_counter()
    with reporting(as_json=as_json):
        if layout.strip().lower() not in LAYOUTS:
            raise InputError("layout", layout, f"layouts are: {', '.join(LAYOUTS)}")
        methods = surveillance_signals.parse_methods(method)
        if min_count < 0:
            raise InputError("min_count", min_count, "--min-count must be 0 or more")
        if top < 0:
            raise InputError("top", top, "--top must be 0 or more")
        faers_report: dict[str, Any] | None = None
        if layout.strip().lower() == "faers":
            rows, faers_report, content = _faers(file, role)
        else:
            rows = openebgm.read(file)
            content = file.read_bytes()
        names_summary = None
        if normalise:
            rows, names_summary = names.normalise(rows, "var1")
        counts = openebgm.count_pairs(rows, stratify=stratify)
        name = store.dataset_name(file, content)
        store.write(name, "counts", counts)
        with progress(quiet=as_json) as bar:
            task = bar.add_task("signals", total=len(surveillance_signals.STEPS))

            def step(label: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"signals: {label}")

            result = surveillance_signals.compute(counts, methods, progress=step)
        signals_path = store.write(name, "signals", result.table)
    table = result.table.filter(pl.col("n") >= min_count)
    if drug is not None:
        wanted = drug.strip().casefold()
        table = table.filter(pl.col("drug").str.strip_chars().str.to_lowercase() == wanted)
    key = next(k for k in SORT_KEYS if k in table.columns)
    table = table.sort([key, "n"], descending=True, nulls_last=True)
    shown = table if top == 0 else table.head(top)
    summary: dict[str, Any] = {
        "caveat": CAVEAT,
        "file": str(file),
        "layout": layout,
        "reports": int(counts["N_tot"][0]) if counts.height else 0,
        "pairs": counts.height,
        "pairs_at_min_count": table.height,
        "min_count": min_count,
        "methods": list(methods),
        "stratified": stratify and bool(openebgm.strata_columns(rows)),
        "small_strata": openebgm.small_strata(rows) if stratify else [],
        "drug": drug,
        "faers": faers_report,
        "names": None if names_summary is None else _names(names_summary),
        "hyperparameters": None if result.fit is None else result.fit.to_dict(),
        "squashed_points": result.squashed_points,
        "notes": result.notes,
        "sorted_by": key,
        "store": str(signals_path.parent),
        "seconds": round(time.perf_counter() - started, 3),
        "step_seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }
    if as_json:
        summary["signals"] = [{k: _number(v) for k, v in row.items()} for row in shown.iter_rows(named=True)]
        print(json.dumps(summary, indent=2))
        return
    _print(summary, shown)


def _faers(path: Path, role: str) -> tuple[pl.DataFrame, dict[str, Any], bytes]:
    """Read FAERS quarters (one zip or directory, or a directory of zips), de-duplicated to the latest version of
    each case, deleted cases dropped; the rows in the openEBGM layout, a report of what was read and dropped, and
    the bytes that name the dataset."""
    from kratomwatch.surveillance import faers

    if not path.exists():
        raise InputError("file", str(path), "no such file or directory")
    zips = sorted(path.glob("*.zip")) if path.is_dir() else []
    paths = zips or [path]
    quarters = faers.read_quarters(paths)
    ingested = faers.to_openebgm(quarters, role=role)
    if ingested.rows.height == 0:
        raise InputError("file", str(path), f"no case has both a drug of role {role!r} and a reaction")
    report = {
        "quarters": sorted(q.name for q in quarters),
        "role": role,
        "reports_read": ingested.reports_read,
        "cases_kept": ingested.cases_kept,
        "older_versions_dropped": ingested.versions_dropped,
        "deleted_cases_dropped": ingested.deleted_dropped,
        "rejected_lines": ingested.rejects,
        "encodings": ingested.encodings,
    }
    content = b"".join(p.read_bytes() for p in paths if p.is_file()) or str(sorted(paths)).encode()
    return ingested.rows, report, content + role.encode()


UNMATCHED_LISTED = 20


def _names(summary: Any) -> dict[str, Any]:
    """Kratom/7-OH name matching: rows per concept, rows matched on a brand alone (to review), and the unmatched
    names (counted; the most frequent listed, the full list is in counts.parquet as reported)."""
    return {
        "matched_rows": summary.matched,
        "matched_by_brand_only_rows": summary.by_brand_only,
        "unmatched_rows": summary.unmatched_rows,
        "unmatched_names": len(summary.unmatched),
        "unmatched_most_frequent": [[name, count] for name, count in summary.unmatched[:UNMATCHED_LISTED]],
    }


def _print(summary: dict[str, Any], shown: pl.DataFrame) -> None:
    console.print(
        f"{summary['reports']} reports, {summary['pairs']} product-event pairs "
        f"({summary['pairs_at_min_count']} with at least {summary['min_count']} reports); "
        f"{summary['seconds']} s. Stored in {summary['store']}.",
        markup=False,
        highlight=False,
    )
    hypers = summary["hyperparameters"]
    if hypers is not None:
        console.print(
            "GPS prior: alpha1 {alpha1:.4f}, beta1 {beta1:.4f}, alpha2 {alpha2:.4f}, beta2 {beta2:.4f}, P {p:.4f} "
            "(fitted on {pts} squashed points)".format(**hypers, pts=summary["squashed_points"]),
            markup=False,
            highlight=False,
        )
    if summary["faers"] is not None:
        f = summary["faers"]
        console.print(
            f"FAERS {', '.join(f['quarters'])}: {f['reports_read']} reports read, {f['older_versions_dropped']} older "
            f"case versions and {f['deleted_cases_dropped']} deleted cases dropped, {f['cases_kept']} cases kept; "
            f"{sum(f['rejected_lines'].values())} malformed lines rejected; drugs of role {f['role']}.",
            markup=False,
            highlight=False,
        )
    if summary["names"] is not None:
        found = summary["names"]
        matched = ", ".join(f"{k} {v}" for k, v in sorted(found["matched_rows"].items())) or "none"
        brand = ", ".join(f"{k} {v}" for k, v in sorted(found["matched_by_brand_only_rows"].items()))
        console.print(
            f"Names: rows matched to kratom/7-OH concepts: {matched}"
            + (f" (on a brand name alone, to review: {brand})" if brand else "")
            + f"; {found['unmatched_rows']} rows under {found['unmatched_names']} other product names,"
            " kept as reported.",
            markup=False,
            highlight=False,
        )
    for note in summary["notes"]:
        console.print(note, markup=False, highlight=False)
    if summary["small_strata"]:
        console.print(
            "Strata with fewer than 50 reports (unstable expected counts): " + ", ".join(summary["small_strata"]),
            markup=False,
        )
    table = Table(title=f"Pairs by {summary['sorted_by']} (highest first); Evans: PRR criteria met")
    columns = [(c, label) for c, label in PLAIN_COLUMNS if c in shown.columns]
    for column, label in columns:
        table.add_column(label, justify="left" if column in ("drug", "event") else "right", overflow="fold")
    for row in shown.iter_rows(named=True):
        table.add_row(*(_fmt(row[c]) for c, _ in columns))
    console.print(table)
    console.print(summary["caveat"], markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(surveillance_app, name="surveillance")
