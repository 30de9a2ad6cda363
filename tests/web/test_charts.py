import datetime as dt
import xml.etree.ElementTree as ET

from kratomwatch.web.charts import Marker, Panel, Series, Threshold, sparkline, timeline

D0 = dt.date(2026, 11, 1)


def test_timeline_is_valid_svg_with_shared_axis_and_thresholds() -> None:
    days = [D0 + dt.timedelta(days=i) for i in range(10)]
    svg = timeline(
        D0,
        days[-1],
        [
            Panel("Daily exposure", "mg", [Series("mitragynine", [(d, 10.0 * i) for i, d in enumerate(days)])]),
            Panel(
                "PHQ-9",
                "score",
                [Series("PHQ-9", [(days[0], 12.0), (days[7], 6.0)])],
                thresholds=[Threshold(10, "moderate (10)")],
                markers=[Marker(days[3], "Seizure <grade 3>")],
                y_max=27,
            ),
        ],
        title="KW-001",
    )
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and root.get("role") == "img"
    assert "style=" not in svg  # CSP: presentation attributes only
    assert "moderate (10)" in svg and "Seizure &lt;grade 3&gt;" in svg
    assert svg.count("<polyline") == 2


def test_gaps_break_lines_and_sparkline_handles_empty() -> None:
    svg = timeline(
        D0,
        D0 + dt.timedelta(days=4),
        [
            Panel(
                "x",
                "mg",
                [
                    Series(
                        "s",
                        [
                            (D0, 1.0),
                            (D0 + dt.timedelta(days=1), None),
                            (D0 + dt.timedelta(days=2), 3.0),
                            (D0 + dt.timedelta(days=3), 4.0),
                        ],
                    )
                ],
            )
        ],
    )
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1
    assert "<polyline" not in sparkline([None, None])
    ET.fromstring(sparkline([1.0, 2.0, None, 3.0], label="28 days"))


# --- charts that do not mislead (review findings 5 and 11) --------------------------------------------------------

import re  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from kratomwatch.web import charts, pages  # noqa: E402


def _points(svg: str) -> list[tuple[float, float]]:
    match = re.search(r'<polyline points="([^"]+)"', svg)
    assert match is not None
    return [(float(a), float(b)) for a, b in (p.split(",") for p in match.group(1).split())]


def test_sparklines_share_one_zero_based_scale_and_print_it() -> None:
    small = sparkline([30.0] * 28, y_max=300.0)
    large = sparkline([300.0] * 28, y_max=300.0)
    assert ">300<" in small and ">300<" in large and ">0<" in small  # the scale is printed: 0 and the top
    small_y = _points(small)[0][1]
    large_y = _points(large)[0][1]
    assert small_y - large_y > 20  # 30 mg sits near the bottom of the shared scale, 300 mg at the top


def test_zero_every_day_is_drawn_on_the_zero_line() -> None:
    svg = sparkline([0.0] * 28, y_max=300.0)
    baseline = float(re.search(r'<line x1="\d+" x2="\d+" y1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    assert {y for _, y in _points(svg)} == {baseline}
    assert ">0<" in svg


def test_today_is_a_hollow_point_never_a_drop_to_zero() -> None:
    values = [100.0] * 27 + [0.0]  # nothing logged yet today
    svg = sparkline(values, y_max=200.0)
    assert len(_points(svg)) == 27  # the line stops at yesterday
    assert '<circle cx="' in svg and 'fill="#fff"' in svg and "today so far" in svg
    days = [D0 + dt.timedelta(days=i) for i in range(5)]
    panel = Panel(
        "x", "mg/day", [Series("mg", [(d, 50.0) for d in days[:-1]] + [(days[-1], 5.0)], partial_day=days[-1])]
    )
    t = timeline(D0, days[-1], [panel])
    assert "today so far" in t and 'fill="#fff"' in t and 'stroke-dasharray="2 3"' in t
    assert len(_points(t)) == 4  # the partial day is not part of the solid line


def _daily(day: dt.date, mit: float, seven: float) -> SimpleNamespace:
    return SimpleNamespace(day=day, mitragynine_mg=mit, seven_oh_mg=seven)


def test_seven_oh_has_its_own_panel_and_scale_and_planned_taper_steps_are_drawn() -> None:
    today = dt.date(2026, 12, 1)
    start = today - dt.timedelta(days=27)
    daily = [_daily(start + dt.timedelta(days=i), 150.0, 30.0) for i in range(28)]
    taper = [
        (today - dt.timedelta(days=14), 140.0),
        (today + dt.timedelta(days=3), 100.0),
        (today + dt.timedelta(days=10), 80.0),
    ]
    end = pages.timeline_end(today, taper)
    assert end == today + dt.timedelta(days=17)  # a week past the last planned step
    panels = pages.exposure_panels(daily, start, today, taper, end)
    assert [s.name for s in panels[1].series] == ["mg 7-OH"]  # 7-OH alone on its own axis
    assert all("7-OH" not in s.name for s in panels[0].series)
    plan = panels[0].series[1]
    assert plan.color == charts.PLAN_COLOR and plan.points[-1] == (end, 80.0)
    svg = timeline(start, end, panels, today=today)
    assert "planned" in svg and ">50<" in svg  # 7-OH scale tops at 50, not at the mitragynine scale
    assert re.search(r'text-anchor="end" fill="#444">\d+ Dec</text></svg>', svg)  # last x label is not cut off


def test_event_panel_has_no_numeric_axis_and_every_chart_has_a_text_alternative() -> None:
    days = [D0 + dt.timedelta(days=i) for i in range(10)]
    panels = [
        Panel("Daily mitragynine", "mg/day", [Series("mg mitragynine", [(d, 10.0 * i) for i, d in enumerate(days)])]),
        Panel("Adverse events and labs", "", markers=[Marker(days[4], "AE: Nausea")], height=30, show_axis=False),
    ]
    svg = timeline(D0, days[-1], panels, title="KW-001")
    label = ET.fromstring(svg).get("aria-label") or ""
    assert "latest 90" in label and "highest 90" in label and "1 event" in label
    assert ">0.5<" not in svg
    table = charts.data_table(panels, D0, days[-1], caption="KW-001 numbers")
    root = ET.fromstring(table)
    assert root.tag == "details"
    assert '<td class="num">90</td>' in table and "AE: Nausea" in table


def test_basis_and_scores_print_as_published() -> None:
    assert pages.basis_label("author_defined") == "author-defined"
    assert pages.score_text(20 / 3) == "6.7" and pages.score_text(15.0) == "15" and pages.score_text(None) == "-"
