"""Disproportionality over everything ingested for a format: de-duplicate, name products, count, score, and
write the analysis (``KRATOMWATCH_HOME/surveillance/analyses/<name>/``: summary.json, signals.parquet, trend,
years, outcomes and co-reported products for the watched products kratom, 7-OH and mitragynine pseudoindoxyl).

Set-based throughout: every step is a Polars join or aggregate over whole columns; the only Python loops are over
ingested units (quarters) and over the distinct product names (tens of thousands, for matching).

1. **De-duplication** (the FDA's rule for FAERS): every case (``caseid``) keeps its latest version across all
   units: highest ``version``, then latest ``fda_dt``, then the latest unit, then the highest ``primaryid``; then
   every caseid on a deleted-case list is dropped. CAERS and openEBGM reports have no versions: the same report id
   in two files is counted once (the later file's copy).
2. **Products**: each distinct (drug name, active ingredient) is named once, in this order: a kratom, 7-OH or
   mitragynine pseudoindoxyl spelling (``names.py``; on the name, then on ``prod_ai``), then an exact or synonym
   match in the project's ingredient index (knowledge/ingredients.yaml; never a fuzzy match, so one drug is never
   turned into another), then ``prod_ai`` as published, then the name as published (upper case, spaces
   collapsed). How many rows each basis named is reported; the names matched by nothing but their own text are
   listed with their counts.
3. **Counting** (openEBGM's ``processRaw``): the unit is the case; N = cases naming the pair; margins are cases
   per product and per event among the cases that name at least one product (of the chosen role) and one event;
   E = n1. n.1 / N, or with strata the sum over strata. Units are counted one at a time and summed (a case's
   kept version lives in exactly one unit), so memory follows the largest quarter, not the whole database.
4. **Statistics**: ``signals.compute`` (PRR, ROR, IC, GPS/EBGM; formulas in ``core/disproportionality.py``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from kratomwatch.core import disproportionality as dp
from kratomwatch.core.errors import InputError
from kratomwatch.core.screening.text import clean_text
from kratomwatch.knowledge.loader import medication_index
from kratomwatch.surveillance import CAVEAT, ingest, names, signals, store

__all__ = ["AGE_BANDS", "ROLES", "STRATA", "WATCHED", "ScanResult", "analysis_dir", "scan"]

ROLES = {"ps": ("PS",), "suspect": ("PS", "SS"), "any": None}
STRATA = ("sex", "age", "year", "strat")
# Age bands for stratification: a program choice (not a published standard), shown in the output.
AGE_BANDS = ((0, 18, "<18"), (18, 45, "18-44"), (45, 65, "45-64"), (65, 200, "65+"))
WATCHED = ("kratom", "seven_oh", "mitragynine_pseudoindoxyl")
OUTCOME_LABELS = {  # FAERS outc_cod (ASC_NTS; NBER OUTC desc.txt)
    "DE": "Death",
    "LT": "Life-threatening",
    "HO": "Hospitalization",
    "DS": "Disability",
    "CA": "Congenital anomaly",
    "RI": "Required intervention",
    "OT": "Other serious",
}
Progress = Callable[[str, int, int], None]


@dataclass
class ScanResult:
    summary: dict[str, Any]
    seconds: dict[str, float]
    table: pl.DataFrame
    path: Path


def analysis_dir(name: str) -> Path:
    return store.home() / "analyses" / name


def _units(fmt: str, collection: str, only: list[str] | None) -> list[str]:
    found = [name for name, _ in ingest.units(fmt, collection)]
    if only is not None:
        found = [u for u in found if u in only]
    if not found:
        raise InputError(
            "format",
            fmt,
            f"nothing ingested for {fmt}: run `kratomwatch signals ingest PATH --format {fmt}` first",
            code="not_found",
        )
    return found


def _read(root: Path, unit: str, table: str) -> pl.LazyFrame | None:
    path = root / unit / f"{table}.parquet"
    return pl.scan_parquet(path) if path.is_file() else None


def _event(fmt: str) -> pl.Expr:
    """FAERS and CAERS event terms are compared trimmed and upper case (MedDRA terms appear in both cases over the
    years); openEBGM-layout events are taken as given, as openEBGM does."""
    term = pl.col("pt").str.strip_chars()
    return term if fmt == "openebgm" else term.str.to_uppercase()


def _dedup(root: Path, units: list[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """The kept version of every case: unit, primaryid, caseid, period (quarter of first receipt), year, sex,
    age_years, strat."""
    frames = [
        lf.select(
            pl.lit(u).alias("unit"),
            "primaryid",
            "caseid",
            "version",
            "fda_dt",
            "init_fda_dt",
            "sex",
            "age_years",
            "strat",
        )
        for u in units
        if (lf := _read(root, u, "cases")) is not None
    ]
    cases = pl.concat(frames).collect()
    read = cases.height
    latest = cases.sort(["caseid", "version", "fda_dt", "unit", "primaryid"], descending=True, nulls_last=True).unique(
        subset=["caseid"], keep="first"
    )
    deleted_frames = [lf.select("caseid") for u in units if (lf := _read(root, u, "deleted")) is not None]
    deleted_ids = pl.concat(deleted_frames).collect().unique() if deleted_frames else pl.DataFrame({"caseid": []})
    kept = latest.join(deleted_ids.with_columns(pl.col("caseid").cast(pl.String)), on="caseid", how="anti")
    first = pl.col("init_fda_dt")
    kept = kept.with_columns(
        pl.when(first.is_not_null())
        .then(pl.format("{}Q{}", first.dt.year(), first.dt.quarter()))
        .otherwise(pl.col("unit").str.extract(r"^(\d{4}Q[1-4])$"))
        .alias("period"),
        first.dt.year().cast(pl.Int32).alias("year"),
    )
    stats = {
        "reports_read": read,
        "versions_dropped": read - latest.height,
        "deleted_dropped": latest.height - kept.height,
        "cases_kept": kept.height,
    }
    return kept.drop("version", "fda_dt"), stats


def _stratum(kept: pl.DataFrame, strata: tuple[str, ...]) -> pl.DataFrame:
    parts: list[pl.Expr] = []
    for s in strata:
        if s == "sex":
            parts.append(pl.col("sex").fill_null("unknown sex"))
        elif s == "age":
            age = pl.col("age_years")
            band = pl.lit("unknown age")
            for low, high, label in reversed(AGE_BANDS):
                band = pl.when((age >= low) & (age < high)).then(pl.lit(label)).otherwise(band)
            parts.append(band)
        elif s == "year":
            parts.append(pl.col("year").cast(pl.String).fill_null("unknown year"))
        elif s == "strat":
            parts.append(pl.col("strat").fill_null(""))
    if not parts:
        return kept.with_columns(pl.lit("all").alias("stratum"))
    return kept.with_columns(pl.concat_str(parts, separator=" / ").alias("stratum"))


def _label(drugname: str | None, prod_ai: str | None, index: Any) -> tuple[str, str]:
    """(product label, basis) for one distinct (name, active ingredient)."""
    for text in (drugname, prod_ai):
        if text:
            found = names.matcher().match(text)
            if found is not None:
                return found.concept, f"watched_{found.basis}"
    for text in (prod_ai, drugname):
        if text:
            ids = index.terms.get(clean_text(text))
            if ids:
                label = " + ".join(sorted(index.ingredients[i].display_name.upper() for i in ids))
                return label, "ingredient_index"
    if prod_ai:
        return names.canonical(prod_ai), "prod_ai"
    return names.canonical(drugname or ""), "as_reported"


def _products(root: Path, units: list[str], allowed: tuple[str, ...] | None, as_reported: bool) -> pl.DataFrame:
    """drugname, prod_ai -> product (label), basis, rows: each distinct pair named once."""
    frames = []
    for u in units:
        lf = _read(root, u, "drugs")
        if lf is None:
            continue
        frames.append(lf.group_by("drugname", "prod_ai").agg(pl.len().alias("rows")))
    distinct = pl.concat(frames).collect().group_by("drugname", "prod_ai").agg(pl.col("rows").sum())
    index = medication_index()
    labels: list[str] = []
    bases: list[str] = []
    for drugname, prod_ai in distinct.select("drugname", "prod_ai").iter_rows():
        if as_reported:
            label, basis = (drugname or "").strip(), "as_reported"
        else:
            label, basis = _label(drugname, prod_ai, index)
        labels.append(label)
        bases.append(basis)
    return distinct.with_columns(
        pl.Series("product", labels, dtype=pl.String), pl.Series("basis", bases, dtype=pl.String)
    ).filter(pl.col("product") != "")


def scan(
    fmt: str = "faers",
    *,
    role: str = "ps",
    strata: tuple[str, ...] = (),
    methods: tuple[str, ...] = signals.METHODS,
    progress: Progress | None = None,
    name: str | None = None,
    only_units: list[str] | None = None,
    as_reported: bool = False,
    collection: str = "public",
) -> ScanResult:
    """Score every (product, event) pair of the ingested units of ``fmt`` and write the analysis."""
    if fmt not in ingest.FORMATS:
        raise InputError("format", fmt, f"formats are: {', '.join(ingest.FORMATS)}")
    if role not in ROLES:
        raise InputError("role", role, f"roles are: {', '.join(ROLES)}")
    for s in strata:
        if s not in STRATA:
            raise InputError("stratify", s, f"strata are: {', '.join(STRATA)}")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now - clock
        clock = now

    units = _units(fmt, collection, only_units)
    root = ingest.source_dir(fmt, collection)
    total_steps = len(units) + 4
    if progress is not None:
        progress("de-duplicating", 0, total_steps)
    kept, stats = _dedup(root, units)
    kept = _stratum(kept, strata)
    lap("dedup")
    allowed = ROLES[role]
    products = _products(root, units, allowed, as_reported)
    product_codes = products.select("product").unique().sort("product").with_row_index("d")
    product_map = products.join(product_codes, on="product").select("drugname", "prod_ai", pl.col("d").cast(pl.Int32))
    event_frames = [lf.select("pt") for u in units if (lf := _read(root, u, "reactions")) is not None]
    events = (
        pl.concat(event_frames)
        .select(_event(fmt))
        .unique()
        .collect()
        .filter(pl.col("pt").is_not_null() & (pl.col("pt") != ""))
        .sort("pt")
        .with_row_index("e")
        .with_columns(pl.col("e").cast(pl.Int32))
    )
    lap("normalise")
    watched_codes = product_codes.filter(pl.col("product").is_in(list(WATCHED))).with_columns(
        pl.col("d").cast(pl.Int32)
    )
    parts: Parts = {k: [] for k in PART_KEYS}
    by_unit = kept.select("unit", "primaryid", "stratum", "period", "year").partition_by("unit", as_dict=True)
    del kept
    for step, unit in enumerate(units, start=1):
        if progress is not None:
            progress(f"counting {unit}", step, total_steps)
        keys = by_unit.pop((unit,), None)
        if keys is not None:
            _count_unit(fmt, root, unit, keys.drop("unit"), allowed, product_map, events, watched_codes, parts)
    lap("count")

    counts, total = _margins(parts, strata, product_codes, events)
    if counts.height == 0:
        raise InputError("format", fmt, "no case names both a product (of the chosen role) and an event")
    lap("margins")
    if progress is not None:
        progress("statistics", len(units) + 1, total_steps)
    result = signals.compute(counts, methods)
    seconds |= result.seconds
    clock = time.perf_counter()
    if progress is not None:
        progress("views", len(units) + 2, total_steps)
    views = _views(product_codes, events, parts)
    lap("views")
    label = name or f"{fmt}-{role}" + (f"-by-{'-'.join(strata)}" if strata else "")
    summary: dict[str, Any] = {
        "name": label,
        "format": fmt,
        "collection": collection,
        "synthetic": collection == "demo",
        "role": role,
        "strata": list(strata),
        "age_bands": [b[2] for b in AGE_BANDS] if "age" in strata else None,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "units": units,
        **stats,
        "cases_counted": total,
        "rejects": _rejects(fmt, collection, units),
        "pairs": result.table.height,
        "fit": _fit(result.fit),
        "squashed_points": result.squashed_points,
        "notes": result.notes,
        "caveat": CAVEAT,
        "names": _names_summary(products),
        "watched": list(WATCHED),
    }
    if progress is not None:
        progress("writing", len(units) + 3, total_steps)
    path = _write(label, result.table, views, summary, seconds, clock)
    if progress is not None:
        progress("done", total_steps, total_steps)
    return ScanResult(summary=summary, seconds=seconds, table=result.table, path=path)


PART_KEYS = ("pairs", "d", "e", "n", "trend_pairs", "trend_e", "trend_d", "trend_n", "watched", "co", "outcomes")
Parts = dict[str, list[pl.DataFrame]]


def _count_unit(  # noqa: PLR0917
    fmt: str,
    root: Path,
    unit: str,
    keys: pl.DataFrame,
    allowed: tuple[str, ...] | None,
    product_map: pl.DataFrame,
    events: pl.DataFrame,
    watched_codes: pl.DataFrame,
    parts: Parts,
) -> None:
    """Count one unit's kept cases into ``parts``: pairs and margins by stratum, and the watched products' views
    (by period of first receipt, year, outcome and co-reported product)."""
    if keys.height == 0:
        return
    drugs_lf = _read(root, unit, "drugs")
    reac_lf = _read(root, unit, "reactions")
    if drugs_lf is None or reac_lf is None:
        return
    all_drugs = (
        drugs_lf.select("primaryid", "role", "drugname", "prod_ai")
        .collect()
        .join(keys.select("primaryid"), on="primaryid", how="semi")
        .join(product_map, on=["drugname", "prod_ai"], how="inner", nulls_equal=True)
    )
    chosen = all_drugs if allowed is None else all_drugs.filter(pl.col("role").is_in(list(allowed)))
    drug = chosen.select("primaryid", "d").unique()
    reac = (
        reac_lf.select("primaryid", _event(fmt))
        .collect()
        .join(keys.select("primaryid"), on="primaryid", how="semi")
        .join(events, on="pt", how="inner")
        .select("primaryid", "e")
        .unique()
    )
    both = drug.select("primaryid").unique().join(reac.select("primaryid").unique(), on="primaryid")
    cases = keys.join(both, on="primaryid")
    drug = drug.join(cases.select("primaryid", "stratum", "period"), on="primaryid")
    reac = reac.join(cases.select("primaryid", "stratum", "period"), on="primaryid")
    pairs = drug.join(reac.select("primaryid", "e"), on="primaryid")
    parts["pairs"].append(pairs.group_by("stratum", "d", "e").agg(pl.len().alias("n")))
    parts["d"].append(drug.group_by("stratum", "d").agg(pl.len().alias("n")))
    parts["e"].append(reac.group_by("stratum", "e").agg(pl.len().alias("n")))
    parts["n"].append(cases.group_by("stratum").agg(pl.len().alias("n")))
    # Views for the watched products (small): by period of first receipt.
    wdrug = drug.join(watched_codes.select("d"), on="d", how="semi")
    parts["trend_pairs"].append(
        pairs.join(watched_codes.select("d"), on="d", how="semi")
        .join(cases.select("primaryid", "period"), on="primaryid")
        .group_by("period", "d", "e")
        .agg(pl.len().alias("n"))
    )
    parts["trend_e"].append(reac.group_by("period", "e").agg(pl.len().alias("n")))
    parts["trend_d"].append(wdrug.group_by("period", "d").agg(pl.len().alias("n")))
    parts["trend_n"].append(cases.group_by("period").agg(pl.len().alias("n")))
    wcases = (
        all_drugs.join(watched_codes.select("d"), on="d", how="semi")
        .select("primaryid", "d")
        .unique()
        .join(keys.select("primaryid", "year"), on="primaryid")
    )
    parts["watched"].append(wcases)
    parts["co"].append(
        wcases.select("primaryid", pl.col("d").alias("w"))
        .join(all_drugs.select("primaryid", "d").unique(), on="primaryid")
        .filter(pl.col("d") != pl.col("w"))
        .group_by("w", "d")
        .agg(pl.len().alias("n"))
    )
    outc_lf = _read(root, unit, "outcomes")
    if outc_lf is not None:
        parts["outcomes"].append(
            outc_lf.select("primaryid", pl.col("outc_cod").str.to_uppercase())
            .collect()
            .unique()
            .join(wcases.select("primaryid", "d"), on="primaryid")
            .group_by("d", "outc_cod")
            .agg(pl.len().alias("n"))
        )


def _margins(
    parts: Parts, strata: tuple[str, ...], product_codes: pl.DataFrame, events: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    """Sum the units' counts: one row per pair with N, N_v1, N_v2, N_tot and E (stratified: Σ_s n1s n2s / Ns over
    the strata where both margins exist), as ``openebgm.count_pairs`` gives; and the number of cases counted."""

    def summed(parts: list[pl.DataFrame], keys: list[str], schema: dict[str, Any]) -> pl.DataFrame:
        if not parts:
            return pl.DataFrame(schema=schema | {"n": pl.UInt32})
        return pl.concat(parts).group_by(keys).agg(pl.col("n").sum())

    pairs_s = summed(parts["pairs"], ["stratum", "d", "e"], {"stratum": pl.String, "d": pl.Int32, "e": pl.Int32})
    d_s = summed(parts["d"], ["stratum", "d"], {"stratum": pl.String, "d": pl.Int32})
    e_s = summed(parts["e"], ["stratum", "e"], {"stratum": pl.String, "e": pl.Int32})
    n_s = summed(parts["n"], ["stratum"], {"stratum": pl.String})
    if pairs_s.height == 0:
        return pl.DataFrame(), 0
    actual = pairs_s.group_by("d", "e").agg(pl.col("n").sum().alias("N"))
    n1 = d_s.group_by("d").agg(pl.col("n").sum().alias("N_v1"))
    n2 = e_s.group_by("e").agg(pl.col("n").sum().alias("N_v2"))
    total = int(n_s["n"].sum())
    counts = actual.join(n1, on="d").join(n2, on="e").with_columns(pl.lit(total).alias("N_tot"))
    if strata:
        # Strata where the pair was not reported still add to E: Σ over every stratum where both margins exist.
        full = (
            actual.select("d", "e")
            .join(d_s.rename({"n": "n1s"}), on="d")
            .join(e_s.rename({"n": "n2s"}), on=["stratum", "e"])
            .join(n_s.rename({"n": "ns"}), on="stratum")
            .group_by("d", "e")
            .agg((pl.col("n1s").cast(pl.Float64) / pl.col("ns") * pl.col("n2s")).sum().alias("E"))
        )
        counts = counts.join(full, on=["d", "e"], how="left").with_columns(pl.col("E").fill_null(0.0))
    else:
        counts = counts.with_columns(
            (pl.col("N_v1").cast(pl.Float64) / pl.col("N_tot").cast(pl.Float64) * pl.col("N_v2")).alias("E")
        )
    counts = (
        counts.join(product_codes.with_columns(pl.col("d").cast(pl.Int32)), on="d")
        .join(events, on="e")
        .select(pl.col("product").alias("var1"), pl.col("pt").alias("var2"), "N", "N_v1", "N_v2", "N_tot", "E")
        .sort("var1", "var2")
    )
    return counts, total


def _fit(fit: dp.GPSFit | None) -> dict[str, float] | None:
    if fit is None:
        return None
    alpha1, beta1, alpha2, beta2, p = (float(x) for x in fit.theta)
    return {"alpha1": alpha1, "beta1": beta1, "alpha2": alpha2, "beta2": beta2, "p": p, "minimum": float(fit.minimum)}


def _rejects(fmt: str, collection: str, units: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, manifest in ingest.units(fmt, collection):
        if name in units:
            out |= {k: int(v) for k, v in manifest.get("rejects", {}).items() if v}
    return out


def _names_summary(products: pl.DataFrame) -> dict[str, Any]:
    by_basis = products.group_by("basis").agg(pl.col("rows").sum())
    watched = products.filter(pl.col("basis").str.starts_with("watched")).group_by("product").agg(pl.col("rows").sum())
    review = (
        products.filter(pl.col("basis") == "watched_brand")
        .sort("rows", descending=True)
        .select(pl.col("drugname").fill_null(""), "product", "rows")
    )
    unmatched = products.filter(pl.col("basis") == "as_reported").sort(["rows", "product"], descending=[True, False])
    return {
        "products": {p: int(watched.filter(pl.col("product") == p)["rows"].sum()) for p in WATCHED},
        "by_basis": {str(b): int(r) for b, r in by_basis.iter_rows()},
        "review": [[str(a), str(b), int(c)] for a, b, c in review.iter_rows()],
        "unmatched_total": int(unmatched["rows"].sum()),
        "unmatched_distinct": unmatched.height,
        "unmatched_top": [[str(p), int(r)] for p, r in unmatched.select("product", "rows").head(50).iter_rows()],
    }


def _views(
    product_codes: pl.DataFrame,
    events: pl.DataFrame,
    parts: Parts,
) -> dict[str, pl.DataFrame]:
    codes = product_codes.with_columns(pl.col("d").cast(pl.Int32))

    def cat(parts: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
        return pl.concat(parts).group_by(keys).agg(pl.col("n").sum()) if parts else pl.DataFrame()

    # IC by period, cumulative: counts and margins summed up to the end of each period.
    tp = cat(parts["trend_pairs"], ["period", "d", "e"])
    trend = pl.DataFrame(
        schema={
            "product": pl.String,
            "event": pl.String,
            "period": pl.String,
            "n_cum": pl.Int64,
            "expected_cum": pl.Float64,
            "ic": pl.Float64,
            "ic025": pl.Float64,
            "ic975": pl.Float64,
        }
    )
    if tp.height:
        te = cat(parts["trend_e"], ["period", "e"]).join(tp.select("e").unique(), on="e", how="semi")
        td = cat(parts["trend_d"], ["period", "d"])
        tn = cat(parts["trend_n"], ["period"])
        periods = tn.select("period").filter(pl.col("period").is_not_null()).sort("period")
        grid = tp.select("d", "e").unique().join(periods, how="cross")
        cum = (
            grid.join(tp, on=["period", "d", "e"], how="left")
            .join(te.rename({"n": "n2"}), on=["period", "e"], how="left")
            .join(td.rename({"n": "n1"}), on=["period", "d"], how="left")
            .join(tn.rename({"n": "nt"}), on="period", how="left")
            .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("n", "n1", "n2", "nt"))
            .sort("d", "e", "period")
            .with_columns(pl.col(c).cum_sum().over("d", "e").alias(f"{c}_cum") for c in ("n", "n1", "n2", "nt"))
            .filter(pl.col("n1_cum") > 0)
        )
        expected = (cum["n1_cum"].cast(pl.Float64) * cum["n2_cum"] / cum["nt_cum"]).to_numpy()
        ic = dp.ic(cum["n_cum"].to_numpy().astype(np.float64), expected)
        trend = (
            cum.with_columns(
                pl.Series("expected_cum", expected),
                pl.Series("ic", ic.ic),
                pl.Series("ic025", ic.ic025),
                pl.Series("ic975", ic.ic975),
            )
            .join(codes, on="d")
            .join(events, on="e")
            .select(
                "product",
                pl.col("pt").alias("event"),
                "period",
                pl.col("n_cum").cast(pl.Int64),
                "expected_cum",
                "ic",
                "ic025",
                "ic975",
            )
            .sort("product", "event", "period")
        )
    wc = pl.concat(parts["watched"]) if parts["watched"] else pl.DataFrame(schema={"d": pl.Int32, "year": pl.Int32})
    years = (
        wc.filter(pl.col("year").is_not_null())
        .group_by("d", "year")
        .agg(pl.len().cast(pl.Int64).alias("reports"))
        .join(codes, on="d")
        .select("product", pl.col("year").cast(pl.Int32), "reports")
        .sort("product", "year")
    )
    co = cat(parts["co"], ["w", "d"])
    coreported = (
        co.join(codes.rename({"d": "w", "product": "product"}), on="w")
        .join(codes.rename({"product": "drug"}), on="d")
        .select("product", "drug", pl.col("n").cast(pl.Int64).alias("reports"))
        .sort(["product", "reports", "drug"], descending=[False, True, False])
        .group_by("product", maintain_order=True)
        .head(50)
        if co.height
        else pl.DataFrame(schema={"product": pl.String, "drug": pl.String, "reports": pl.Int64})
    )
    oc = cat(parts["outcomes"], ["d", "outc_cod"])
    outcomes = (
        oc.filter(pl.col("outc_cod").is_in(list(OUTCOME_LABELS)))
        .join(codes, on="d")
        .select(
            "product",
            pl.col("outc_cod").alias("outcome"),
            pl.col("outc_cod").replace_strict(OUTCOME_LABELS, default="").alias("label"),
            pl.col("n").cast(pl.Int64).alias("reports"),
        )
        .sort(["product", "reports"], descending=[False, True])
        if oc.height
        else pl.DataFrame(schema={"product": pl.String, "outcome": pl.String, "label": pl.String, "reports": pl.Int64})
    )
    return {"trend": trend, "years": years, "coreported": coreported, "outcomes": outcomes}


def _write(  # noqa: PLR0917
    label: str,
    table: pl.DataFrame,
    views: dict[str, pl.DataFrame],
    summary: dict[str, Any],
    seconds: dict[str, float],
    clock: float,
) -> Path:
    """Build the analysis in a temporary folder and swap it in; summary.json is written last."""

    def build(folder: Path) -> None:
        table.write_parquet(folder / "signals.parquet")
        for view, frame in views.items():
            frame.write_parquet(folder / f"{view}.parquet")
        seconds["write"] = time.perf_counter() - clock
        summary["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
        (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default), "utf-8")

    return store.swap_in(store.home() / "analyses", label, build)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
