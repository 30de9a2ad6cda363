"""Comparisons and display of the numbers the alert rules judge. Pure.

Thresholds are decimals (2.0x ULN, 1.5 ratios) compared with values computed in binary floating point; a relative
tolerance keeps a value that equals a threshold on paper from falling just short of it.
"""

from __future__ import annotations

import math

EPS = 1e-9


def above(value: float, threshold: float) -> bool:
    """``value > threshold``, not counting a difference within binary rounding."""
    return value > threshold + EPS * max(1.0, abs(threshold))


def at_least(value: float, threshold: float) -> bool:
    """``value >= threshold`` with a relative tolerance for binary rounding of decimal thresholds."""
    return value >= threshold - EPS * max(1.0, abs(threshold))


def num(value: float) -> str:
    """Short display of a number: 13 not 13.0, 1.52 not 1.5151515."""
    if not math.isfinite(value):
        return str(value)
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"
