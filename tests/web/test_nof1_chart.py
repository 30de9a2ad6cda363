"""The n-of-1 chart (``nof1.chart``): outcome by day coloured by condition, exposure beneath on the same days,
run-in and washout marked as not analysed, a blinded trial drawn without its conditions, a text alternative with
the numbers, and no inline style (CSP)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from kratomwatch.nof1 import chart

DAY0 = dt.date(2026, 9, 1)
CONDITIONS = [("A", "Usual regimen"), ("B", "Reduced regimen")]


def series() -> list[dict[str, Any]]:
    """Two run-in days, then periods A, B of four days each with one washout day; one day unmeasured."""
    rows: list[dict[str, Any]] = []
    roles = ["run-in"] * 2 + (["washout"] + ["analysed"] * 3) * 2
    conds = [None] * 2 + ["A"] * 4 + ["B"] * 4
    blocks = [None] * 2 + [1] * 8
    for i, (role, cond, block) in enumerate(zip(roles, conds, blocks, strict=True)):
        outcome = math.nan if i == 7 else (6.0 if cond != "B" else 3.0)
        rows.append(
            {
                "date": DAY0 + dt.timedelta(days=i),
                "role": role,
                "condition": cond,
                "block": block,
                "outcome": outcome,
                "mitragynine_mg": 30.0 if cond == "A" else 15.0 if cond == "B" else 0.0,
                "seven_oh_mg": 0.0,
            }
        )
    return rows


def test_bands_follow_the_roles_and_conditions() -> None:
    got = [(b.role, b.condition, (b.end - b.start).days + 1) for b in chart.bands(series())]
    assert got == [
        ("run-in", None, 2),
        ("washout", "A", 1),
        ("analysed", "A", 3),
        ("washout", "B", 1),
        ("analysed", "B", 3),
    ]


def test_each_condition_has_its_colour_and_exposure_is_drawn_beneath() -> None:
    svg = chart.trial_chart(series(), conditions=CONDITIONS, outcome_title="Pain", outcome_max=10)
    a_line, a_band = chart.CONDITION_COLORS[0], chart.BAND_COLORS[0]
    b_line, b_band = chart.CONDITION_COLORS[1], chart.BAND_COLORS[1]
    assert f'fill="{a_band}"' in svg and f'fill="{b_band}"' in svg
    assert svg.count(f'fill="{a_line}" stroke="{a_line}"') == 3  # A's analysed days: filled points
    assert svg.count(f'fill="{b_line}" stroke="{b_line}"') == 2  # B's: one day unmeasured, no point drawn
    assert svg.count('fill-opacity="0.75"') == 8  # a bar per day with mg (not the run-in's 0 mg)
    assert "A: Usual regimen" in svg and "Not analysed (run-in, washout)" in svg
    assert "Measured mitragynine, mg per day" in svg
    assert "style=" not in svg and "<script" not in svg


def test_the_text_alternative_gives_the_numbers_per_condition() -> None:
    svg = chart.trial_chart(series(), conditions=CONDITIONS, outcome_title="Pain", outcome_max=10)
    label = re.search(r'aria-label="([^"]*)"', svg)
    assert label is not None
    assert "A (Usual regimen): 3 measured days, mean 6, mitragynine 30 mg/day" in label.group(1)
    assert "B (Reduced regimen): 2 measured days, mean 3, mitragynine 15 mg/day" in label.group(1)
    table = chart.data_table(series(), outcome_title="Pain")
    assert table.count("<tr>") == 11 and "<td>B</td>" in table


def test_a_blinded_chart_shows_no_condition() -> None:
    svg = chart.trial_chart(series(), conditions=CONDITIONS, outcome_title="Pain", outcome_max=10, blinded=True)
    assert "Usual regimen" not in svg and "Reduced regimen" not in svg and "condition A" not in svg
    assert chart.CONDITION_COLORS[0] not in svg and chart.BAND_COLORS[1] not in svg
    assert "blinded" in svg.lower()
    table = chart.data_table(series(), outcome_title="Pain", blinded=True)
    assert "Condition" not in table and "<td>A</td>" not in table


def test_no_days_yet_is_said_in_words() -> None:
    assert "No trial days yet" in chart.trial_chart([], conditions=CONDITIONS, outcome_title="Pain")


def test_a_single_day_has_one_date_on_the_axis() -> None:
    svg = chart.trial_chart(series()[:1], conditions=CONDITIONS, outcome_title="Pain", outcome_max=10)
    assert svg.count(">1 Sep</text>") == 1
