"""Care-team data entry: enrol a patient, invite them to create their login, and record medications, labs,
adverse events and clinic-observed doses from the patient page.

Same rules as the API: the patient comes from ``kratomwatch.access`` (another clinic's patient is a 404; a
researcher or patient gets 403), writes go through ``records.actions`` (one transaction each, audited, alerts
re-evaluated by the write hook) after ``access.get_writable_patient_for`` checked the care role and the care
consent. Form parsing is here (``parse_*``: POST in, ``(values, errors)`` out, never raising, no database) and
every error is shown next to its field, in the words of the form (HTTP 400); nothing is saved unless every
field is right. Times typed into a form are read in the patient's time zone, which the label names. These
pages record what the care team observed or prescribed; they never suggest a kratom amount.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
import zoneinfo
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.accounts import invites
from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, current_remote_addr
from kratomwatch.consent.guard import ConsentRequired
from kratomwatch.consent.status import care_allowed
from kratomwatch.core import exposure, units
from kratomwatch.core.errors import InputError
from kratomwatch.core.screening.interactions import screen_interactions
from kratomwatch.knowledge.loader import jurisdictions, screening_knowledge
from kratomwatch.records import actions
from kratomwatch.records.models import (
    LAB_UNITS,
    ActionTaken,
    AeOutcome,
    Causality,
    Condition,
    DoseSource,
    LabResult,
    LabTest,
    Lot,
    Patient,
    Seriousness,
    Sex,
)
from kratomwatch.web import consent as consent_views
from kratomwatch.web.forms import PostData, form_words
from kratomwatch.web.pages import source_links
from kratomwatch.web.security import access_errors, clinician_required
from kratomwatch.web.templatetags.kwtime import local

# --- choices shown on the forms --------------------------------------------------------------------------------

COMMON_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/Toronto",
    "America/Vancouver",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Asia/Bangkok",
    "Asia/Kuala_Lumpur",
    "Australia/Sydney",
)
OTHER_ZONE = "other"

HISTORY_LABELS = {
    "pregnant": "Pregnant",
    "breastfeeding": "Breastfeeding",
    "liver_disease": "Liver disease",
    "seizure_disorder": "Seizure disorder",
    "cardiac_qt": "Long QT or other heart-rhythm risk",
    "respiratory_disease": "Respiratory disease (e.g. COPD, sleep apnoea)",
}

#: CTCAE v5.0 general grade descriptions (NCI, 2017).
CTCAE_GRADES = (
    (1, "Mild", "Asymptomatic or mild symptoms; clinical or diagnostic observations only; intervention not indicated."),
    (2, "Moderate", "Minimal, local or noninvasive intervention indicated; limiting age-appropriate instrumental ADL."),
    (
        3,
        "Severe",
        "Severe or medically significant but not immediately life-threatening; hospitalization or prolongation of "
        "hospitalization indicated; disabling; limiting self-care ADL.",
    ),
    (4, "Life-threatening", "Life-threatening consequences; urgent intervention indicated."),
    (5, "Death", "Death related to the adverse event."),
)

UNIT_WORDS = {
    "g": "grams (g)",
    "mg": "milligrams (mg)",
    "capsule": "capsules",
    "tablet": "tablets",
    "mL": "millilitres (mL)",
    "teaspoon": "teaspoons",
    "tablespoon": "tablespoons",
}

LAB_UNIT_WORDS = {"umol/L": "µmol/L"}

#: Internal names an action may use in a message -> the words of the forms.
_WORDS = {
    "upper_limit_normal": "upper limit of normal",
    "lower_limit_normal": "lower limit of normal",
    "taken_at": "time",
    "birth_year": "year of birth",
    "lot_id": "lot",
    "idempotency_key": "form",
    "time_zone": "time zone",
    "action_taken": "action taken",
    "dose_text": "dose",
    "patient_code": "patient",
    **{f.value: form_words(f.value) for f in units.Form},
    **{c.value: c.label for c in Condition},
    **{c.value: c.label for c in Seriousness},
}
_INTERNAL = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def plain(message: str) -> str:
    """An action's message with internal names (``taken_at``, ``leaf_powder``) in the words of the forms."""
    return _INTERNAL.sub(lambda m: _WORDS.get(m.group(0), m.group(0).replace("_", " ")), message)


