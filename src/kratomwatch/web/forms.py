"""Parsing the HTML forms of the clinician and patient pages: POST data in, ``(values, errors)`` out.

Contract: a ``parse_*`` function never raises for bad input and never touches the database. It returns the
values it could read and a ``{field: message}`` dict naming every field that is wrong, in the words of the
person filling the form (plain language for patients, the field name for clinicians). The view shows the form
again with those errors (HTTP 400) or hands the values to an action, which may still refuse them
(``InputError``) for reasons only the record can tell.

The patient form choices (severity in plain words, seriousness criteria, outcome, change to kratom use) live
here because they are what the parser accepts; the templates show the same lists.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kratomwatch.alerts.queries import SEVERITIES, SORTS, STATUS_FILTERS, AlertFilter
from kratomwatch.core import exposure
from kratomwatch.core.errors import InputError
from kratomwatch.core.units import ALLOWED_UNITS, Form, Unit
from kratomwatch.records.actions import DoseIn
from kratomwatch.records.models import ActionTaken, AeOutcome, Condition, DoseSource, Patient


class PostData(Protocol):
    """What the parsers read from ``request.POST`` (a ``QueryDict``)."""

    def get(self, key: str, default: Any = ...) -> Any: ...

    def getlist(self, key: str, default: Any = ...) -> list[Any]: ...

    def __iter__(self) -> Any: ...


# --- clinician: care plan and questionnaire schedules ----------------------------------------------------------


def _date(value: str, name: str, errors: dict[str, str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = f"{value!r} is not a date (YYYY-MM-DD)"
        return None


@dataclass(frozen=True)
class CarePlanValues:
    """The care-plan form as submitted. ``rows`` are the taper rows as typed (fully blank rows dropped), to show
    the form again; ``taper`` holds the rows that parsed, as ``(start, target mg/day)``."""

    goals: str
    notes: str
    modalities: list[str]
    rows: list[tuple[str, str]]
    taper: list[tuple[dt.date, float]]


_FIELD_LABELS = {
    "goals": "Goals",
    "notes": "Notes",
    "modalities": "Modalities",
    "taper": "Taper steps",
    "instrument": "Questionnaire",
    "instrument_id": "Questionnaire",
    "every_days": "Every (days)",
    "start": "Starting",
}
_TAPER_FIELD = re.compile(r"^taper\.(\d+)(?:\.(start|target_mg))?$")


def field_label(field: str) -> str:
    """A form field as the care-plan page names it (``taper.0.target_mg`` -> "Taper row 1, daily target (mg)")."""
    taper = _TAPER_FIELD.match(field)
    if taper:
        part = {"start": ", from date", "target_mg": ", daily target (mg)"}.get(taper.group(2) or "", "")
        return f"Taper row {int(taper.group(1)) + 1}{part}"
    return _FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def _taper_indexes(post: PostData) -> list[int]:
    """Row numbers N of the ``taper_start_N`` / ``taper_mg_N`` fields, in order (a row may have only one)."""
    found = set()
    for key in post:
        if str(key).startswith(("taper_start_", "taper_mg_")):
            suffix = str(key).rsplit("_", 1)[1]
            if suffix.isdigit():
                found.add(int(suffix))
    return sorted(found)


def parse_care_plan(post: PostData) -> tuple[CarePlanValues, dict[str, str]]:
    """Goals, notes, modalities and the clinician's taper rows. A row needs both a start date and a daily mg
    target; a fully blank row is skipped. Whether a target may be negative is the action's call."""
    errors: dict[str, str] = {}
    rows: list[tuple[str, str]] = []
    taper: list[tuple[dt.date, float]] = []
    for n in _taper_indexes(post):
        start = str(post.get(f"taper_start_{n}", "")).strip()
        mg = str(post.get(f"taper_mg_{n}", "")).strip()
        if not start and not mg:
            continue
        rows.append((start, mg))
        if not start or not mg:
            errors[f"taper.{n}"] = "each taper row needs both a start date and a daily mg target"
            continue
        try:
            target = float(mg)
        except ValueError:
            errors[f"taper.{n}.target_mg"] = f"{mg!r} is not a number of mg"
            continue
        day = _date(start, f"taper.{n}.start", errors)
        if day is not None:
            taper.append((day, target))
    values = CarePlanValues(
        goals=str(post.get("goals", "")),
        notes=str(post.get("notes", "")),
        modalities=[str(m) for m in post.getlist("modalities")],
        rows=rows,
        taper=taper,
    )
    return values, errors


@dataclass(frozen=True)
class ScheduleValues:
    instrument_id: str
    every_days: int
    start: dt.date


