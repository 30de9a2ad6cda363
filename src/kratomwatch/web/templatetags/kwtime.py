"""Times as a person lives them: every time on a page is converted to a named zone and says which zone.

Use in templates (``{% load kwtime %}``):
- ``{{ when|local:zone }}``: ``Tue 1 Dec 2026, 14:05 CST`` (date, time and the zone's abbreviation on that date);
- ``{{ when|local_time:zone }}``: ``14:05``, for lists under a heading that already names the day and zone;
- ``{{ when|local_date:zone }}``: ``Tue 1 Dec 2026``;
- ``{{ when|utc }}``: ``2026-12-01 20:05 UTC`` (the audit trail, which spans zones).

``zone`` is an IANA name (``patient.time_zone``) or a ``ZoneInfo``. A patient sees their own zone; staff see a
patient's times in the patient's zone, labelled. The abbreviation follows daylight saving time (CST in winter,
CDT in summer). ``None`` renders as an empty string. Django's ``|date`` filter is not used for aware datetimes
because it formats in ``settings.TIME_ZONE`` (UTC)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template

register = template.Library()


def _zone(zone: str | dt.tzinfo | None) -> dt.tzinfo:
    if isinstance(zone, dt.tzinfo):
        return zone
    try:
        return ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def to_zone(when: dt.datetime, zone: str | dt.tzinfo | None) -> dt.datetime:
    """``when`` (aware; naive is read as UTC) in ``zone``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(_zone(zone))


def _day(local: dt.datetime | dt.date) -> str:
    return f"{local:%a} {local.day} {local:%b %Y}"


@register.filter
def local(when: dt.datetime | None, zone: str | dt.tzinfo | None) -> str:
    if when is None:
        return ""
    here = to_zone(when, zone)
    return f"{_day(here)}, {here:%H:%M} {here.tzname()}"


@register.filter
def local_time(when: dt.datetime | None, zone: str | dt.tzinfo | None) -> str:
    return "" if when is None else f"{to_zone(when, zone):%H:%M}"


@register.filter
def local_date(when: dt.datetime | dt.date | None, zone: str | dt.tzinfo | None = None) -> str:
    if when is None:
        return ""
    return _day(to_zone(when, zone) if isinstance(when, dt.datetime) else when)


@register.filter
def zone_abbr(when: dt.datetime | None, zone: str | dt.tzinfo | None) -> str:
    """The zone's abbreviation at ``when`` (CST or CDT), for column headings."""
    return "" if when is None else str(to_zone(when, zone).tzname())


@register.filter
def utc(when: dt.datetime | None) -> str:
    return "" if when is None else f"{to_zone(when, dt.UTC):%Y-%m-%d %H:%M} UTC"