@dataclass
class Form:
    """A submitted form: the values as typed (to show again), the parsed values, and errors per field."""

    labels: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict)
    clean: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def summary(self) -> list[dict[str, str]]:
        return [{"field": k, "label": self.labels.get(k, k), "message": v} for k, v in self.errors.items()]

    def from_action(self, exc: InputError, fields: dict[str, str]) -> None:
        """An error the action raised: on the form's field for it (else the first field), in form words."""
        name = fields.get(exc.field, exc.field if exc.field in self.labels else next(iter(self.labels)))
        self.error(name, plain(exc.message))


def _text(post: PostData, name: str) -> str:
    return str(post.get(name, "")).strip()


def _number(form: Form, post: PostData, name: str, *, required: bool, what: str) -> float | None:
    raw = _text(post, name).replace(",", ".")
    form.raw[name] = raw
    if not raw:
        if required:
            form.error(name, f"Enter the {what}.")
        return None
    try:
        value = float(raw)
    except ValueError:
        form.error(name, f"Enter the {what} as a number, for example 12.5.")
        return None
    if not math.isfinite(value) or value < 0:
        form.error(name, f"The {what} must be a number of zero or more.")
        return None
    return value


def _day(form: Form, post: PostData, name: str, *, required: bool, what: str) -> dt.date | None:
    raw = _text(post, name)
    form.raw[name] = raw
    if not raw:
        if required:
            form.error(name, f"Enter the {what}.")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        form.error(name, f"Enter the {what} as a date (year-month-day).")
        return None


def _local_time(form: Form, post: PostData, name: str, zone: str, now: dt.datetime) -> dt.datetime | None:
    """A ``datetime-local`` value read in ``zone``; blank means now."""
    raw = _text(post, name)
    form.raw[name] = raw
    if not raw:
        return now.replace(microsecond=0)
    try:
        naive = dt.datetime.fromisoformat(raw)
    except ValueError:
        form.error(name, "Enter the date and time (year-month-day and hours:minutes), or leave it blank for now.")
        return None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=exposure.zone(zone))


def _choice(form: Form, post: PostData, name: str, allowed: Collection[str], message: str) -> str:
    raw = _text(post, name)
    form.raw[name] = raw
    if raw not in allowed:
        form.error(name, message)
    return raw


# --- enrolment -------------------------------------------------------------------------------------------------

ENROL_LABELS = {
    "program": "Program",
    "code": "Patient code",
    "birth_year": "Year of birth",
    "sex": "Sex",
    "time_zone": "Time zone",
    "jurisdiction": "State or country",
    "conditions": "Conditions",
    **HISTORY_LABELS,
}


def jurisdiction_choices() -> list[tuple[str, str]]:
    return sorted(((j.code, j.name) for j in jurisdictions()), key=lambda item: item[1])


