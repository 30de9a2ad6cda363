"""Exposure over time for one patient: daily totals on the patient's local calendar, trends, gaps.

Definitions (all pure; ``as_of`` is always a parameter, never the clock):

* Local day: the calendar date of the dose instant converted to the patient's IANA time zone
  (``zoneinfo``), so a day is 23 or 25 hours long across DST changes and never split or merged.
* Daily exposure: sum of mg mitragynine (and mg 7-OH) over the doses of one local day. Doses whose
  mg is unknown are counted in ``unknown_doses`` and excluded from the sums, never imputed.
* 7-day mean: mean daily mg over the 7 local days ending on ``as_of`` (days without doses count 0).
* 28-day baseline: mean daily mg over the 28 local days before that window
  (``as_of`` - 34 .. ``as_of`` - 7). Ratio = 7-day mean / baseline (None when the baseline is 0).
* Inter-dose gap: hours between consecutive doses (instants, so DST does not distort them). The mean gap of a
  window is (last dose - first dose) / (doses - 1): the consecutive gaps sum to the span.
* First dose time: local wall-clock time of the first dose of each day, in minutes after midnight. The mean of a
  window is over its days with a dose.

A trend is computed from per-window sums (:class:`WindowSums`, :func:`trend_from_window_sums`). :func:`trend`
derives those sums from dose events; the alert sweep reads the same sums from the database in one grouped
query per family, and both end in the same function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from math import fsum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from kratomwatch.core.errors import InputError

RECENT_DAYS = 7
BASELINE_DAYS = 28


class ExposureError(InputError):
    """Bad time input (unknown time zone, naive or future timestamp)."""


def zone(name: str) -> ZoneInfo:
    """A validated IANA time zone (``Europe/Berlin``); raises ExposureError naming the value."""
    if not name or name != name.strip() or name not in _zones():
        raise ExposureError("time_zone", name, f"unknown IANA time zone {name!r} (for example America/Chicago)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExposureError("time_zone", name, f"unknown IANA time zone {name!r}") from None


@cache
def _zones() -> frozenset[str]:
    """The IANA names of the installed tz database, read once (the scan of the database is slow)."""
    return frozenset(available_timezones())


def require_aware(value: dt.datetime, field: str = "taken_at") -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ExposureError(field, value.isoformat(), f"{field} {value.isoformat()} has no time zone offset")
    return value


def check_not_future(
    value: dt.datetime,
    now: dt.datetime,
    *,
    tolerance: dt.timedelta = dt.timedelta(minutes=10),
    field: str = "taken_at",
) -> None:
    """A dose time more than ``tolerance`` after ``now`` is a data-entry error."""
    require_aware(value, field)
    if value > now + tolerance:
        raise ExposureError(field, value.isoformat(), f"{field} {value.isoformat()} is in the future")


def local_date(instant: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The patient's calendar date for an aware instant."""
    return require_aware(instant).astimezone(tz).date()


@dataclass(frozen=True)
class DoseEvent:
    taken_at: dt.datetime
    mitragynine_mg: float | None
    seven_oh_mg: float | None


@dataclass(frozen=True)
class DailyExposure:
    day: dt.date
    mitragynine_mg: float
    seven_oh_mg: float
    doses: int
    unknown_doses: int
    first_dose_minute: int | None


@dataclass(frozen=True)
class Trend:
    as_of: dt.date
    recent_mean_mg: float
    baseline_mean_mg: float
    ratio: float | None
    recent_doses_per_day: float
    baseline_doses_per_day: float
    recent_mean_gap_hours: float | None
    baseline_mean_gap_hours: float | None
    recent_mean_first_dose_minute: float | None
    baseline_mean_first_dose_minute: float | None


def daily_exposure(
    doses: Iterable[DoseEvent], tz: ZoneInfo, *, start: dt.date | None = None, end: dt.date | None = None
) -> list[DailyExposure]:
    """Daily totals on the patient's local calendar, one row per day from ``start`` to ``end``.

    Without ``start``/``end`` the range is the first to the last dose day. Days without doses are
    included with zero totals so that means over windows are honest.
    """
    buckets: dict[dt.date, list[tuple[dt.datetime, DoseEvent]]] = {}
    for dose in doses:
        local = require_aware(dose.taken_at).astimezone(tz)
        buckets.setdefault(local.date(), []).append((local, dose))
    if not buckets and (start is None or end is None):
        return []
    first = start or min(buckets)
    last = end or max(buckets)
    out: list[DailyExposure] = []
    day = first
    while day <= last:
        items = buckets.get(day, [])
        known_mit = [d.mitragynine_mg for _, d in items if d.mitragynine_mg is not None]
        known_7oh = [d.seven_oh_mg for _, d in items if d.seven_oh_mg is not None]
        first_local = min((local for local, _ in items), default=None)
        out.append(
            DailyExposure(
                day=day,
                mitragynine_mg=float(sum(known_mit)),
                seven_oh_mg=float(sum(known_7oh)),
                doses=len(items),
                unknown_doses=len(items) - len(known_mit),
                first_dose_minute=None if first_local is None else first_local.hour * 60 + first_local.minute,
            )
        )
        day += dt.timedelta(days=1)
    return out


