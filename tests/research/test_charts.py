"""Charts of a cohort report (research/charts.py) from the contract-shaped fixture report: SVG that parses, carries
its title and accessible name, leaves suppressed weeks out (a gap, named in the foot), is deterministic and keeps
text as text; PNG that is a PNG; the caller's source line is shown, and an unknown instrument or format is refused."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from kratomwatch.core.errors import InputError
from kratomwatch.research import charts

FIXTURE = Path(__file__).parent / "fixtures" / "cohort_report.json"
SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def _texts(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def _mean_line(svg: bytes) -> tuple[int, int]:
    """The weekly-mean line's (segments, vertices): a suppressed week breaks the line, it is not a vertex."""
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "weekly-mean")
    d = next(group.iter(f"{SVG}path")).get("d", "")  # the line; the marker's shape is defined after it
    return len(re.findall("M", d)), len(re.findall("[ML]", d))


def test_trajectory_svg_parses_has_title_and_leaves_suppressed_weeks_out(report: dict[str, Any]) -> None:
    svg = charts.trajectory(report, "peg", "svg")
    root = ET.fromstring(svg)
    title = root.find(f"{SVG}title")
    assert (
        title is not None
        and title.text == "PEG (Pain, Enjoyment of life, General activity): weekly mean with 95% interval"
    )
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "week 9: suppressed" in (desc.text or "")
    text = _texts(svg)
    assert "Weeks since enrolment" in text and "PEG score, points (higher is worse)" in text
    assert "Week 9: not shown, fewer than k participants (suppressed)." in text
    weeks = report["trajectories"][0]["weeks"]
    shown = sum(1 for w in weeks if not w["suppressed"])
    assert shown == len(weeks) - 1
    # The mean line has one vertex per shown week and breaks at week 9.
    assert _mean_line(svg) == (2, shown)
    unsuppressed = copy.deepcopy(report)
    unsuppressed["trajectories"][0]["weeks"][9].update(n=30, mean=5.5, lower=5.0, upper=6.0, suppressed=False)
    assert _mean_line(charts.trajectory(unsuppressed, "peg")) == (1, len(weeks))


def test_svg_is_deterministic_small_and_keeps_text_as_text(report: dict[str, Any]) -> None:
    first = charts.trajectory(report, "phq9", "svg")
    assert first == charts.trajectory(report, "phq9", "svg")
    assert b"<dc:date>" not in first  # no creation date
    assert b"<text" in first and b'id="DejaVuSans' not in first  # no embedded glyph outlines
    assert len(first) < 40_000


def test_png_outputs_start_with_the_png_signature(report: dict[str, Any]) -> None:
    outputs = [
        charts.trajectory(report, "gad7", "png"),
        charts.survival(report, "taper_completion", "png"),
        charts.incidence(report, "png"),
        charts.exposure(report, "png"),
    ]
    for png in outputs:
        assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000


def test_survival_incidence_exposure_label_their_axes_and_suppressed_cells(report: dict[str, Any]) -> None:
    km = _texts(charts.survival(report, "taper_completion"))
    assert "Days since enrolment" in km and "Proportion without the event" in km and "median 98 days" in km
    assert "Not shown from day" in km  # the suppressed tail is named
    rates = _texts(charts.incidence(report))
    assert "Events per 100 patient-months (95% interval)" in rates
    assert "Suppressed (fewer than k events): Grade 4, Grade 5, Hepatobiliary disorders." in rates
    spread = _texts(charts.exposure(report))
    assert "mg per day" in spread and "whiskers: 10th to 90th percentile" in spread


def test_the_source_line_is_the_callers_or_the_data_stamp(report: dict[str, Any]) -> None:
    default = _texts(charts.trajectory(report, "peg"))
    assert "analysis snapshot 20261202T034500Z" in default and "3f9a1c0e5b7d" in default
    assert "synthetic" not in default.lower()  # nothing hard-coded about the data's origin
    given = _texts(charts.incidence(report, source="Observational, synthetic demo data"))
    assert "Observational, synthetic demo data" in given and "analysis snapshot" not in given


def test_all_suppressed_and_empty_reports_say_so(report: dict[str, Any]) -> None:
    cows = _texts(charts.trajectory(report, "cows"))
    assert "Weeks 3, 4, 5, 6, 7, 8, 9, 10, 11, 12: not shown" in cows
    empty = copy.deepcopy(report)
    for week in empty["trajectories"][0]["weeks"]:
        week.update(n=None, mean=None, lower=None, upper=None, suppressed=True)
    assert "No week has at least k participants" in _texts(charts.trajectory(empty, "peg"))
    empty["ae_incidence"] = {"patient_months": 0.0, "by_grade": [], "by_system": [], "total": {}}
    assert "No adverse events in this cohort." in _texts(charts.incidence(empty))


def test_unknown_instrument_event_or_format_is_refused(report: dict[str, Any]) -> None:
    with pytest.raises(InputError) as bad:
        charts.trajectory(report, "bdi", "svg")
    assert bad.value.field == "instrument" and "peg" in bad.value.message
    with pytest.raises(InputError) as bad_event:
        charts.survival(report, "death", "svg")
    assert bad_event.value.field == "event"
    with pytest.raises(InputError) as bad_format:
        charts.exposure(report, "gif")
    assert bad_format.value.field == "format"