def parse_enrol(
    post: PostData, *, program_ids: Collection[int], jurisdiction_codes: Collection[str], today: dt.date
) -> Form:
    form = Form(ENROL_LABELS)
    program = _choice(form, post, "program", {str(p) for p in program_ids}, "Choose one of your programs.")
    code = _text(post, "code")
    form.raw["code"] = code
    if not code:
        form.error("code", "Enter the patient code.")
    elif len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
        form.error("code", "Use 1-32 letters, digits, - or _ (a pseudonymous code, never a name).")
    year = _text(post, "birth_year")
    form.raw["birth_year"] = year
    if not (year.isdigit() and 1900 <= int(year) <= today.year):
        form.error("birth_year", f"Enter a year between 1900 and {today.year}.")
    sex = _choice(form, post, "sex", Sex.values, "Choose one of the listed answers.")
    zone = _text(post, "time_zone")
    other = _text(post, "time_zone_other")
    form.raw.update(time_zone=zone, time_zone_other=other)
    if zone == OTHER_ZONE:
        zone = other
    if not zone:
        form.error("time_zone", "Choose the patient's time zone, or type it under Other.")
    elif zone not in zoneinfo.available_timezones():
        form.error("time_zone", f"{zone!r} is not a known time zone; type it as Region/City, e.g. America/Chicago.")
    jurisdiction = _choice(
        form, post, "jurisdiction", jurisdiction_codes, "Choose where the patient lives from the list."
    )
    conditions = [str(c) for c in post.getlist("conditions")]
    form.raw["conditions"] = conditions
    if any(c not in Condition.values for c in conditions):
        form.error("conditions", "Choose only from the listed conditions.")
    history = {name: post.get(name) == "on" for name in HISTORY_LABELS}
    form.raw.update(history)
    if not form.errors:
        form.clean = {
            "program_id": int(program),
            "code": code,
            "birth_year": int(year),
            "sex": sex,
            "time_zone": zone,
            "jurisdiction": jurisdiction,
            "conditions": conditions,
            **history,
        }
    return form


def _enrol_context(request: HttpRequest, form: Form, programs: list[Program]) -> dict[str, Any]:
    raw = form.raw
    zone = raw.get("time_zone", "")
    return {
        "form": form,
        "errors": form.errors,
        "summary": form.summary(),
        "raw": raw,
        "programs": programs,
        "sexes": Sex.choices,
        "zones": COMMON_ZONES,
        "zone_other": zone == OTHER_ZONE or (bool(zone) and zone not in COMMON_ZONES),
        "jurisdictions": jurisdiction_choices(),
        "conditions": [(v, label, v in raw.get("conditions", [])) for v, label in Condition.choices],
        "history": [(name, label, bool(raw.get(name))) for name, label in HISTORY_LABELS.items()],
    }


@clinician_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    programs = list(access.programs_for(request.user).order_by("name"))
    if request.method == "GET":
        form = Form(ENROL_LABELS, raw={"program": str(programs[0].pk) if len(programs) == 1 else ""})
        return render(request, "web/entry/enrol.html", _enrol_context(request, form, programs))
    today = timezone.localdate()
    form = parse_enrol(
        request.POST,
        program_ids=[p.pk for p in programs],
        jurisdiction_codes={code for code, _ in jurisdiction_choices()},
        today=today,
    )
    if not form.errors:
        values = dict(form.clean)
        program = access.get_program_for(request.user, values.pop("program_id"))
        access.require_care_role(request.user, program)
        try:
            patient = actions.create_patient(actor=Actor.of(request.user), program=program, **values)
        except InputError as exc:
            form.from_action(exc, {"code": "code", "birth_year": "birth_year", "time_zone": "time_zone"})
        else:
            messages.success(
                request,
                f"Patient {patient.code} enrolled. Next: invite them to create their own login, so they can sign "
                "the consent.",
            )
            return redirect("clinic-patient", code=patient.code)
    return render(request, "web/entry/enrol.html", _enrol_context(request, form, programs), status=400)


# --- the patient's entry pages: shared --------------------------------------------------------------------------


def _care_patient(request: HttpRequest, code: str, purpose: str) -> Patient:
    """The patient (404 if not visible) whose care team the user is (403 otherwise: ``access.get_care_patient_for``)."""
    return access.get_care_patient_for(request.user, code, purpose=purpose)


def _entry_page(
    request: HttpRequest,
    template: str,
    patient: Patient,
    form: Form,
    extra: dict[str, Any],
    *,
    status: int = 200,
    consent_missing: bool | None = None,
) -> HttpResponse:
    context = {
        "p": patient,
        "form": form,
        "errors": form.errors,
        "summary": form.summary(),
        "raw": form.raw,
        "consent_missing": (not care_allowed(patient, care_team=True)) if consent_missing is None else consent_missing,
        "zone": patient.time_zone,
        "next": request.get_full_path(),
        **extra,
    }
    return render(request, template, context, status=status)


