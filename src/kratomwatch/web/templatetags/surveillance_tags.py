"""Number formats of the surveillance page (``{% load surveillance_tags %}``).

- ``{{ count|thousands }}``: ``1,234,567``; "—" for a missing count.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def thousands(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
