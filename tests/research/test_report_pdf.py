"""The cohort report PDF (research/report_pdf.py) from the contract-shaped fixture: its text carries the data
checksum on every page, the caveat on page 1, the cohort definition in words, the data stamp with the zone named,
the suppressed cells as suppressed, and every section."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kratomwatch.research import report_pdf

FIXTURE = Path(__file__).parent / "fixtures" / "cohort_report.json"


@pytest.fixture
def report() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def _pages(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]


def test_pdf_carries_checksum_caveat_definition_and_stamp(report: dict[str, Any], tmp_path: Path) -> None:
    pdf = report_pdf.render(report)
    assert pdf.startswith(b"%PDF-")
    pages = _pages(pdf, tmp_path)
    assert len(pages) >= 3
    checksum = report["data"]["checksum"]
    assert all(checksum in page for page in pages)  # the footer of every page
    first = pages[0]
    assert " ".join(report["caveat"].split()) in first
    assert "Cohort report: Chronic pain, all adults" in first
    assert "Conditions (any of): chronic_pain" in first and "Baseline score at least: 4" in first
    assert "Snapshot created: 2026-12-02 03:45 UTC" in first and "Research consent as of: 2026-12-02 03:44 UTC" in first
    assert "Analysis snapshot: 20261202T034500Z" in first and "k (smallest cell shown): 5" in first
    assert "Software: kratomwatch" in first
    everything = " ".join(pages)
    for heading in (
        "Description",
        "Outcome trajectories",
        "IMMPACT responder rates",
        "Exposure and outcome (mixed-effects model)",
        "Time to event (Kaplan-Meier)",
        "Adverse-event incidence per 100 patient-months",
    ):
        assert heading in everything
    assert report["exposure_outcome"]["formula"] in everything
    assert "suppressed (< k)" in everything  # the suppressed sex level, the 50 % responders, grade 4
    assert f"page 1 of {len(pages)}" in first


def test_an_empty_cohort_prints_why(report: dict[str, Any], tmp_path: Path) -> None:
    empty = copy.deepcopy(report)
    empty["cohort"]["n"] = 0
    empty["description"] = {"rows": [], "baseline": [], "exposure": []}
    empty["trajectories"] = []
    empty["responders"] = None
    empty["exposure_outcome"] = None
    empty["time_to_event"] = []
    empty["ae_incidence"] = {"patient_months": 0.0, "by_grade": [], "by_system": [], "total": None}
    text = " ".join(_pages(report_pdf.render(empty), tmp_path))
    assert "No participant matches this definition" in text
    assert "No outcome scores in this cohort." in text and "Not available for this cohort" in text
    assert report["data"]["checksum"] in text