def _save(request: HttpRequest, code: str, form: Form, write: Callable[[Patient], str], fields: dict[str, str]) -> bool:
    """Run ``write`` (returns the success message) on the writable patient. False when care consent is missing."""
    try:
        patient = access.get_writable_patient_for(request.user, code)
    except ConsentRequired:
        return False
    try:
        message = write(patient)
    except InputError as exc:
        form.from_action(exc, fields)
        return True
    messages.success(request, message)
    return True


@dataclass(frozen=True)
class Entry:
    """One entry page: its template, its extra context, its write and the form field of each action field."""

    template: str
    context: Callable[[Patient], dict[str, Any]]
    write: Callable[[Patient], str]
    fields: dict[str, str]


def _post_entry(request: HttpRequest, code: str, form: Form, entry: Entry) -> HttpResponse:
    patient = _care_patient(request, code, purpose="entry_form")
    if form.errors:
        return _entry_page(request, entry.template, patient, form, entry.context(patient), status=400)
    if not _save(request, code, form, entry.write, entry.fields):
        context = entry.context(patient)
        return _entry_page(request, entry.template, patient, form, context, status=403, consent_missing=True)
    if form.errors:
        return _entry_page(request, entry.template, patient, form, entry.context(patient), status=400)
    return redirect("clinic-patient", code=patient.code)


# --- medications ------------------------------------------------------------------------------------------------

MEDICATION_LABELS = {"name": "Medication", "dose_text": "Dose and how often", "start": "Started", "stop": "Stopped"}


def parse_medication(post: PostData) -> Form:
    form = Form(MEDICATION_LABELS)
    name = _text(post, "name")
    dose_text = _text(post, "dose_text")
    form.raw.update(name=name, dose_text=dose_text)
    if not name:
        form.error("name", "Enter the medication name as written on the prescription or label.")
    elif len(name) > 200:
        form.error("name", "Keep the medication name under 200 characters.")
    if len(dose_text) > 200:
        form.error("dose_text", "Keep the dose under 200 characters.")
    start = _day(form, post, "start", required=False, what="start date")
    stop = _day(form, post, "stop", required=False, what="stop date")
    if start and stop and stop < start:
        form.error("stop", "The stop date is before the start date.")
    form.clean = {"name": name, "dose_text": dose_text, "start": start, "stop": stop}
    return form


@dataclass(frozen=True)
class Check:
    """The interaction screening of one typed medication name (as the patient page screens the list)."""

    entered: str
    status: str
    matched_term: str | None
    findings: list[Any]
    positives: list[Any]
    suggestions: list[str]


def check_medication(name: str) -> Check:
    screening = screen_interactions([name], screening_knowledge())
    match = screening.matches[0]
    return Check(
        entered=name,
        status=match.status,
        matched_term=match.matched_term,
        findings=[{"finding": f, "sources": source_links(f.sources)} for f in screening.findings],
        positives=[{"finding": f, "sources": source_links(f.sources)} for f in screening.positives],
        suggestions=[s.term for s in match.suggestions],
    )


@clinician_required
@require_http_methods(["GET", "POST"])
def medication(request: HttpRequest, code: str) -> HttpResponse:
    template = "web/entry/medication.html"
    if request.method == "GET":
        patient = _care_patient(request, code, purpose="entry_form")
        return _entry_page(request, template, patient, Form(MEDICATION_LABELS), {"check": None})
    form = parse_medication(request.POST)
    if request.POST.get("action") == "check" or form.errors:
        patient = _care_patient(request, code, purpose="entry_form")
        check = check_medication(form.clean["name"]) if form.clean.get("name") and "name" not in form.errors else None
        return _entry_page(request, template, patient, form, {"check": check}, status=400 if form.errors else 200)

    def write(patient: Patient) -> str:
        med = actions.record_medication(actor=Actor.of(request.user), patient=patient, **form.clean)
        result = check_medication(med.name)
        found = len(result.findings)
        screened = (
            f"{found} interaction finding{'s' if found != 1 else ''}; see below"
            if result.status == "matched"
            else "not matched with certainty: confirm the name below"
        )
        return f"Medication {med.name} saved ({screened})."

    return _post_entry(request, code, form, Entry(template, lambda p: {"check": None}, write, {"stop": "stop"}))


