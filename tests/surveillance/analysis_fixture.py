"""A small surveillance analysis written by hand, as ``surveillance.scan`` writes one
(``KRATOMWATCH_HOME/surveillance/analyses/<name>/``: summary.json, signals, trend, years, outcomes and coreported
Parquet files with the contract's columns and types), for the page, the API and ``surveillance.views`` tests.

The numbers are invented but consistent enough to read: kratom has 30 events (a few above EB05 = 2, one with an
infinite PRR, one with a null ROR), 7-OH has 3 and mitragynine pseudoindoxyl none. ``ebgm=False`` writes the
analysis of a run whose EBGM prior could not be fitted (EBGM, EB05 and EB95 null, ``fit`` null).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from kratomwatch.surveillance import CAVEAT

CREATED_AT = "2026-11-30T18:45:00+00:00"
EVENTS = (
    "Drug dependence",
    "Seizure",
    "Death",
    "Liver injury",
    "Vomiting",
    "Withdrawal syndrome",
    "Toxicity to various agents",
    "Respiratory depression",
    "Cardiac arrest",
    "Nausea",
    "Agitation",
    "Hallucination",
    "Tachycardia",
    "Hypertension",
    "Confusional state",
    "Somnolence",
    "Drug abuse",
    "Overdose",
    "Jaundice",
    "Hepatitis cholestatic",
    "Abdominal pain",
    "Anxiety",
    "Insomnia",
    "Tremor",
    "Headache",
    "Dizziness",
    "Fatigue",
    "Constipation",
    "Pruritus",
    "Rash",
)
SIGNAL_SCHEMA: dict[str, Any] = {
    "drug": pl.String,
    "event": pl.String,
    "n": pl.Int64,
    "expected": pl.Float64,
    "prr": pl.Float64,
    "prr_lower95": pl.Float64,
    "prr_upper95": pl.Float64,
    "prr_chi2": pl.Float64,
    "prr_signal": pl.Boolean,
    "ror": pl.Float64,
    "ror_lower95": pl.Float64,
    "ror_upper95": pl.Float64,
    "ic": pl.Float64,
    "ic025": pl.Float64,
    "ic975": pl.Float64,
    "ebgm": pl.Float64,
    "eb05": pl.Float64,
    "eb95": pl.Float64,
}


def _pair(drug: str, event: str, n: int, expected: float, *, ebgm: bool) -> dict[str, Any]:
    ratio = n / expected
    ic = math.log2((n + 0.5) / (expected + 0.5))
    spread = 3.3 / math.sqrt(n + 1)
    eb = ratio * n / (n + 2) + 2 / (n + 2)
    return {
        "drug": drug,
        "event": event,
        "n": n,
        "expected": expected,
        "prr": ratio * 1.05,
        "prr_lower95": ratio * 0.6,
        "prr_upper95": ratio * 1.6,
        "prr_chi2": max(0.0, (n - expected) ** 2 / expected),
        "prr_signal": n >= 3 and ratio >= 2,
        "ror": ratio * 1.1,
        "ror_lower95": ratio * 0.55,
        "ror_upper95": ratio * 1.7,
        "ic": ic,
        "ic025": ic - spread,
        "ic975": ic + spread,
        "ebgm": eb if ebgm else None,
        "eb05": eb * 0.62 if ebgm else None,
        "eb95": eb * 1.5 if ebgm else None,
    }


def signal_rows(*, ebgm: bool = True) -> list[dict[str, Any]]:
    rows = []
    for i, event in enumerate(EVENTS):
        n = max(1, round(400 / (i + 1) ** 1.6))
        ratio = 9.0 if i == 0 else 0.4 + ((i * 7) % 11) * 0.8  # reported n / expected, varied by event
        expected = n / ratio
        rows.append(_pair("kratom", event, n, round(expected, 3), ebgm=ebgm))
    rows[5]["prr"] = math.inf  # "Withdrawal syndrome": no other product reports it
    rows[5]["prr_upper95"] = math.inf
    rows[7]["ror"] = rows[7]["ror_lower95"] = rows[7]["ror_upper95"] = None
    for event, n, expected in (("Drug dependence", 40, 3.2), ("Seizure", 12, 2.5), ("Nausea", 2, 3.0)):
        rows.append(_pair("seven_oh", event, n, expected, ebgm=ebgm))
    for event, n, expected in (("Nausea", 900, 850.0), ("Headache", 700, 720.0)):
        rows.append(_pair("ibuprofen", event, n, expected, ebgm=ebgm))
    return rows


def write_analysis(
    home: Path, name: str = "faers-ps", *, ebgm: bool = True, summary: bool = True, synthetic: bool = False
) -> Path:
    """Write the analysis under ``home`` (a KRATOMWATCH_HOME) and return its directory. ``summary=False`` leaves
    ``summary.json`` out: an analysis still being written (incomplete); ``synthetic`` marks it as the demo's
    generated sample (collection ``demo``)."""
    folder = home / "surveillance" / "analyses" / name
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(signal_rows(ebgm=ebgm), schema=SIGNAL_SCHEMA).write_parquet(folder / "signals.parquet")
    periods = [f"{y}Q{q}" for y in (2023, 2024) for q in (1, 2, 3, 4)]
    trend_rows = []
    for product, event, scale in (
        ("kratom", "Drug dependence", 1.0),
        ("kratom", "Seizure", 0.6),
        ("kratom", "Death", 0.3),
        ("seven_oh", "Drug dependence", 1.2),
    ):
        for k, period in enumerate(periods, start=1):
            n_cum = int(5 * k * scale) + 1
            expected_cum = 1.2 * k * scale + 0.4
            ic = math.log2((n_cum + 0.5) / (expected_cum + 0.5))
            spread = 3.3 / math.sqrt(n_cum + 1)
            trend_rows.append(
                {
                    "product": product,
                    "event": event,
                    "period": period,
                    "n_cum": n_cum,
                    "expected_cum": expected_cum,
                    "ic": ic,
                    "ic025": ic - spread,
                    "ic975": ic + spread,
                }
            )
    pl.DataFrame(
        trend_rows,
        schema={
            "product": pl.String,
            "event": pl.String,
            "period": pl.String,
            "n_cum": pl.Int64,
            "expected_cum": pl.Float64,
            "ic": pl.Float64,
            "ic025": pl.Float64,
            "ic975": pl.Float64,
        },
    ).write_parquet(folder / "trend.parquet")
    pl.DataFrame(
        [
            *(
                {"product": "kratom", "year": y, "reports": r}
                for y, r in ((2021, 85), (2022, 140), (2023, 310), (2024, 455))
            ),
            *({"product": "seven_oh", "year": y, "reports": r} for y, r in ((2024, 18), (2025, 61))),
        ],
        schema={"product": pl.String, "year": pl.Int32, "reports": pl.Int64},
    ).write_parquet(folder / "years.parquet")
    labels = {"DE": "Death", "LT": "Life-threatening", "HO": "Hospitalization", "OT": "Other serious"}
    pl.DataFrame(
        [
            {"product": "kratom", "outcome": code, "label": labels[code], "reports": r}
            for code, r in (("DE", 211), ("LT", 48), ("HO", 260), ("OT", 402))
        ]
        + [{"product": "seven_oh", "outcome": "HO", "label": "Hospitalization", "reports": 9}],
        schema={"product": pl.String, "outcome": pl.String, "label": pl.String, "reports": pl.Int64},
    ).write_parquet(folder / "outcomes.parquet")
    pl.DataFrame(
        [
            {"product": "kratom", "drug": d, "reports": r}
            for d, r in (("FENTANYL", 120), ("ALPRAZOLAM", 64), ("ETHANOL", 51), ("GABAPENTIN", 33))
        ]
        + [{"product": "seven_oh", "drug": "KRATOM", "reports": 7}],
        schema={"product": pl.String, "drug": pl.String, "reports": pl.Int64},
    ).write_parquet(folder / "coreported.parquet")
    if summary:
        body = {
            "name": name,
            "format": "faers",
            "collection": "demo" if synthetic else "public",
            "synthetic": synthetic,
            "role": "ps",
            "strata": [],
            "created_at": CREATED_AT,
            "units": periods,
            "reports_read": 1_234_567,
            "cases_kept": 1_002_003,
            "cases_counted": 1_002_003,
            "versions_dropped": 210_000,
            "deleted_dropped": 1_234,
            "rejects": {"DRUG24Q1.txt": 3},
            "pairs": len(signal_rows()),
            "fit": (
                {"alpha1": 0.2041, "beta1": 0.0581, "alpha2": 1.4150, "beta2": 1.8380, "p": 0.0969, "minimum": 4162.1}
                if ebgm
                else None
            ),
            "squashed_points": 1234 if ebgm else None,
            "seconds": {"count": 1.5, "fit": 2.25},
            "notes": [] if ebgm else ["The EBGM prior could not be fitted: PRR, ROR and IC are given."],
            "caveat": CAVEAT,
            "names": {
                "products": {"kratom": 990, "seven_oh": 79, "mitragynine_pseudoindoxyl": 0},
                "review": [["OPMS GOLD", "kratom", 12], ["7 TABS", "seven_oh", 4]],
                "unmatched_total": 8_765,
                "unmatched_top": [["HERBAL SUPPLEMENT", 310], ["UNKNOWN", 120]],
            },
            "watched": ["kratom", "seven_oh", "mitragynine_pseudoindoxyl"],
        }
        (folder / "summary.json").write_text(json.dumps(body, indent=1), encoding="utf-8")
    return folder