def parse_schedule(post: PostData) -> tuple[ScheduleValues | None, dict[str, str]]:
    """A questionnaire schedule: which instrument, every how many days, from which date. Whether the instrument
    exists is the action's call. No values when any field is wrong."""
    errors: dict[str, str] = {}
    every = str(post.get("every_days", "")).strip()
    if not every.isdigit():
        errors["every_days"] = "enter a whole number of days"
    start = _date(str(post.get("start", "")), "start", errors)
    if errors or start is None:
        return None, errors
    return ScheduleValues(str(post.get("instrument_id", "")), int(every), start), errors


# --- patient: log a dose ------------------------------------------------------------------------------------


#: Form field -> the label the patient sees next to an error.
FIELD_LABELS = {
    "lot_id": "Product",
    "amount": "Amount",
    "unit": "Unit",
    "taken_at": "When",
    "idempotency_key": "Form",
    "term": "What happened",
    "onset": "When it started",
    "grade": "How bad",
    "seriousness": "Serious",
    "outcome": "How it is now",
    "action_taken": "Change to kratom use",
}

DOSE_FIELDS = ("lot_id", "amount", "unit", "taken_at", "form")


def dose_submitted(post: PostData) -> dict[str, str]:
    """The dose form as typed, to show it again after an error."""
    return {k: str(post.get(k, "")) for k in DOSE_FIELDS}


