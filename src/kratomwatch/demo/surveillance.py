"""The demo's surveillance sample: synthetic FAERS-format quarters (``surveillance.faers_synth``), ingested into
the ``demo`` collection of the analytical store (kept apart from real published data) and scanned, so the
researcher's kratom surveillance page has signals to show. No real report is reproduced; the analysis is marked
synthetic and the page says so.
"""

from __future__ import annotations

from typing import Any

from kratomwatch.surveillance import faers_synth, ingest, scan, store

__all__ = ["ANALYSIS", "load_surveillance_sample", "sample_exists"]

ANALYSIS = "demo-synthetic-faers"
REPORTS = 40_000
QUARTERS = 8
START = (2024, 1)
SEED = 20261202


def load_surveillance_sample() -> dict[str, Any]:
    """Generate (once), ingest (unchanged on a rerun) and scan the sample; returns the analysis summary."""
    folder = store.home() / "demo-faers"
    if not (folder / ".complete").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        faers_synth.write_quarters(
            folder,
            reports=REPORTS,
            quarters=QUARTERS,
            start=START,
            seed=SEED,
            kratom_share=0.004,
            seven_oh_share=0.001,
        )
        (folder / ".complete").write_text("generated\n", "utf-8")
    quarters = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    ingest.ingest(quarters, "faers", collection="demo")
    return scan.scan("faers", role="ps", collection="demo", name=ANALYSIS).summary


def sample_exists() -> bool:
    return (store.home() / "analyses" / ANALYSIS / "summary.json").is_file()
