"""Bounds on what a query string or path may ask for, so an out-of-range number or date is a 422/400 in the one
error shape instead of a database overflow (a 500).

- :class:`Pages`: the page-number pagination every list uses; ``page`` and ``page_size`` are bounded.
- :data:`Id` / :data:`OptionalId`: a database id in a path or query (1 to 2**63 - 1, the largest integer the
  databases store).
- :func:`check_as_of`: a reference day within the years the app can compute over.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

from kratomwatch.core.errors import InputError

#: The largest value of a 64-bit signed integer column (SQLite INTEGER, PostgreSQL bigint).
MAX_DB_INT = 2**63 - 1
#: No list has a million pages; the bound keeps ``(page - 1) * page_size`` far inside a 64-bit OFFSET.
MAX_PAGE = 1_000_000
#: The years a reference day (``as_of``) may fall in: exposure and alert windows reach back and forward from it.
FIRST_YEAR, LAST_YEAR = 1900, 2999

Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
OptionalId = Annotated[int | None, Field(ge=1, le=MAX_DB_INT)]


class Pages(PageNumberPagination):
    """Page-number pagination with ``page`` from 1 to 1,000,000 and ``page_size`` at least 1 (capped by the list)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE)


def check_as_of(value: dt.date | None, field: str = "as_of") -> dt.date | None:
    """``value`` if its year is 1900-2999; else an :class:`InputError` on ``field`` (400)."""
    if value is not None and not (FIRST_YEAR <= value.year <= LAST_YEAR):
        raise InputError(
            field, value.isoformat(), f"{field} {value.isoformat()} must be a day between {FIRST_YEAR} and {LAST_YEAR}"
        )
    return value