def _day_words(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def when_words(when: dt.datetime, zone: str) -> str:
    """An instant as the patient reads it: ``1 Jan 2030, 10:00`` in their zone (never an ISO offset)."""
    here = when.astimezone(exposure.zone(zone))
    return f"{_day_words(here.date())}, {here:%H:%M}"


def local_wall_time(raw: str, zone: str) -> tuple[dt.datetime | None, str]:
    """A ``datetime-local`` value (``2026-11-01T10:00``, no offset) read as a wall-clock time in ``zone``.

    Returns the aware instant, or an error in the patient's words. Daylight saving time:
    - a time the clocks skip (02:30 on the US spring-forward day) did not happen there, so it is refused;
    - a time that happens twice (01:30 on the US fall-back day) is read as the *first* occurrence (``fold=0``,
      still daylight time); the confirmation page shows the zone abbreviation (CDT or CST) it was read in.
    A value with its own offset is taken as that instant."""
    try:
        typed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None, "Enter the date and time you took it, or leave it blank for now."
    if typed.tzinfo is not None:
        return typed, ""
    tz = exposure.zone(zone)
    first = typed.replace(tzinfo=tz, fold=0)
    back = first.astimezone(dt.UTC).astimezone(tz)
    if back.replace(tzinfo=None) != typed:
        return None, (
            f"{typed:%H:%M} did not exist on {_day_words(typed.date())} in your time zone: the clocks went forward "
            "that night. Check the time."
        )
    return first, ""


def lot_units(form: str) -> list[str]:
    """The units that fit a product form (``core.units.ALLOWED_UNITS``), in the order the unit list shows them."""
    try:
        allowed = ALLOWED_UNITS[Form(form)]
    except ValueError:
        allowed = frozenset(Unit)
    return [u.value for u in Unit if u in allowed]


def form_words(form: str) -> str:
    """A product form as people say it (``leaf_powder`` -> "leaf powder", ``seven_oh_product`` -> "7-OH product")."""
    return {"seven_oh_product": "7-OH product"}.get(form, form.replace("_", " "))


#: Codes whose words are not just the code with spaces.
_CODE_WORDS = {
    **{c.value: c.label for c in Condition},
    "case_reports_surveillance": "case reports and surveillance",
    "in_vitro": "in vitro",
}


def words(code: str) -> str:
    """A stored code as a clinician reads it: a condition by its label (``chronic_pain`` -> "Chronic pain"), an
    evidence level or product form in words (``case_reports_surveillance`` -> "case reports and surveillance")."""
    return _CODE_WORDS.get(code, form_words(code))


def rule_words(rule_id: str) -> str:
    """An alert rule's id as the queue's "kind" filter names it (``serious_adverse_event`` -> "Serious adverse
    event")."""
    return rule_id.replace("_", " ").replace("-", " ").capitalize()


def words_list(codes: Collection[str]) -> str:
    """Several codes in words, comma-separated (the order given)."""
    return ", ".join(words(c) for c in codes)


#: Refusals whose patient wording does not depend on the value: InputError code -> (form field, message).
_PATIENT_WORDS = {
    "consent_required": (
        "form",
        "You have no active care consent, so nothing can be recorded yet. Sign the consent from your page "
        "(My consent), or ask your care team.",
    ),
    "unit_form_mismatch": ("unit", "That unit does not fit this product. Choose one of the units listed for it."),
    "implausible_amount": ("amount", "That amount is far more than one dose could be. Check the amount and the unit."),
}


def patient_message(exc: InputError, *, zone: str) -> tuple[str, str]:
    """An action's refusal as ``(form field, message)`` in the words of the patient filling the form: no field
    ids, no product form ids, no ISO timestamps. Unknown refusals get a plain fallback, never the raw text."""
    code = getattr(exc, "code", "")
    field = exc.field if exc.field in FIELD_LABELS else "form"
    if code in _PATIENT_WORDS:
        return _PATIENT_WORDS[code]
    if code in {"before_enrolment", "too_old"}:
        return field, exc.message
    if exc.field == "taken_at" and isinstance(exc.value, str) and "future" in exc.message:
        try:
            when = dt.datetime.fromisoformat(exc.value)
        except ValueError:
            return "taken_at", "That time is in the future. Enter when you took it, or leave it blank for now."
        return "taken_at", (
            f"That time ({when_words(when, zone)}) is in the future. Enter when you took it, or leave it blank for now."
        )
    if exc.field == "onset" and "future" in exc.message:
        return "onset", "That date is in the future. Enter the day it started."
    if exc.field == "lot_id":
        return "lot_id", "Choose a product from the list."
    return field, "This could not be saved. Check what you entered and try again, or ask your care team."


def parse_dose(
    post: PostData,
    *,
    patient: Patient,
    lot_ids: Collection[int],
    now: dt.datetime,
    lot_forms: Mapping[int, str] | None = None,
) -> tuple[DoseIn | None, dict[str, str]]:
    """A self-reported dose. ``lot_ids`` are the lots the patient may choose (``lot_forms``: their product
    forms, to check the unit fits); a blank time means ``now`` and a time without an offset is read in the
    patient's time zone (:func:`local_wall_time`). Returns no dose when any field is wrong."""
    errors: dict[str, str] = {}
    key = str(post.get("idempotency_key", "")).strip()
    if not key or len(key) > 128:
        errors["idempotency_key"] = "This form has expired. Please reload the page and try again."
    raw_lot = str(post.get("lot_id", "")).strip()
    lot_id: int | None = None
    try:
        lot_id = int(raw_lot)
    except ValueError:
        errors["lot_id"] = "Choose the product you took."
    else:
        if lot_id not in lot_ids:
            errors["lot_id"] = "Choose a product from the list."
    raw_amount = str(post.get("amount", "")).strip().replace(",", ".")
    amount = 0.0
    try:
        amount = float(raw_amount)
    except ValueError:
        errors["amount"] = "Enter the amount you took as a number, for example 2.5."
    else:
        if not math.isfinite(amount) or amount <= 0:
            errors["amount"] = "The amount must be a number greater than zero."
    unit = str(post.get("unit", "")).strip()
    if unit not in {u.value for u in Unit}:
        errors["unit"] = "Choose a unit from the list."
    taken_at = now.replace(microsecond=0)
    raw_when = str(post.get("taken_at", "")).strip()
    if raw_when:
        when, problem = local_wall_time(raw_when, patient.time_zone)
        if when is None:
            errors["taken_at"] = problem
        else:
            taken_at = when
    if lot_forms is not None and lot_id is not None and lot_id in lot_forms and "unit" not in errors:
        fits = lot_units(lot_forms[lot_id])
        if unit not in fits:
            errors["unit"] = (
                f"{unit} does not fit a {form_words(lot_forms[lot_id])} product. Choose one of: {', '.join(fits)}."
            )
    if errors or lot_id is None:
        return None, errors
    dose = DoseIn(
        patient_code=patient.code,
        lot_id=lot_id,
        taken_at=taken_at,
        amount=amount,
        unit=unit,
        source=DoseSource.SELF_REPORT.value,
        idempotency_key=key,
    )
    return dose, errors


# --- patient: report a side effect ----------------------------------------------------------------------------

#: Plain words for the CTCAE grades a patient can report (1-3). Grades 4-5 are for clinicians to assign.
SEVERITY = [
    (1, "Mild", "I notice it, but it does not get in the way of my day."),
    (2, "Moderate", "It limits everyday tasks such as cooking, shopping, work or getting around."),
    (3, "Severe", "It limits looking after myself (washing, dressing, eating), or I needed hospital care."),
]

#: ICH E2A seriousness criteria in plain language (death is not self-reported).
SERIOUS = [
    ("life_threatening", "It could have killed me at the time it happened (life-threatening)."),
    ("hospitalization", "I had to stay in hospital, or my hospital stay was made longer."),
    ("disability", "It left me with a lasting or major problem doing normal activities."),
    ("congenital_anomaly", "I was pregnant and my baby has a birth defect."),
    ("medically_important", "A doctor told me it was medically serious, or I needed treatment to stop it becoming so."),
]

OUTCOMES = [
    (AeOutcome.UNKNOWN.value, "I am not sure"),
    (AeOutcome.RECOVERED.value, "It has gone"),
    (AeOutcome.RECOVERING.value, "It is getting better"),
    (AeOutcome.NOT_RECOVERED.value, "It has not gone"),
]

ACTIONS = [
    (ActionTaken.UNKNOWN.value, "I am not sure / prefer not to say"),
    (ActionTaken.NONE.value, "No change"),
    (ActionTaken.REDUCED.value, "I used less kratom"),
    (ActionTaken.INTERRUPTED.value, "I paused kratom for a while"),
    (ActionTaken.STOPPED.value, "I stopped kratom"),
]


@dataclass(frozen=True)
class SideEffectValues:
    """The side-effect form as typed (strings, to show it again). ``onset_date`` and ``grade_number`` are the
    parsed values, to be read only when :func:`parse_side_effect` reported no error."""

    term: str = ""
    onset: str = ""
    grade: str = ""
    serious: list[str] = field(default_factory=list)
    outcome: str = AeOutcome.UNKNOWN.value
    action_taken: str = ActionTaken.UNKNOWN.value

    @property
    def onset_date(self) -> dt.date:
        return dt.date.fromisoformat(self.onset)

    @property
    def grade_number(self) -> int:
        return int(self.grade)


def parse_side_effect(post: PostData) -> tuple[SideEffectValues, dict[str, str]]:
    """A self-reported adverse event: what happened, when it started, how bad (grade 1-3), seriousness
    criteria, how it is now and any change to kratom use."""
    values = SideEffectValues(
        term=str(post.get("term", "")).strip(),
        onset=str(post.get("onset", "")).strip(),
        grade=str(post.get("grade", "")).strip(),
        serious=[str(c) for c in post.getlist("seriousness")],
        outcome=str(post.get("outcome", AeOutcome.UNKNOWN.value)),
        action_taken=str(post.get("action_taken", ActionTaken.UNKNOWN.value)),
    )
    errors: dict[str, str] = {}
    if not values.term:
        errors["term"] = "Describe the side effect in a few words, for example 'nausea'."
    elif len(values.term) > 200:
        errors["term"] = "Please keep the description under 200 characters."
    try:
        dt.date.fromisoformat(values.onset)
    except ValueError:
        errors["onset"] = "Enter the date it started (year-month-day)."
    if values.grade not in {str(g) for g, _, _ in SEVERITY}:
        errors["grade"] = "Choose how bad it is: mild, moderate or severe."
    allowed = {c for c, _ in SERIOUS}
    if any(c not in allowed for c in values.serious):
        errors["seriousness"] = "Choose only from the listed statements."
    if values.outcome not in {v for v, _ in OUTCOMES}:
        errors["outcome"] = "Choose one of the listed answers."
    if values.action_taken not in {v for v, _ in ACTIONS}:
        errors["action_taken"] = "Choose one of the listed answers."
    return values, errors


__all__ = [
    "ACTIONS",
    "FIELD_LABELS",
    "OUTCOMES",
    "SERIOUS",
    "SEVERITY",
    "CarePlanValues",
    "PostData",
    "ScheduleValues",
    "SideEffectValues",
    "dose_submitted",
    "form_words",
    "local_wall_time",
    "lot_units",
    "parse_care_plan",
    "parse_dose",
    "parse_queue_filter",
    "parse_schedule",
    "parse_side_effect",
    "patient_message",
    "when_words",
]


# --- clinician: the alert queue filter --------------------------------------------------------------------------


def parse_queue_filter(params: PostData, program_ids: Collection[int]) -> tuple[AlertFilter, dict[str, str]]:
    """The alert queue's filter menu (GET parameters) and the choices to show as selected.

    A link with an unknown value must still open the queue, so nothing here is an error: an unknown severity
    or program shows every severity or program, an unknown status shows every status. A program the user has
    no care role in is ignored the same way (``program_ids`` are theirs), never a way to probe others."""
    severity = str(params.get("severity", ""))
    if severity not in SEVERITIES:
        severity = ""
    state = str(params.get("status", "active"))
    if state not in STATUS_FILTERS:
        state = "all"
    rule = str(params.get("rule", "")).strip()
    program = str(params.get("program", ""))
    if not (program.isdigit() and int(program) in program_ids):
        program = ""
    patient = str(params.get("patient", "")).strip()[:64]
    sort = str(params.get("sort", "severity"))
    if sort not in SORTS:
        sort = "severity"
    flt = AlertFilter(
        status=state,
        severity=severity or None,
        rule=rule or None,
        program_id=int(program) if program else None,
        patient_code=patient or None,
        sort=sort,
    )
    selected = {"severity": severity, "status": state, "rule": rule, "program": program}
    return flt, {**selected, "patient": patient, "sort": sort}