def inter_dose_gaps_hours(instants: Sequence[dt.datetime]) -> list[float]:
    """Hours between consecutive doses (sorted by instant).

    Converted to UTC first: Python subtracts two datetimes sharing one tzinfo by wall clock, which
    would be off by an hour across a DST change.
    """
    ordered = sorted(require_aware(i).astimezone(dt.UTC) for i in instants)
    return [(b - a).total_seconds() / 3600.0 for a, b in pairwise(ordered)]


@dataclass(frozen=True)
class WindowSums:
    """One trend window as sums: what a database computes with one grouped query.

    ``mitragynine_mg``: sum of the daily mg over the window's days; ``doses``: doses in the window (unknown mg
    included); ``first_dose_minute_sum`` over the ``days_with_doses``; ``first_dose_at``/``last_dose_at``: the
    earliest and latest dose instant in the window (None without doses).
    """

    mitragynine_mg: float = 0.0
    doses: int = 0
    first_dose_minute_sum: float = 0.0
    days_with_doses: int = 0
    first_dose_at: dt.datetime | None = None
    last_dose_at: dt.datetime | None = None


def _mean_gap_hours(window: WindowSums) -> float | None:
    """Mean of the consecutive inter-dose gaps: they sum to the span from the first to the last dose."""
    first, last = window.first_dose_at, window.last_dose_at
    if first is None or last is None or window.doses < 2:
        return None
    # In UTC: two datetimes sharing one tzinfo subtract by wall clock (see inter_dose_gaps_hours).
    start = require_aware(first, "first_dose_at").astimezone(dt.UTC)
    end = require_aware(last, "last_dose_at").astimezone(dt.UTC)
    return (end - start).total_seconds() / 3600.0 / (window.doses - 1)


def _mean_first_dose_minute(window: WindowSums) -> float | None:
    return None if not window.days_with_doses else window.first_dose_minute_sum / window.days_with_doses


def trend_from_window_sums(as_of: dt.date, recent: WindowSums, baseline: WindowSums) -> Trend:
    """The trend of the module docstring from the sums of the 7-day window and the 28-day baseline window."""
    recent_mean = recent.mitragynine_mg / RECENT_DAYS
    base_mean = baseline.mitragynine_mg / BASELINE_DAYS
    return Trend(
        as_of=as_of,
        recent_mean_mg=recent_mean,
        baseline_mean_mg=base_mean,
        ratio=None if base_mean == 0 else recent_mean / base_mean,
        recent_doses_per_day=recent.doses / RECENT_DAYS,
        baseline_doses_per_day=baseline.doses / BASELINE_DAYS,
        recent_mean_gap_hours=_mean_gap_hours(recent),
        baseline_mean_gap_hours=_mean_gap_hours(baseline),
        recent_mean_first_dose_minute=_mean_first_dose_minute(recent),
        baseline_mean_first_dose_minute=_mean_first_dose_minute(baseline),
    )


def window_bounds(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """(first day of the 7-day window, first day of the 28-day baseline); the baseline ends the day before
    the window starts and the window ends on ``as_of``."""
    recent_start = as_of - dt.timedelta(days=RECENT_DAYS - 1)
    return recent_start, recent_start - dt.timedelta(days=BASELINE_DAYS)


def trend(doses: Sequence[DoseEvent], tz: ZoneInfo, as_of: dt.date) -> Trend:
    """7-day mean vs 28-day baseline (see module docstring for the exact windows)."""
    recent_start, base_start = window_bounds(as_of)
    days = daily_exposure(doses, tz, start=base_start, end=as_of)
    instants = [(local_date(d.taken_at, tz), d.taken_at.astimezone(dt.UTC)) for d in doses]

    def sums(lo: dt.date, hi: dt.date) -> WindowSums:
        rows = [d for d in days if lo <= d.day <= hi]
        minutes = [r.first_dose_minute for r in rows if r.first_dose_minute is not None]
        taken = [t for day, t in instants if lo <= day <= hi]
        return WindowSums(
            mitragynine_mg=fsum(r.mitragynine_mg for r in rows),
            doses=sum(r.doses for r in rows),
            first_dose_minute_sum=float(sum(minutes)),
            days_with_doses=len(minutes),
            first_dose_at=min(taken, default=None),
            last_dose_at=max(taken, default=None),
        )

    return trend_from_window_sums(
        as_of, sums(recent_start, as_of), sums(base_start, recent_start - dt.timedelta(days=1))
    )
