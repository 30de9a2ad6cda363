"""Chart axes shared by every server-drawn SVG chart (web/charts.py, nof1/chart.py): pure, no clock."""

from __future__ import annotations

import datetime as dt
import math


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``value`` (1.0 for none)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * exp:
            return float(m * exp)
    return float(10 * exp)


def day_label(day: dt.date) -> str:
    """A short day label that does not wrap badly: "24 Nov"."""
    return f"{day.day} {day.strftime('%b')}"
