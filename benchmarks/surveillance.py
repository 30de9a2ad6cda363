"""Surveillance statistics benchmark: PRR, ROR, IC, squashing, the GPS prior fit and EBGM/EB05/EB95 on synthetic
contingency tables of growing size, so the cost per pair and its growth are visible.

    python -m benchmarks.surveillance [--sizes 100000,1000000] [--out var/bench-surveillance.json]

Cells as in the reference notes' indicative benchmark: E ~ lognormal(-2, 2), lambda from a two-gamma mixture
(DuMouchel 1999's FDA values), N ~ Poisson(lambda E), only N >= 1 kept (the zero-truncated likelihood). Margins
are made up consistently with E (they only feed PRR and ROR). Not a FAERS end-to-end benchmark: counting reports
from FAERS-sized extracts is not measured here.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from kratomwatch.core import disproportionality as dp


def cells(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    e = rng.lognormal(-2.0, 2.0, size)
    first = rng.random(size) < 0.1
    lam = np.where(first, rng.gamma(0.2, 1 / 0.06, size), rng.gamma(1.4, 1 / 1.8, size))
    n = rng.poisson(lam * e).astype(float)
    keep = n >= 1
    return n[keep], e[keep]


def run(size: int) -> dict[str, Any]:
    n, e = cells(size)
    total = np.full(n.size, 2e7)
    n_product = np.maximum(np.sqrt(e * 2e7), n)
    n_event = np.maximum(e * 2e7 / n_product, n)
    seconds: dict[str, float] = {}

    def timed(label: str, fn: Any) -> Any:
        started = time.perf_counter()
        out = fn()
        seconds[label] = round(time.perf_counter() - started, 3)
        return out

    timed("prr", lambda: dp.prr(n, n_product, n_event, total))
    timed("ror", lambda: dp.ror(n, n_product, n_event, total))
    timed("ic", lambda: dp.ic(n, e))
    squashed = timed("squash", lambda: dp.auto_squash(n, e))
    fit = timed("fit", lambda: dp.fit_gps(squashed.n, squashed.e, squashed.weight, starts=dp.DEFAULT_STARTS[:3]))
    timed("ebgm_eb05_eb95", lambda: dp.gps_scores(fit.theta, n, e))
    return {
        "candidate_cells": size,
        "nonzero_pairs": int(n.size),
        "squashed_points": int(squashed.n.size),
        "prior": fit.to_dict(),
        "seconds": seconds,
        "seconds_total": round(sum(seconds.values()), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100000,1000000", help="candidate cells per run, comma separated")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    results = [run(int(s)) for s in args.sizes.split(",") if s.strip()]
    text = json.dumps({"benchmark": "surveillance statistics", "runs": results}, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