# --- labs -------------------------------------------------------------------------------------------------------

LAB_UNIT_CHOICES = tuple(dict.fromkeys(u for units_ in LAB_UNITS.values() for u in units_))


def _lab_labels(zone: str) -> dict[str, str]:
    return {
        "test": "Test",
        "value": "Result",
        "unit": "Unit",
        "lln": "Lower limit of normal",
        "uln": "Upper limit of normal",
        "taken_at": f"Sample taken ({zone} time)",
    }


def parse_lab(post: PostData, *, zone: str, now: dt.datetime) -> Form:
    form = Form(_lab_labels(zone))
    test = _choice(form, post, "test", LabTest.values, "Choose the test.")
    value = _number(form, post, "value", required=True, what="result")
    unit = _choice(form, post, "unit", LAB_UNIT_CHOICES, "Choose the unit.")
    if "test" not in form.errors and "unit" not in form.errors and unit not in LAB_UNITS[test]:
        fits = " or ".join(LAB_UNIT_WORDS.get(u, u) for u in LAB_UNITS[test])
        form.error("unit", f"{LAB_UNIT_WORDS.get(unit, unit)} does not fit {LabTest(test).label}: use {fits}.")
    lln = _number(form, post, "lln", required=False, what="lower limit of normal")
    absolute = test in actions.ABSOLUTE_LAB_TESTS
    uln = _number(form, post, "uln", required=not absolute, what="upper limit of normal from the lab report")
    if uln is not None and uln <= 0 and "uln" not in form.errors:
        form.error("uln", "The upper limit of normal must be greater than zero.")
    if lln is not None and uln is not None and lln >= uln and "lln" not in form.errors:
        form.error("lln", "The lower limit of normal must be below the upper limit.")
    taken_at = _local_time(form, post, "taken_at", zone, now)
    form.clean = {
        "test": test,
        "value": value,
        "unit": unit,
        "lower_limit_normal": lln,
        "upper_limit_normal": uln,
        "taken_at": taken_at,
    }
    return form


def lab_flag(lab: LabResult) -> str:
    """H above the upper limit of normal, L below the lower limit, "" within the range or without one."""
    if lab.upper_limit_normal is not None and lab.value > lab.upper_limit_normal:
        return "H"
    if lab.lower_limit_normal is not None and lab.value < lab.lower_limit_normal:
        return "L"
    return ""


def _lab_extra(patient: Patient) -> dict[str, Any]:
    return {
        "tests": LabTest.choices,
        "units": [(u, LAB_UNIT_WORDS.get(u, u)) for u in LAB_UNIT_CHOICES],
        "units_by_test": [
            (LabTest(t).label, ", ".join(LAB_UNIT_WORDS.get(u, u) for u in us)) for t, us in LAB_UNITS.items()
        ],
        "absolute": [LabTest(t).label for t in sorted(actions.ABSOLUTE_LAB_TESTS)],
    }


@clinician_required
@require_http_methods(["GET", "POST"])
def lab(request: HttpRequest, code: str) -> HttpResponse:
    template = "web/entry/lab.html"
    if request.method == "GET":
        patient = _care_patient(request, code, purpose="entry_form")
        return _entry_page(request, template, patient, Form(_lab_labels(patient.time_zone)), _lab_extra(patient))
    patient = _care_patient(request, code, purpose="entry_form")
    now = dt.datetime.now(dt.UTC)
    form = parse_lab(request.POST, zone=patient.time_zone, now=now)

    def write(p: Patient) -> str:
        saved = actions.record_lab(actor=Actor.of(request.user), patient=p, now=now, **form.clean)
        flag = lab_flag(saved)
        limits = []
        if saved.lower_limit_normal is not None:
            limits.append(f"lower {saved.lower_limit_normal:g}")
        if saved.upper_limit_normal is not None:
            limits.append(f"upper {saved.upper_limit_normal:g}")
        ranged = f" (normal range: {', '.join(limits)} {saved.unit})" if limits else ""
        times = (
            f", {saved.value / saved.upper_limit_normal:.1f} x upper limit"
            if flag == "H" and saved.upper_limit_normal
            else ""
        )
        return (
            f"Lab saved: {saved.get_test_display()} {saved.value:g} {LAB_UNIT_WORDS.get(saved.unit, saved.unit)}"
            f"{' ' + flag if flag else ''}{times}{ranged}, sample taken {local(saved.taken_at, p.time_zone)}."
        )

    fields = {"upper_limit_normal": "uln", "lower_limit_normal": "lln", "taken_at": "taken_at"}
    return _post_entry(request, code, form, Entry(template, _lab_extra, write, fields))


