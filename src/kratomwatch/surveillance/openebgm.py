"""The openEBGM layout: a CSV with one row per (report, product, event): ``id`` (report), ``var1`` (product),
``var2`` (event) and optional ``strat*`` columns (strata, e.g. sex or age band). The same input openEBGM's
``processRaw`` takes, so any implementation can be compared on it.

Counting follows ``processRaw`` (openEBGM 0.9.1) exactly: N is the number of unique report ids per pair; the
margins are unique report ids per product (``N_v1``), per event (``N_v2``) and in total (``N_tot``), so a report
naming a product twice counts once; E = N_v1 · N_v2 / N_tot, or stratified E = Σ_s N_v1,s · N_v2,s / N_tot,s.
Only pairs that occur are kept (``zeroes = FALSE``).

Bad input is an :class:`~kratomwatch.core.errors.InputError` naming what is wrong: an unreadable, empty or
non-UTF-8 file, a missing column, an empty id, product or event (with its line number).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from kratomwatch.core.errors import InputError
from kratomwatch.surveillance import store

__all__ = ["REQUIRED", "count_pairs", "read"]

REQUIRED = ("id", "var1", "var2")
MIN_STRATUM_REPORTS = 50  # openEBGM warns below this many unique reports in a stratum


def read(path: Path) -> pl.DataFrame:
    """The rows of an openEBGM-layout CSV, every column as text (ids are identifiers, not numbers), values
    trimmed. Raises ``InputError(field="file" | "column" | <column>, ...)`` on bad input."""
    raw = store.read_bytes(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        raise InputError(
            "file", str(path), f"the file is not UTF-8 text (byte {problem.start}); save it as UTF-8 CSV"
        ) from None
    try:
        frame = pl.read_csv(raw, infer_schema=False, truncate_ragged_lines=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as problem:
        first = str(problem).splitlines()[0] if str(problem) else "unreadable CSV"
        raise InputError("file", str(path), f"not a readable CSV file: {first}") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            "column",
            missing[0],
            f"the openEBGM layout needs the columns id, var1 (product) and var2 (event); {missing[0]!r} is missing",
        )
    if frame.height == 0:
        raise InputError("file", str(path), "the file has a header but no rows")
    keep = [*REQUIRED, *sorted(c for c in frame.columns if c.startswith("strat"))]
    frame = frame.select([pl.col(c).str.strip_chars() for c in keep])
    for column in REQUIRED:
        blank = frame.with_row_index("line").filter(pl.col(column).is_null() | (pl.col(column) == ""))
        if blank.height:
            line = int(blank["line"][0]) + 2  # 1-based, after the header
            raise InputError(column, "", f"line {line}: {column} is empty ({blank.height} rows have no {column})")
    return frame


def strata_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("strat")]


def count_pairs(frame: pl.DataFrame, *, stratify: bool = False) -> pl.DataFrame:
    """One row per (var1, var2) that occurs: N, N_v1, N_v2, N_tot and E, sorted by var1 then var2 (as
    ``processRaw`` returns them). ``stratify`` uses every ``strat*`` column (their combinations are the strata)."""
    actual = frame.group_by("var1", "var2").agg(pl.col("id").n_unique().alias("N"))
    v1 = frame.group_by("var1").agg(pl.col("id").n_unique().alias("N_v1"))
    v2 = frame.group_by("var2").agg(pl.col("id").n_unique().alias("N_v2"))
    total = frame["id"].n_unique()
    counts = actual.join(v1, on="var1").join(v2, on="var2").with_columns(pl.lit(total).alias("N_tot"))
    strata = strata_columns(frame)
    if not stratify or not strata:
        counts = counts.with_columns(
            (pl.col("N_v1").cast(pl.Float64) / pl.col("N_tot").cast(pl.Float64) * pl.col("N_v2")).alias("E")
        )
    else:
        with_stratum = frame.with_columns(
            pl.concat_str([pl.col(c).fill_null("") for c in strata], separator="-").alias("stratum")
        )
        v1s = with_stratum.group_by("var1", "stratum").agg(pl.col("id").n_unique().alias("n1s"))
        v2s = with_stratum.group_by("var2", "stratum").agg(pl.col("id").n_unique().alias("n2s"))
        ts = with_stratum.group_by("stratum").agg(pl.col("id").n_unique().alias("ns"))
        expected = (
            actual.select("var1", "var2")
            .join(v1s, on="var1")
            .join(v2s, on=["var2", "stratum"])
            .join(ts, on="stratum")
            .group_by("var1", "var2")
            .agg((pl.col("n1s").cast(pl.Float64) / pl.col("ns") * pl.col("n2s")).sum().alias("E"))
        )
        counts = counts.join(expected, on=["var1", "var2"], how="left").with_columns(pl.col("E").fill_null(0.0))
    return counts.select("var1", "var2", "N", "N_v1", "N_v2", "N_tot", "E").sort("var1", "var2")


def small_strata(frame: pl.DataFrame) -> list[str]:
    """Strata with fewer than 50 unique reports (openEBGM warns about them: their expected counts are unstable)."""
    strata = strata_columns(frame)
    if not strata:
        return []
    sizes = (
        frame.with_columns(pl.concat_str([pl.col(c).fill_null("") for c in strata], separator="-").alias("stratum"))
        .group_by("stratum")
        .agg(pl.col("id").n_unique().alias("n"))
        .filter(pl.col("n") < MIN_STRATUM_REPORTS)
        .sort("stratum")
    )
    return [str(s) for s in sizes["stratum"].to_list()]
