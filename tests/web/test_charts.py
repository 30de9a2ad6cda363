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
