"""FAERS at full scale, end to end: generate FAERS-format quarters, ingest them, de-duplicate, normalise names and
score every (product, event) pair with PRR, ROR, IC and EBGM, timing each stage and the peak memory.

    python -m benchmarks.surveillance_full [--reports 20000000] [--small 2000000] [--quarters 40]
                                           [--out var/bench-surveillance-full.json] [--keep]

Data: ``kratomwatch.surveillance.faers_synth.write_quarters`` (all seven files per quarter, about 4 drug rows and 3
reactions per report, follow-up versions, deleted lists, malformed lines, Latin-1 names), cached under
``var/bench-faers/<reports>/`` (generated once, again when the generator's source changes; the generation time is
reported apart and is not part of the end-to-end time). Each size runs in its own child process (so the peak RSS,
``ru_maxrss``, is that size's), in a fresh ``KRATOMWATCH_HOME``: ``ingest.ingest(quarters, "faers")`` then
``scan.scan("faers", role="ps")``.

Targets (issue 15): at most 600 s end to end (ingest + scan, generation excluded) and at most 8 GB peak memory on
2 cores, for the full size. The smaller size shows how the cost grows.

openEBGM: when ``Rscript`` and the openEBGM package are installed, openEBGM's ``autoSquash`` + ``autoHyper`` +
``ebScores`` are timed on the same counts (written as CSV: var1, var2, N, E) and reported as a ratio to this
implementation's squash + fit + EBGM stages, with its hyperparameters and the largest score differences over every
pair; otherwise the result says it was skipped. (openEBGM is on CRAN only: install R, e.g. Debian's r-base-core,
r-cran-data.table and r-cran-ggplot2, then ``R CMD INSTALL`` openEBGM's source.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 600.0
TARGET_PEAK_MB = 8 * 1024.0
CACHE = Path("var/bench-faers")
R_SCRIPT = r"""
suppressPackageStartupMessages(library(openEBGM))
args <- commandArgs(TRUE)
counts <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = c("character", "character", "numeric", "numeric"))
theta_init <- data.frame(alpha1 = c(0.2, 0.1, 0.3, 0.5, 0.2), beta1 = c(0.1, 0.1, 0.5, 0.3, 0.2),
                         alpha2 = c(2, 10, 6, 12, 5), beta2 = c(4, 10, 6, 12, 5), p = c(1/3, 0.2, 0.5, 0.8, 0.4))
timing <- system.time({
  squashed <- autoSquash(counts)
  hyper <- autoHyper(squashed, theta_init = theta_init, squashed = TRUE)
  scores <- ebScores(counts, hyper_estimate = hyper, quantiles = c(5, 95))
})
write.csv(scores$data[, c("var1", "var2", "EBGM", "QUANT_05", "QUANT_95")], args[2], row.names = FALSE)
th <- hyper$estimates
cat(sprintf('{"elapsed": %.3f, "pairs": %d, "theta": [%.8f, %.8f, %.8f, %.8f, %.8f]}\n', timing[["elapsed"]],
            nrow(counts), th[["alpha1"]], th[["beta1"]], th[["alpha2"]], th[["beta2"]], th[["P"]]))
