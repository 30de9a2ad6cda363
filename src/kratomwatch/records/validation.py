"""Edge validation shared by actions, API, CLI and importers (codes, lab units, choices)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

import pycountry
from django.conf import settings

from kratomwatch.core.errors import InputError
from kratomwatch.records.models import (
    LAB_UNITS,
    ActionTaken,
    AeOutcome,
    Causality,
    Condition,
    Patient,
    Seriousness,
    Sex,
)


@functools.cache
def _subdivision_codes() -> frozenset[str]:
    return frozenset(s.code for s in pycountry.subdivisions)


@functools.cache
def _country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def jurisdiction(code: str) -> str:
    """An ISO 3166-1 alpha-2 (``US``) or ISO 3166-2 (``US-TX``) code, upper-cased."""
    value = (code or "").strip().upper()
    if value in _country_codes() or value in _subdivision_codes():
        return value
    raise InputError(
        "jurisdiction",
        code,
        f"unknown jurisdiction code {code!r}: use ISO 3166-1 alpha-2 (US) or ISO 3166-2 (US-TX)",
        code="unknown_jurisdiction",
    )


def choice(field: str, value: str, allowed: list[str]) -> str:
    if value not in allowed:
        raise InputError(field, value, f"{field} {value!r} is not one of: {', '.join(allowed)}", code="invalid_choice")
    return value


def sex(value: str) -> str:
    return choice("sex", value, Sex.values)


def conditions(values: list[str] | tuple[str, ...]) -> list[str]:
    return sorted({choice("conditions", v, Condition.values) for v in values})


def birth_year(value: int, today: dt.date) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not (1900 <= value <= today.year):
        raise InputError("birth_year", value, f"birth_year {value!r} must be a year between 1900 and {today.year}")
    return value


def lab_unit(test: str, unit: str) -> str:
    allowed = LAB_UNITS.get(test)
    if allowed is None:
        raise InputError(
            "test",
            test,
            f"unknown lab test {test!r}; use one of: {', '.join(LAB_UNITS)}",
            code="invalid_choice",
        )
    normalized = {
        "iu/l": "U/L",
        "u/l": "U/L",
        "µmol/l": "umol/L",
        "umol/l": "umol/L",
        "mg/dl": "mg/dL",
        "ms": "ms",
        "msec": "ms",
        "mmol/l": "mmol/L",
        "meq/l": "mmol/L",
    }.get(unit.strip().lower(), unit.strip())
    if normalized not in allowed:
        raise InputError(
            "unit",
            unit,
            f"unit {unit!r} does not fit {test}; use one of: {', '.join(allowed)}",
            code="unit_mismatch",
        )
    return normalized


def seriousness(values: list[str]) -> list[str]:
    return sorted({choice("seriousness", v, Seriousness.values) for v in values})


def ae_fields(outcome: str, causality: str, action_taken: str, grade: int) -> None:
    choice("outcome", outcome, AeOutcome.values)
    choice("causality", causality, Causality.values)
    choice("action_taken", action_taken, ActionTaken.values)
    if not isinstance(grade, int) or isinstance(grade, bool) or not (1 <= grade <= 5):
        raise InputError("grade", grade, f"CTCAE grade {grade!r} must be an integer from 1 to 5")


def future_tolerance() -> dt.timedelta:
    """How far past now a recorded time may lie before it is refused as a data-entry error (a system setting)."""
    config: dict[str, Any] = getattr(settings, "KRATOMWATCH", {})
    return dt.timedelta(minutes=int(config.get("FUTURE_TOLERANCE_MINUTES", 10)))


#: How far back a single new entry (a dose, a side-effect onset) may lie: older than this is a typing error.
PAST_LIMIT = dt.timedelta(days=365)


def _day_text(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def enrolment_date(patient: Patient) -> dt.date:
    """The patient's enrolment day: ``Patient.enrolled_on``, else the day the record was made, in their zone."""
    if patient.enrolled_on is not None:
        return patient.enrolled_on
    return patient.created_at.astimezone(ZoneInfo(patient.time_zone or "UTC")).date()


def past_floor(patient: Patient, today: dt.date) -> dt.date:
    """The earliest day a new dose or side effect may be dated: not before the patient joined the program and
    not more than a year before ``today`` (the patient's local date)."""
    return max(enrolment_date(patient), today - PAST_LIMIT)


def check_not_too_old(
    field: str, day: dt.date, patient: Patient, today: dt.date, *, since_enrolment: bool = False
) -> None:
    """Refuse a date more than a year before ``today`` and, with ``since_enrolment`` (a patient reporting for
    themselves), a date before :func:`enrolment_date`; in words a patient reads (the year is the usual slip).

    Clinic entry and imports may record history from before enrolment (a side effect that started the week
    before, a tracker's past doses), so the enrolment floor is the patient pages' rule, the year floor everyone's."""
    joined = enrolment_date(patient)
    if since_enrolment and day < joined:
        raise InputError(
            field,
            day.isoformat(),
            f"That date ({_day_text(day)}) is before you joined the program ({_day_text(joined)}). Check the year.",
            code="before_enrolment",
        )
    if day < today - PAST_LIMIT:
        raise InputError(
            field,
            day.isoformat(),
            f"That date ({_day_text(day)}) is more than a year ago. Check the year.",
            code="too_old",
        )


def patient_code(code: str) -> str:
    """A pseudonymous patient code: 1-32 letters, digits, ``-`` or ``_`` (stripped)."""
    clean = code.strip()
    if not clean or len(clean) > 32 or not all(c.isalnum() or c in "-_" for c in clean):
        raise InputError("code", clean, f"patient code {clean!r} must be 1-32 letters, digits, - or _")
    return clean