# --- adverse events ---------------------------------------------------------------------------------------------

AE_LABELS = {
    "term": "Adverse event",
    "onset": "Onset date",
    "grade": "CTCAE grade",
    "seriousness": "Seriousness (ICH E2A)",
    "outcome": "Outcome",
    "causality": "Causality (WHO-UMC)",
    "action_taken": "Action taken with kratom",
}


def parse_adverse_event(post: PostData) -> Form:
    form = Form(AE_LABELS)
    term = _text(post, "term")
    form.raw["term"] = term
    if not term:
        form.error("term", "Enter the adverse event, for example 'nausea' or 'seizure'.")
    elif len(term) > 200:
        form.error("term", "Keep the term under 200 characters.")
    onset = _day(form, post, "onset", required=True, what="onset date")
    grade = _choice(form, post, "grade", [str(g) for g, _, _ in CTCAE_GRADES], "Choose a grade from 1 to 5.")
    seriousness = [str(s) for s in post.getlist("seriousness")]
    form.raw["seriousness"] = seriousness
    if any(s not in Seriousness.values for s in seriousness):
        form.error("seriousness", "Choose only from the listed criteria.")
    outcome = _choice(form, post, "outcome", AeOutcome.values, "Choose an outcome from the list.")
    causality = _choice(form, post, "causality", Causality.values, "Choose a causality category from the list.")
    action = _choice(form, post, "action_taken", ActionTaken.values, "Choose the action taken from the list.")
    form.clean = {
        "term": term,
        "onset": onset,
        "grade": int(grade) if grade.isdigit() else 0,
        "seriousness": seriousness,
        "outcome": outcome,
        "causality": causality,
        "action_taken": action,
    }
    return form


def _ae_extra(patient: Patient) -> dict[str, Any]:
    return {
        "grades": CTCAE_GRADES,
        "criteria": Seriousness.choices,
        "outcomes": AeOutcome.choices,
        "causalities": Causality.choices,
        "actions_taken": ActionTaken.choices,
        "today": patient.local_today().isoformat(),
    }


@clinician_required
@require_http_methods(["GET", "POST"])
def adverse_event(request: HttpRequest, code: str) -> HttpResponse:
    template = "web/entry/adverse_event.html"
    if request.method == "GET":
        patient = _care_patient(request, code, purpose="entry_form")
        form = Form(AE_LABELS, raw={"outcome": "unknown", "causality": "unassessable", "action_taken": "unknown"})
        return _entry_page(request, template, patient, form, _ae_extra(patient))
    form = parse_adverse_event(request.POST)

    def write(p: Patient) -> str:
        ae = actions.record_adverse_event(actor=Actor.of(request.user), patient=p, today=p.local_today(), **form.clean)
        serious = " (serious)" if ae.seriousness else ""
        return f"Adverse event saved: {ae.term}, grade {ae.grade}{serious}, onset {ae.onset.isoformat()}."

    return _post_entry(request, code, form, Entry(template, _ae_extra, write, {"onset": "onset", "grade": "grade"}))


# --- clinic-observed doses --------------------------------------------------------------------------------------


def _dose_labels(zone: str) -> dict[str, str]:
    return {"lot": "Product and lot", "amount": "Amount", "unit": "Unit", "taken_at": f"Taken at ({zone} time)"}