"""


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cache_dir(reports: int) -> Path:
    return CACHE / str(reports)


def generate(reports: int, quarters: int, seed: int) -> dict[str, Any]:
    """Write the quarters once (a ``generation.json`` written last marks a complete set); reuse them after."""
    from kratomwatch.surveillance import faers_synth

    folder = _cache_dir(reports)
    marker = folder / "generation.json"
    source = hashlib.sha256(Path(faers_synth.__file__).read_bytes()).hexdigest()[:12]
    params = {"reports": reports, "quarters": quarters, "seed": seed, "generator": source}
    if marker.is_file():
        done = json.loads(marker.read_text())
        if done.get("params") == params:
            return done | {"cached": True}
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    written = faers_synth.write_quarters(folder / "quarters", reports=reports, quarters=quarters, seed=seed)
    seconds = round(time.perf_counter() - started, 1)
    size = sum(p.stat().st_size for p in (folder / "quarters").rglob("*") if p.is_file())
    result = {
        "params": params,
        "seconds": seconds,
        "peak_rss_mb": _peak_mb(),
        "bytes": size,
        "quarters": [w.period for w in written],
        "reports": sum(w.reports for w in written),
        "followup_versions": sum(w.followups for w in written),
        "deleted_listed": len({c for w in written for c in w.deleted}),
        "rows": {k: sum(w.rows[k] for w in written) for k in written[0].rows},
        "malformed_lines": sum(sum(w.malformed.values()) for w in written),
        "kratom_reports": sum(w.kratom_reports for w in written),
        "seven_oh_reports": sum(w.seven_oh_reports for w in written),
    }
    marker.write_text(json.dumps(result, indent=2) + "\n")
    return result | {"cached": False}


def _openebgm(table: Any, seconds: dict[str, float], workdir: Path) -> dict[str, Any]:
    """openEBGM (autoSquash, autoHyper from its vignette's starting values, ebScores) on the same counts: its time,
    the ratio to this implementation's squash + fit + EBGM, its hyperparameters, and the largest differences of
    EBGM, EB05 and EB95 over every pair (openEBGM rounds to 2 decimals and bisects to 0.005)."""
    import numpy as np
    import polars as pl

    from kratomwatch.core import disproportionality as dp

    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"openebgm": "skipped: R or openEBGM not installed"}
    check = subprocess.run([rscript, "-e", "library(openEBGM)"], capture_output=True, check=False)
    if check.returncode != 0:
        return {"openebgm": "skipped: R or openEBGM not installed"}
    csv = workdir / "counts.csv"
    scores_csv = workdir / "openebgm_scores.csv"
    script = workdir / "openebgm.R"
    table.select(
        table["drug"].alias("var1"), table["event"].alias("var2"), table["n"].alias("N"), table["expected"].alias("E")
    ).write_csv(csv)
    script.write_text(R_SCRIPT)
    done = subprocess.run(
        [rscript, str(script), str(csv), str(scores_csv)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:]) if done.stderr.strip() else "error"
        return {"openebgm": f"failed (exit {done.returncode}): {tail}"}
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    ours = sum(seconds.get(k, 0.0) for k in ("squash", "fit", "ebgm"))
    theirs = pl.read_csv(scores_csv, schema_overrides={"var1": pl.String, "var2": pl.String})
    joined = table.join(theirs, left_on=["drug", "event"], right_on=["var1", "var2"])
    theta = np.array(measured["theta"])
    at_theirs = dp.gps_scores(theta, joined["n"].to_numpy().astype(float), joined["expected"].to_numpy())
    out: dict[str, Any] = {
        "seconds": measured["elapsed"],
        "pairs": measured["pairs"],
        "pairs_compared": joined.height,
        "kratomwatch_seconds": round(ours, 3),
        "ratio_openebgm_to_kratomwatch": round(measured["elapsed"] / ours, 2) if ours else None,
        "theta": [round(float(x), 6) for x in theta],
        "max_abs_diff_at_openebgm_theta": {
            "ebgm": round(float(np.max(np.abs(at_theirs.ebgm - joined["EBGM"].to_numpy()))), 4),
            "eb05": round(float(np.max(np.abs(at_theirs.eb05 - joined["QUANT_05"].to_numpy()))), 4),
            "eb95": round(float(np.max(np.abs(at_theirs.eb95 - joined["QUANT_95"].to_numpy()))), 4),
        },
    }
    if "ebgm" in table.columns:
        out["max_abs_diff_of_final_scores"] = {
            ours_col: round(float((joined[ours_col] - joined[theirs_col]).abs().max()), 4)
            for ours_col, theirs_col in (("ebgm", "EBGM"), ("eb05", "QUANT_05"), ("eb95", "QUANT_95"))
        }
    return {"openebgm": out}


def run(reports: int, keep: bool) -> dict[str, Any]:
    """Ingest and scan the cached quarters of this size in a fresh KRATOMWATCH_HOME (call in a child process)."""
    generation = json.loads((_cache_dir(reports) / "generation.json").read_text())
    # The folder of quarter folders, as `kratomwatch signals ingest DIR` is given it.
    paths = [_cache_dir(reports) / "quarters"]
    home = Path(tempfile.mkdtemp(prefix=f"bench-surveillance-{reports}-", dir=Path("var").resolve()))
    os.environ["KRATOMWATCH_HOME"] = str(home)
    from kratomwatch.surveillance import ingest, scan

    try:
        started = time.perf_counter()
        report = ingest.ingest(paths, "faers")
        ingested = time.perf_counter()
        peak_after_ingest = _peak_mb()
        result = scan.scan("faers", role="ps")
        scanned = time.perf_counter()
        summary = result.summary
        drug_rows = sum(u.rows.get("drugs", u.rows.get("DRUG", 0)) for u in report.units)
        out: dict[str, Any] = {
            "reports": reports,
            "quarters": len(report.units),
            "input_bytes": generation["bytes"],
            "drug_rows": drug_rows,
            "reports_read": summary.get("reports_read"),
            "cases_kept": summary.get("cases_kept"),
            "versions_dropped": summary.get("versions_dropped"),
            "deleted_dropped": summary.get("deleted_dropped"),
            "rejects": sum((summary.get("rejects") or {}).values()),
            "pairs": summary.get("pairs"),
            "squashed_points": summary.get("squashed_points"),
            "fit": summary.get("fit"),
            "kratom_reports": (summary.get("names") or {}).get("products", {}).get("kratom"),
            "seconds": {
                "ingest": round(ingested - started, 2),
                "scan": round(scanned - ingested, 2),
                "end_to_end": round(scanned - started, 2),
            },
            "ingest_stages": {k: round(v, 2) for k, v in report.seconds.items()},
            "scan_stages": {k: round(v, 2) for k, v in result.seconds.items()},
            "peak_rss_mb": {"after_ingest": peak_after_ingest, "overall": _peak_mb()},
        }
        out |= _openebgm(result.table, result.seconds, home)
        out["targets"] = {
            "end_to_end_seconds": {
                "limit": TARGET_SECONDS,
                "measured": out["seconds"]["end_to_end"],
                "pass": out["seconds"]["end_to_end"] <= TARGET_SECONDS,
            },
            "peak_rss_mb": {
                "limit": TARGET_PEAK_MB,
                "measured": out["peak_rss_mb"]["overall"],
                "pass": out["peak_rss_mb"]["overall"] <= TARGET_PEAK_MB,
            },
        }
        if keep:
            out["home"] = str(home)
        return out
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


def _child(args: list[str]) -> dict[str, Any]:
    """Run this module in a child process (own peak RSS) and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.surveillance_full", *args], stdout=subprocess.PIPE, check=False
    )
    if done.returncode != 0:
        return {"error": f"child {' '.join(args)} exited with {done.returncode}"}
    parsed: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=20_000_000, help="reports (DEMO rows) of the full size")
    parser.add_argument("--small", type=int, default=2_000_000, help="a smaller size run first (0: none)")
    parser.add_argument("--quarters", type=int, default=40, help="quarters the reports are spread over")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("var/bench-surveillance-full.json"))
    parser.add_argument("--keep", action="store_true", help="keep each run's KRATOMWATCH_HOME (the store)")
    parser.add_argument("--child-generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_generate:
        print(json.dumps(generate(args.child_generate, args.quarters, args.seed)))
        return 0
    if args.child_run:
        print(json.dumps(run(args.child_run, args.keep)))
        return 0
    sizes = sorted({s for s in (args.small, args.reports) if s > 0})
    common = ["--quarters", str(args.quarters), "--seed", str(args.seed)]
    runs = []
    for size in sizes:
        print(f"[{size:,} reports] generating (cached under {_cache_dir(size)})", file=sys.stderr, flush=True)
        generation = _child(["--child-generate", str(size), *common])
        print(f"[{size:,} reports] ingest + scan", file=sys.stderr, flush=True)
        measured = _child(["--child-run", str(size), *common, *(["--keep"] if args.keep else [])])
        runs.append({"reports": size, "generation": generation, "run": measured})
    body: dict[str, Any] = {
        "benchmark": "surveillance full: FAERS-format ingest, de-duplication, names, PRR/ROR/IC/EBGM",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "targets": {"end_to_end_seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_PEAK_MB},
        "runs": runs,
    }
    full = runs[-1]["run"]
    if "targets" in full:
        body["pass"] = all(t["pass"] for t in full["targets"].values())
    if len(runs) == 2 and all("seconds" in r["run"] for r in runs):
        small, big = runs[0]["run"], runs[1]["run"]
        body["growth"] = {
            "reports_ratio": round(big["reports"] / small["reports"], 2),
            "seconds_ratio": round(big["seconds"]["end_to_end"] / small["seconds"]["end_to_end"], 2),
            "peak_rss_ratio": round(big["peak_rss_mb"]["overall"] / small["peak_rss_mb"]["overall"], 2),
        }
    text = json.dumps(body, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)
    return 0 if body.get("pass", False) else 1


if __name__ == "__main__":
    raise SystemExit(main())
