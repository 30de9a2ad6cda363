"""Disproportionality for every (product, event) pair of a count table (``openebgm.count_pairs``): PRR with its
chi-square and the Evans flag, ROR with its 95% CI, IC with IC025/IC975, and the Gamma-Poisson Shrinker (prior fit
on auto-squashed points, then EBGM, EB05, EB95 for every pair). The statistics are those of
:mod:`kratomwatch.core.disproportionality` (formulas and sources there); this module only feeds them columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from kratomwatch.core import disproportionality as dp
from kratomwatch.core.errors import InputError

__all__ = ["METHODS", "Result", "compute", "parse_methods"]

METHODS = ("prr", "ror", "ic", "ebgm")
STEPS = ("prr", "ror", "ic", "squash", "fit", "ebgm")


def parse_methods(text: str) -> tuple[str, ...]:
    """``prr,ror,ic,ebgm`` (any subset, any order) → the methods in canonical order; unknown names are an error."""
    chosen = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise InputError("method", text, f"methods are {', '.join(METHODS)} (comma separated)")
    return tuple(m for m in METHODS if m in chosen)


@dataclass(frozen=True)
class Result:
    """The per-pair table, the fitted GPS prior (None without ebgm, or when it cannot be fitted: then a note says
    why and the other methods stand), the seconds each step took, and notes."""

    table: pl.DataFrame
    fit: dp.GPSFit | None
    squashed_points: int | None
    seconds: dict[str, float]
    notes: list[str]


Progress = Callable[[str, int, int], None]


def compute(counts: pl.DataFrame, methods: tuple[str, ...] = METHODS, progress: Progress | None = None) -> Result:
    """Columns ``drug, event, n, expected`` then, per method, ``prr, prr_lower95, prr_upper95, prr_chi2,
    prr_signal`` / ``ror, ror_lower95, ror_upper95`` / ``ic, ic025, ic975`` / ``ebgm, eb05, eb95``."""
    steps = [s for s in STEPS if s in methods or (s in ("squash", "fit") and "ebgm" in methods)]
    seconds: dict[str, float] = {}
    n = counts["N"].to_numpy().astype(np.float64)
    n1 = counts["N_v1"].to_numpy().astype(np.float64)
    n2 = counts["N_v2"].to_numpy().astype(np.float64)
    total = counts["N_tot"].to_numpy().astype(np.float64)
    expected = counts["E"].to_numpy().astype(np.float64)
    columns: dict[str, object] = {
        "drug": counts["var1"],
        "event": counts["var2"],
        "n": counts["N"].cast(pl.Int64),
        "expected": expected,
    }
    fit: dp.GPSFit | None = None
    squashed: dp.Squashed | None = None
    notes: list[str] = []
    for done, step in enumerate(steps):
        if progress is not None:
            progress(step, done, len(steps))
        started = time.perf_counter()
        if step == "prr":
            p = dp.prr(n, n1, n2, total)
            columns |= {
                "prr": p.prr,
                "prr_lower95": p.lower95,
                "prr_upper95": p.upper95,
                "prr_chi2": p.chi2,
                "prr_signal": dp.prr_signal(n, p),
            }
        elif step == "ror":
            r = dp.ror(n, n1, n2, total)
            columns |= {"ror": r.ror, "ror_lower95": r.lower95, "ror_upper95": r.upper95}
        elif step == "ic":
            i = dp.ic(n, expected)
            columns |= {"ic": i.ic, "ic025": i.ic025, "ic975": i.ic975}
        elif step == "squash":
            squashed = dp.auto_squash(n, expected)
        elif step == "fit" and squashed is not None:
            try:
                fit = dp.fit_gps(squashed.n, squashed.e, squashed.weight)
            except (dp.FitFailed, ValueError) as problem:
                notes.append(f"EBGM not computed: {problem} (too few or too uniform pairs for the prior)")
        elif step == "ebgm" and fit is not None:
            g = dp.gps_scores(fit.theta, n, expected)
            columns |= {"ebgm": g.ebgm, "eb05": g.eb05, "eb95": g.eb95}
        seconds[step] = time.perf_counter() - started
    if progress is not None:
        progress("done", len(steps), len(steps))
    return Result(
        table=pl.DataFrame(columns),
        fit=fit,
        squashed_points=None if squashed is None else int(squashed.n.size),
        seconds=seconds,
        notes=notes,
    )
