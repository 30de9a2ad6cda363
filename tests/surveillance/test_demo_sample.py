"""The demo's surveillance sample: generated once, ingested into the demo collection (never mixed with real data),
scanned with a fitted EBGM prior, and marked synthetic; a second load changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from kratomwatch.demo import surveillance as demo
from kratomwatch.surveillance import ingest


def test_the_demo_sample_shows_kratom_signals_and_is_marked_synthetic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    assert not demo.sample_exists()
    summary = demo.load_surveillance_sample()
    assert demo.sample_exists() and summary["synthetic"] is True and summary["collection"] == "demo"
    assert summary["name"] == demo.ANALYSIS and summary["units"][0] == "2024Q1" and len(summary["units"]) == 8
    assert summary["fit"] is not None and summary["notes"] == []
    assert ingest.units("faers") == []  # the public collection stays empty
    folder = tmp_path / "surveillance" / "analyses" / demo.ANALYSIS
    signals = pl.read_parquet(folder / "signals.parquet")
    kratom = signals.filter((pl.col("drug") == "kratom") & (pl.col("eb05") >= 2))
    assert {"WITHDRAWAL SYNDROME", "DRUG DEPENDENCE"} <= set(kratom["event"].to_list())
    written = json.loads((folder / "summary.json").read_text())["created_at"]
    again = demo.load_surveillance_sample()
    assert again["created_at"] >= written
    assert all(manifest["sha256"] for _, manifest in ingest.units("faers", "demo"))
