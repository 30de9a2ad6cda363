"""What the researcher's surveillance page and its API read: one analysis directory
(``KRATOMWATCH_HOME/surveillance/analyses/<name>/``, written by ``surveillance.scan``) as plain typed rows.

No Django here: the page (``web/surveillance.py``) and the API (``api/surveillance.py``) both call these functions,
so a filter means the same in both and a bad value is the same :class:`~kratomwatch.core.errors.InputError` naming
the field and the value. An analysis exists only once its ``summary.json`` is written (it is written last); before
that, :func:`load` raises :class:`NoAnalysis`, whose message says how to make one.

"Signals only" follows the usual screening thresholds: EB05 >= 2 (DuMouchel W., "Bayesian data mining in large
frequency tables, with an application to the FDA spontaneous reporting system", Am Stat 1999;53:177-190; Szarfman A.
et al., Drug Saf 2002;25:381-392) or, where the EBGM prior could not be fitted, IC025 > 0 (Bate A. et al., "A
Bayesian neural network method for adverse drug reaction signal generation", Eur J Clin Pharmacol 1998;54:315-321;
Noren G.N. et al., Stat Methods Med Res 2013;22:57-69).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.surveillance import CAVEAT, store

__all__ = [
    "HOW_TO_MAKE",
    "PRODUCTS",
    "SORTS",
    "Analysis",
    "NoAnalysis",
    "SignalPage",
    "SignalQuery",
    "analyses",
    "coreported",
    "default_event",
    "load",
    "outcomes",
    "parse_query",
    "scatter_points",
    "signals",
    "trend",
    "trend_events",
    "years",
]

#: The watched products, by concept name, with the label shown to people.
PRODUCTS: dict[str, str] = {
    "kratom": "Kratom",
    "seven_oh": "7-OH",
    "mitragynine_pseudoindoxyl": "Mitragynine pseudoindoxyl",
}
#: The columns a signals table may be sorted by (a whitelist: the value is never passed to polars unchecked).
SORTS: tuple[str, ...] = ("eb05", "ebgm", "ic025", "ic", "prr", "ror", "n", "expected", "event")
NUMBER_COLUMNS: tuple[str, ...] = (
    "expected",
    "prr",
    "prr_lower95",
    "prr_upper95",
    "prr_chi2",
    "ror",
    "ror_lower95",
    "ror_upper95",
    "ic",
    "ic025",
    "ic975",
    "ebgm",
    "eb05",
    "eb95",
)
HOW_TO_MAKE = (
    "kratomwatch signals ingest DIR --format faers",
    "kratomwatch signals scan --format faers",
)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_EVENT_TEXT = 200
MAX_PAGE = 1_000_000
PAGE_SIZE = 25
MAX_PAGE_SIZE = 500
EB05_THRESHOLD = 2.0
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class NoAnalysis(NotFound):
    """No complete analysis of that name (no ``summary.json`` yet): the message says how to make one."""

    code = "no_analysis"


def _how() -> str:
    return f"make one with `{HOW_TO_MAKE[0]}` then `{HOW_TO_MAKE[1]}`"


def root() -> Path:
    """``KRATOMWATCH_HOME/surveillance/analyses``."""
    return store.home() / "analyses"


# --- the analysis ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """One complete analysis: its directory and its ``summary.json``."""

    name: str
    path: Path
    summary: dict[str, Any]

    @property
    def caveat(self) -> str:
        return str(self.summary.get("caveat") or CAVEAT)

    @property
    def created_at(self) -> dt.datetime | None:
        try:
            when = dt.datetime.fromisoformat(str(self.summary.get("created_at")))
        except ValueError:
            return None
        return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)

    @property
    def synthetic(self) -> bool:
        """Whether the reports are generated (the demo's sample), not published data."""
        return bool(self.summary.get("synthetic"))

    @property
    def has_ebgm(self) -> bool:
        """Whether the GPS prior was fitted (else EBGM, EB05 and EB95 are null and IC025 stands in)."""
        return bool(self.summary.get("fit"))

    @property
    def products(self) -> list[str]:
        watched = [str(p) for p in self.summary.get("watched") or PRODUCTS]
        return [p for p in watched if p in PRODUCTS] or list(PRODUCTS)

    @property
    def score(self) -> str:
        """The column the page ranks and plots by: EB05, or IC025 without an EBGM prior."""
        return "eb05" if self.has_ebgm else "ic025"

    def file(self, table: str) -> Path:
        return self.path / f"{table}.parquet"


def check_name(name: str, field: str = "analysis") -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise InputError(
            field, name, f"analysis name {name!r} must be letters, digits, '.', '_' or '-' (like faers-ps)"
        )
    return name


def _summary(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def analyses() -> list[Analysis]:
    """Every complete analysis (a directory with a readable ``summary.json``): analyses of published data before
    synthetic ones (the demo's sample), newest first."""
    folder = root()
    if not folder.is_dir():
        return []
    out = []
    for summary_file in folder.glob("*/summary.json"):
        path = summary_file.parent
        if not NAME.match(path.name):
            continue
        summary = _summary(path)
        if summary is not None:
            out.append(Analysis(path.name, path, summary))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(out, key=lambda a: (not a.synthetic, a.created_at or epoch, a.name), reverse=True)


def load(name: str, *, field: str = "analysis") -> Analysis:
    """The analysis ``name``; :class:`NoAnalysis` (on ``field``) when it is missing or not complete yet."""
    check_name(name, field)
    path = root() / name
    summary = _summary(path)
    if summary is None:
        raise NoAnalysis(field, name, f"no surveillance analysis named {name!r} yet: {_how()}")
    return Analysis(name, path, summary)


def no_analysis_message() -> str:
    return f"No surveillance analysis yet: {_how()}."


# --- reading the tables -----------------------------------------------------------------------------------------

_CACHE: dict[tuple[str, str, int, int], pl.DataFrame] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_KEEP = 16


def _frame(analysis: Analysis, table: str, product: str) -> pl.DataFrame:
    """The rows of ``table`` for ``product`` (column ``drug`` in signals, ``product`` elsewhere); an absent or
    unreadable file is an empty frame. Kept in memory per file version, so paging does not read the file again."""
    path = analysis.file(table)
    try:
        stat = path.stat()
    except OSError:
        return pl.DataFrame()
    key = (str(path), product, stat.st_mtime_ns, stat.st_size)
    with _CACHE_LOCK:
        kept = _CACHE.get(key)
    if kept is not None:
        return kept
    column = "drug" if table == "signals" else "product"
    try:
        frame = pl.scan_parquet(path).filter(pl.col(column) == product).collect()
    except (OSError, pl.exceptions.PolarsError):
        return pl.DataFrame()
    with _CACHE_LOCK:
        while len(_CACHE) >= _CACHE_KEEP:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = frame
    return frame


def _number(value: Any) -> float | None:
    """A float, or None for null and NaN (infinity is kept: an infinite PRR is a real answer)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def check_product(analysis: Analysis, product: str) -> str:
    if product not in analysis.products:
        choices = ", ".join(analysis.products)
        raise InputError("product", product, f"product {product!r} is not one of the watched products: {choices}")
    return product


# --- signals ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalQuery:
    product: str = "kratom"
    event: str = ""
    min_n: int = 1
    signals_only: bool = False
    sort: str = "eb05"
    order: str = "desc"
    page: int = 1
    page_size: int = PAGE_SIZE


def _whole(field_name: str, text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InputError(field_name, text, f"{field_name} {text!r} must be {what}") from None
    if not low <= value <= high:
        raise InputError(field_name, text, f"{field_name} {text!r} must be {what}")
    return value


def parse_query(params: Mapping[str, Any], *, default_sort: str = "eb05") -> SignalQuery:
    """A :class:`SignalQuery` from text parameters (a query string); an absent or empty one takes its default. Every
    bad value is an :class:`InputError` naming the parameter and the value."""

    def text(key: str) -> str:
        value = params.get(key)
        return "" if value is None else str(value).strip()

    product = text("product") or "kratom"
    if product not in PRODUCTS:
        raise InputError("product", product, f"product {product!r} must be one of {', '.join(PRODUCTS)}")
    event = text("event")
    if len(event) > MAX_EVENT_TEXT:
        raise InputError("event", event[:40] + "...", f"event text must be at most {MAX_EVENT_TEXT} characters")
    min_n = _whole("min_n", text("min_n"), 1, 10**12, "a whole number of reports, at least 1") if text("min_n") else 1
    only = text("signals_only").lower()
    if only not in TRUE_WORDS | FALSE_WORDS:
        raise InputError("signals_only", text("signals_only"), "signals_only must be true or false (1 or 0)")
    sort = text("sort") or default_sort
    if sort not in SORTS:
        raise InputError("sort", sort, f"sort {sort!r} must be one of {', '.join(SORTS)}")
    order = text("order").lower() or ("asc" if sort == "event" else "desc")
    if order not in ("asc", "desc"):
        raise InputError("order", text("order"), f"order {text('order')!r} must be asc or desc")
    page = _whole("page", text("page"), 1, MAX_PAGE, f"a whole number from 1 to {MAX_PAGE}") if text("page") else 1
    size = text("page_size")
    page_size = _whole("page_size", size, 1, MAX_PAGE_SIZE, f"a whole number from 1 to {MAX_PAGE_SIZE}") if size else 0
    return SignalQuery(product, event, min_n, only in TRUE_WORDS, sort, order, page, page_size or PAGE_SIZE)


@dataclass(frozen=True)
class SignalPage:
    """One page of a product's pairs: ``rows`` (plain dicts: drug, event, n and every statistic), ``total`` rows
    matching the filters, ``pages`` in all, ``pairs`` of the product before the filters."""

    query: SignalQuery
    rows: list[dict[str, Any]]
    total: int
    pages: int
    pairs: int
    score: str
    columns: list[str] = field(default_factory=list)


def _signal_mask(frame: pl.DataFrame) -> pl.Expr:
    eb05 = pl.col("eb05") if "eb05" in frame.columns else pl.lit(None, dtype=pl.Float64)
    ebgm = pl.col("ebgm") if "ebgm" in frame.columns else pl.lit(None, dtype=pl.Float64)
    ic025 = pl.col("ic025") if "ic025" in frame.columns else pl.lit(None, dtype=pl.Float64)
    return ((eb05.fill_nan(None) >= EB05_THRESHOLD) | (ebgm.fill_nan(None).is_null() & (ic025 > 0))).fill_null(False)


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.iter_rows(named=True):
        clean = dict(row)
        for key in NUMBER_COLUMNS:
            if key in clean:
                clean[key] = _number(clean[key])
        out.append(clean)
    return out


def signals(analysis: Analysis, query: SignalQuery) -> SignalPage:
    """The pairs of ``query.product`` matching the filters, sorted (nulls last) and paged."""
    check_product(analysis, query.product)
    frame = _frame(analysis, "signals", query.product)
    pairs = frame.height
    if pairs == 0:
        return SignalPage(query, [], 0, 0, 0, analysis.score)
    frame = frame.with_columns(
        [pl.col(c).cast(pl.Float64).fill_nan(None) for c in NUMBER_COLUMNS if c in frame.columns]
    )
    if query.event:
        frame = frame.filter(pl.col("event").str.to_lowercase().str.contains(query.event.lower(), literal=True))
    if query.min_n > 1:
        frame = frame.filter(pl.col("n") >= query.min_n)
    if query.signals_only:
        frame = frame.filter(_signal_mask(frame))
    if query.sort in frame.columns:
        descending = query.order == "desc"
        frame = frame.sort([query.sort, "event"], descending=[descending, False], nulls_last=True)
    total = frame.height
    pages = max(1, math.ceil(total / query.page_size))
    start = (query.page - 1) * query.page_size
    rows = _rows(frame.slice(start, query.page_size)) if start < total else []
    return SignalPage(query, rows, total, pages, pairs, analysis.score, list(frame.columns))


def scatter_points(analysis: Analysis, product: str, *, limit: int = 3000) -> list[dict[str, Any]]:
    """(event, n, score) of the product's pairs with a finite score, highest score first, at most ``limit``."""
    check_product(analysis, product)
    frame = _frame(analysis, "signals", product)
    score = analysis.score
    if frame.height == 0 or score not in frame.columns:
        return []
    frame = (
        frame.select("event", "n", pl.col(score).cast(pl.Float64).alias("score"))
        .filter(pl.col("score").is_finite() & (pl.col("n") > 0))
        .sort(["score", "n"], descending=True)
        .head(limit)
    )
    return [dict(r) for r in frame.iter_rows(named=True)]


# --- trend, years, outcomes, co-reported --------------------------------------------------------------------------


def trend_events(analysis: Analysis, product: str) -> list[str]:
    """The events with a trend for ``product``, highest score (EB05, else IC025) first."""
    check_product(analysis, product)
    frame = _frame(analysis, "trend", product)
    if frame.height == 0:
        return []
    events = frame.get_column("event").unique().to_list()
    ranked = _frame(analysis, "signals", product)
    score = analysis.score
    if ranked.height and score in ranked.columns:
        order = (
            ranked.filter(pl.col("event").is_in(events))
            .select("event", pl.col(score).cast(pl.Float64).fill_nan(None))
            .sort(score, descending=True, nulls_last=True)
            .get_column("event")
            .to_list()
        )
        return order + sorted(set(events) - set(order))
    return sorted(events)


def default_event(analysis: Analysis, product: str) -> str | None:
    """The event of the trend shown first: the one with the highest EB05 (or IC025 without an EBGM prior)."""
    events = trend_events(analysis, product)
    return events[0] if events else None


def trend(analysis: Analysis, product: str, event: str) -> list[dict[str, Any]]:
    """IC with its IC025-IC975 interval, cumulative to the end of each period, oldest period first."""
    check_product(analysis, product)
    if len(event) > MAX_EVENT_TEXT:
        raise InputError("event", event[:40] + "...", f"event must be at most {MAX_EVENT_TEXT} characters")
    frame = _frame(analysis, "trend", product)
    if frame.height == 0:
        return []
    frame = frame.filter(pl.col("event") == event).sort("period")
    cols = [c for c in ("period", "n_cum", "expected_cum", "ic", "ic025", "ic975") if c in frame.columns]
    return _rows(frame.select(cols))


def years(analysis: Analysis, product: str) -> list[dict[str, Any]]:
    """Reports naming the product by year of FDA receipt, oldest first."""
    check_product(analysis, product)
    frame = _frame(analysis, "years", product)
    if frame.height == 0:
        return []
    return [{"year": int(r["year"]), "reports": int(r["reports"])} for r in frame.sort("year").iter_rows(named=True)]


def outcomes(analysis: Analysis, product: str) -> list[dict[str, Any]]:
    """Serious outcomes reported with the product (a case can have several), most reports first."""
    check_product(analysis, product)
    frame = _frame(analysis, "outcomes", product)
    if frame.height == 0:
        return []
    return [
        {"outcome": str(r["outcome"]), "label": str(r.get("label") or r["outcome"]), "reports": int(r["reports"])}
        for r in frame.sort(["reports", "outcome"], descending=[True, False]).iter_rows(named=True)
    ]


def coreported(analysis: Analysis, product: str) -> list[dict[str, Any]]:
    """Other products named in the same cases, most reports first."""
    check_product(analysis, product)
    frame = _frame(analysis, "coreported", product)
    if frame.height == 0:
        return []
    return [
        {"drug": str(r["drug"]), "reports": int(r["reports"])}
        for r in frame.sort(["reports", "drug"], descending=[True, False]).iter_rows(named=True)
    ]