def _lot_units(lot: Lot) -> list[str]:
    return sorted(u.value for u in units.ALLOWED_UNITS[units.Form(lot.product.form)])


def lot_label(lot: Lot) -> str:
    fits = ", ".join(UNIT_WORDS.get(u, u) for u in _lot_units(lot))
    recalled = " - RECALLED" if lot.recalled else ""
    product = f"{lot.product.vendor} {lot.product.name}, lot {lot.lot_code}"
    return f"{product} ({form_words(lot.product.form)}: {fits}){recalled}"


def parse_dose(post: PostData, *, zone: str, lots: dict[int, Lot], now: dt.datetime) -> Form:
    form = Form(_dose_labels(zone))
    raw_lot = _text(post, "lot")
    form.raw["lot"] = raw_lot
    lot = lots.get(int(raw_lot)) if raw_lot.isdigit() else None
    if lot is None:
        form.error("lot", "Choose the product and lot from the list.")
    amount = _number(form, post, "amount", required=True, what="amount")
    if amount is not None and amount <= 0:
        form.error("amount", "The amount must be greater than zero.")
    unit = _choice(form, post, "unit", [u.value for u in units.Unit], "Choose a unit.")
    if lot is not None and "unit" not in form.errors and unit not in _lot_units(lot):
        fits = ", ".join(UNIT_WORDS.get(u, u) for u in _lot_units(lot))
        form.error("unit", f"{UNIT_WORDS[unit]} do not fit a {form_words(lot.product.form)} product: use {fits}.")
    taken_at = _local_time(form, post, "taken_at", zone, now)
    key = _text(post, "form_id")
    form.raw["form_id"] = key
    if not key or len(key) > 100:
        form.error("lot", "This form has expired: reload the page and enter the dose again.")
    form.clean = {"lot": lot, "amount": amount, "unit": unit, "taken_at": taken_at, "key": f"web:{key}"}
    return form


def _dose_extra(user: Any) -> Callable[[Patient], dict[str, Any]]:
    def extra(patient: Patient) -> dict[str, Any]:
        lots = list(access.lots_for(user, program_id=patient.program_id))
        return {
            "lots": [(lot.pk, lot_label(lot)) for lot in lots],
            "units": [(u.value, UNIT_WORDS[u.value]) for u in units.Unit],
        }

    return extra


@clinician_required
@require_http_methods(["GET", "POST"])
def dose(request: HttpRequest, code: str) -> HttpResponse:
    template = "web/entry/dose.html"
    extra = _dose_extra(request.user)
    if request.method == "GET":
        patient = _care_patient(request, code, purpose="entry_form")
        form = Form(_dose_labels(patient.time_zone), raw={"form_id": uuid.uuid4().hex})
        return _entry_page(request, template, patient, form, extra(patient))
    patient = _care_patient(request, code, purpose="entry_form")
    now = dt.datetime.now(dt.UTC)
    lots = {lot.pk: lot for lot in access.lots_for(request.user, program_id=patient.program_id)}
    form = parse_dose(request.POST, zone=patient.time_zone, lots=lots, now=now)

    def write(p: Patient) -> str:
        c = form.clean
        dose_in = actions.DoseIn(
            patient_code=p.code,
            lot_id=c["lot"].pk,
            taken_at=c["taken_at"],
            amount=c["amount"],
            unit=c["unit"],
            source=DoseSource.CLINICIAN.value,
            idempotency_key=c["key"],
        )
        saved, created = actions.record_dose(actor=Actor.of(request.user), patient=p, dose=dose_in, now=now)
        first = "Observed dose saved" if created else "This observed dose was already saved (the form was sent twice)"
        return f"{first}: {saved.amount:g} {saved.unit} at {local(saved.taken_at, p.time_zone)}."

    fields = {"lot_id": "lot", "amount": "amount", "unit": "unit", "taken_at": "taken_at", "idempotency_key": "lot"}
    return _post_entry(request, code, form, Entry(template, extra, write, fields))


