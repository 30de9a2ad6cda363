"""Edge validation shared by actions, API, CLI and importers (codes, lab units, choices)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
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
    Dose,
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


#: How far ahead a planned date (a medication's stop, a questionnaire schedule's start) may lie: further is a typing
#: error in the year (the taper plan's horizon, ``careplans.actions.TAPER_AHEAD``).
PLAN_AHEAD = dt.timedelta(days=5 * 365)


def check_not_before_birth(field: str, day: dt.date, patient: Patient) -> None:
    """Refuse a date before the patient's birth year (a typing error in the year)."""
    if day.year < patient.birth_year:
        raise InputError(
            field,
            day.isoformat(),
            f"{field} {_day_text(day)} is before the patient's birth year ({patient.birth_year}); check the year",
            code="before_birth",
        )


def check_plausible_date(
    field: str, day: dt.date, patient: Patient, today: dt.date, *, ahead: dt.timedelta = dt.timedelta(0)
) -> None:
    """Refuse a date before the patient's birth year, or more than ``ahead`` after ``today`` (the patient's local
    date): by default a recorded date may not be in the future. Either is a typing error in the year."""
    check_not_before_birth(field, day, patient)
    if day > today + ahead:
        when = "in the future" if not ahead else f"more than {ahead.days // 365} years ahead"
        raise InputError(field, day.isoformat(), f"{field} {_day_text(day)} is {when}; check the year")


def patient_code(code: str) -> str:
    """A pseudonymous patient code: 1-32 letters, digits, ``-`` or ``_`` (stripped)."""
    clean = code.strip()
    if not clean or len(clean) > 32 or not all(c.isalnum() or c in "-_" for c in clean):
        raise InputError("code", clean, f"patient code {clean!r} must be 1-32 letters, digits, - or _")
    return clean


#: What makes a repeat of a dose's idempotency key the same dose, each with the words that name a difference.
#: One definition for the API (a different repeat is a 409) and the importers (a different repeat is a rejected row).
DOSE_CONTENT: dict[str, str] = {
    "taken_at": "time taken",
    "amount": "amount",
    "unit": "unit",
    "lot_id": "lot",
    "source": "source",
}


def dose_content(dose: Dose) -> tuple[Any, ...]:
    """The values of :data:`DOSE_CONTENT` of a dose, in that order (as ``values_list(*DOSE_CONTENT)`` reads them)."""
    return tuple(getattr(dose, name) for name in DOSE_CONTENT)


def dose_differences(stored: Sequence[Any], new: Sequence[Any]) -> list[str]:
    """The words for the fields in which two doses' :func:`dose_content` differ; empty: the same dose (a repeat)."""
    return [word for word, a, b in zip(DOSE_CONTENT.values(), stored, new, strict=True) if a != b]


def differ_text(words: Sequence[str]) -> str:
    """``amount differs`` / ``time taken and amount differ``."""
    if len(words) == 1:
        return f"{words[0]} differs"
    return f"{', '.join(words[:-1])} and {words[-1]} differ"


NUL = "\x00"


def refuse_nul(data: object, field: str = "") -> None:
    """Refuse a NUL character (``\\x00``) anywhere in ``data``: text, or the dicts and lists of a request (keys
    included). No text column can keep it (PostgreSQL refuses it; SQLite stores it and exports it raw), so it is
    refused at the edge with an InputError naming the field (``taper.0.start`` for a nested value)."""
    pending: list[tuple[str, object]] = [(field, data)]
    while pending:  # a loop, not recursion: a deeply nested body cannot exhaust the stack
        name, value = pending.pop()
        if isinstance(value, str):
            if NUL in value:
                shown = name or "the request"
                raise InputError(
                    name or "request",
                    value.replace(NUL, "\\x00"),
                    f"{shown} contains a NUL character (\\x00), which cannot be stored",
                    code="nul_character",
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                path = f"{name}.{key}" if name else str(key)
                pending.extend(((path, key), (path, item)))
        elif isinstance(value, list | tuple):
            pending.extend(((f"{name}.{i}" if name else str(i)), item) for i, item in enumerate(value))