# --- consent override: the page lives with the consent pages (web/consent.py), the URL stays here -------------------

consent_override = consent_views.consent_override


# --- invitations ---------------------------------------------------------------------------------------------------


@clinician_required
@require_http_methods(["GET", "POST"])
def patient_invite(request: HttpRequest, code: str) -> HttpResponse:
    patient = _care_patient(request, code, purpose="invite")
    context: dict[str, Any] = {"p": patient, "issued": None, "days": invites.INVITE_DAYS}
    status = 200
    if request.method == "POST":
        actor = Actor.of(request.user)
        if request.POST.get("action") == "revoke":
            count = invites.revoke_invite(actor=actor, patient=patient)
            messages.success(request, "The invitation was withdrawn." if count else "There was no open invitation.")
            return redirect("clinic-patient-invite", code=patient.code)
        try:
            issued = invites.create_invite(actor=actor, patient=patient, created_by=request.user)
        except InputError as exc:
            context["error"] = plain(exc.message)
            status = 409
        else:
            context["issued"] = issued
            context["link"] = request.build_absolute_uri(reverse("invite-accept", args=[issued.token]))
    context["open"] = invites.open_invite(patient)
    response = render(request, "web/entry/invite.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _invalid(request: HttpRequest, exc: invites.InviteInvalid) -> HttpResponse:
    context = {"reason": exc.reason, "message": exc.message}
    return render(request, "web/entry/invite_invalid.html", context, status=404 if exc.reason == "unknown" else 410)


ACCEPT_LABELS = {"username": "Username", "password": "Password", "password2": "Password again"}


@access_errors
@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, invite_code: str) -> HttpResponse:
    token = invite_code
    try:
        invite = invites.find_invite(token)
    except invites.InviteInvalid as exc:
        return _invalid(request, exc)
    form = Form(ACCEPT_LABELS)
    status = 200
    if request.method == "POST":
        username = _text(request.POST, "username")
        password = str(request.POST.get("password", ""))
        form.raw["username"] = username
        if not username:
            form.error("username", "Choose a username.")
        elif len(username) > 150 or not re.fullmatch(r"[\w.@+-]+", username):
            form.error("username", "Use letters, digits and . @ + - _ only (up to 150 characters).")
        if not password:
            form.error("password", "Choose a password.")
        elif password != str(request.POST.get("password2", "")):
            form.error("password2", "The two passwords are not the same.")
        if not form.errors:
            actor = Actor(user=None, label="patient-invite", remote_addr=current_remote_addr())
            try:
                invites.accept_invite(
                    actor=actor,
                    token=token,
                    create_login=lambda patient: actions.create_patient_login(
                        actor=actor, patient=patient, username=username, password=password
                    ),
                )
            except invites.InviteInvalid as exc:
                return _invalid(request, exc)
            except InputError as exc:
                name = exc.field if exc.field in ACCEPT_LABELS else "username"
                message = "That username is taken; choose another." if name == "username" else exc.message
                form.error(name, message)
            else:
                return render(request, "web/entry/invite_done.html", {"username": username})
        status = 400
    context = {"form": form, "errors": form.errors, "summary": form.summary(), "raw": form.raw, "invite": invite}
    response = render(request, "web/entry/invite_accept.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"  # the token never leaves the site; "no-referrer" breaks CSRF
    return response


@require_http_methods(["GET"])
def invite_enter(request: HttpRequest) -> HttpResponse:
    """The patient types the code they were given (read out by the clinician)."""
    code = str(request.GET.get("code", "")).strip()
    if code:
        return redirect("invite-accept", invite_code=invites.normalize(code))
    return render(request, "web/entry/invite_enter.html", {})


__all__ = [
    "adverse_event",
    "check_medication",
    "consent_override",
    "dose",
    "enrol",
    "invite_accept",
    "invite_enter",
    "lab",
    "lab_flag",
    "medication",
    "parse_adverse_event",
    "parse_dose",
    "parse_enrol",
    "parse_lab",
    "parse_medication",
    "patient_invite",
    "plain",
]
