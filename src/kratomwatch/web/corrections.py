"""Correction pages: the care team voids or corrects a dose, medication, lab or adverse event with a reason; a
patient undoes their own dose or side effect within the undo window.

Server-rendered, no JavaScript. The patient is resolved through ``kratomwatch.access`` (another clinic's patient is
404, a researcher 403); the writes are ``records.corrections`` (declared alert-input writes, audited with the
reason). Times a clinician types are read in the patient's zone, which the form names. The original entry stays in
the record: the clinician patient page shows it struck through with who voided it, when and why
(:func:`record_section`), and the replacement says which entry it corrects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.audit import queries as audit_queries
from kratomwatch.audit.log import Actor
from kratomwatch.core import exposure
from kratomwatch.core.errors import Conflict, Forbidden, InputError
from kratomwatch.core.units import Unit
from kratomwatch.records import corrections
from kratomwatch.records import queries as record_queries
from kratomwatch.records.models import (
    ActionTaken,
    AdverseEvent,
    AeOutcome,
    Causality,
    Correctable,
    Dose,
    LabResult,
    LabTest,
    Medication,
    Patient,
    Seriousness,
)
from kratomwatch.web.security import login_and_access

TITLES = {"dose": "dose", "medication": "medication", "lab": "lab result", "adverse-event": "adverse event"}
AUDIT_KINDS = {"dose": "dose", "medication": "medication", "lab": "lab result", "adverse_event": "adverse event"}
AUDIT_VERBS = {"create": "entered", "void": "voided", "correct": "corrected"}
RECORD_DOSE_DAYS = 14
"""How many days of individual doses the clinician page lists for correction."""


# --- what an entry says ----------------------------------------------------------------------------------------


def _zone(patient: Patient) -> Any:
    return exposure.zone(patient.time_zone)


def _local(when: dt.datetime, patient: Patient) -> str:
    here = when.astimezone(_zone(patient))
    return f"{here:%a} {here.day} {here:%b %Y}, {here:%H:%M} {here.tzname()}"


def _day(day: dt.date | None) -> str:
    return "" if day is None else f"{day:%a} {day.day} {day:%b %Y}"


def describe(kind: str, entry: Correctable, patient: Patient) -> str:
    """One line a clinician reads: what the entry says."""
    if isinstance(entry, Dose):
        mg = "mg not known" if entry.mitragynine_mg is None else f"{entry.mitragynine_mg:.1f} mg mitragynine"
        return f"{entry.amount:g} {entry.unit} of {entry.lot.product} (lot {entry.lot.lot_code}), {mg}"
    if isinstance(entry, Medication):
        parts = [entry.name, entry.dose_text]
        if entry.start:
            parts.append(f"from {_day(entry.start)}")
        if entry.stop:
            parts.append(f"to {_day(entry.stop)}")
        return ", ".join(p for p in parts if p)
    if isinstance(entry, LabResult):
        uln = f" (upper limit {entry.upper_limit_normal:g})" if entry.upper_limit_normal else ""
        return f"{entry.get_test_display()} {entry.value:g} {entry.unit}{uln}"
    assert isinstance(entry, AdverseEvent)
    serious = ", serious" if entry.seriousness else ""
    return f"{entry.term}, grade {entry.grade}{serious}, outcome {entry.get_outcome_display().lower()}"


def entry_when(entry: Correctable, patient: Patient) -> str:
    if isinstance(entry, Dose | LabResult):
        return _local(entry.taken_at, patient)
    if isinstance(entry, AdverseEvent):
        return f"onset {_day(entry.onset)}"
    assert isinstance(entry, Medication)
    return f"entered {_local(entry.created_at, patient)}"


def entry_date(entry: Correctable, patient: Patient) -> str:
    """The date a replacement names ("corrects entry of <date>")."""
    if isinstance(entry, Dose | LabResult):
        return _day(entry.taken_at.astimezone(_zone(patient)).date())
    if isinstance(entry, AdverseEvent):
        return _day(entry.onset)
    assert isinstance(entry, Medication)
    return _day(entry.created_at.astimezone(_zone(patient)).date())


def void_note(entry: Correctable, patient: Patient) -> str:
    """'voided <when, zone> by <who>: <reason>' for a voided entry, else ''."""
    if entry.voided_at is None:
        return ""
    return f"voided {_local(entry.voided_at, patient)} by {entry.voided_by}: {entry.void_reason}"


@dataclass(frozen=True)
class EntryRow:
    kind: str
    entry: Correctable
    what: str
    when: str
    voided: str
    corrects: str
    correct_url: str
    void_url: str


def _row(kind: str, entry: Correctable, patient: Patient, originals: dict[int, Correctable]) -> EntryRow:
    original = originals.get(entry.corrects_id) if entry.corrects_id else None  # type: ignore[attr-defined]
    args = {"code": patient.code, "kind_slug": kind, "pk": entry.pk}
    return EntryRow(
        kind=kind,
        entry=entry,
        what=describe(kind, entry, patient),
        when=entry_when(entry, patient),
        voided=void_note(entry, patient),
        corrects=f"corrects entry of {entry_date(original, patient)}" if original is not None else "",
        correct_url=reverse("clinic-entry-correct", kwargs=args),
        void_url=reverse("clinic-entry-void", kwargs=args),
    )


def _rows(kind: str, entries: list[Any], patient: Patient) -> list[EntryRow]:
    by_pk = {e.pk: e for e in entries}
    return [_row(kind, e, patient, by_pk) for e in entries]


@dataclass(frozen=True)
class ChangeRow:
    when: str
    who: str
    what: str
    reason: str


def _change(event: Any, patient: Patient) -> ChangeRow:
    noun, _, verb = event.action.partition(".")
    kind = AUDIT_KINDS.get(noun, noun)
    what = f"{kind} {event.object_id} {AUDIT_VERBS.get(verb, verb)}"
    if verb == "correct" and event.detail.get("replacement"):
        what += f"; replaced by {kind} {event.detail['replacement']}"
    return ChangeRow(
        when=_local(event.at, patient),
        who=event.actor_label,
        what=f"{what[:1].upper()}{what[1:]}",
        reason=str(event.detail.get("reason", "")),
    )


@dataclass(frozen=True)
class RecordSection:
    doses: list[EntryRow]
    medications: list[EntryRow]
    labs: list[EntryRow]
    adverse_events: list[EntryRow]
    changes: list[ChangeRow]
    dose_days: int = RECORD_DOSE_DAYS
    zone: str = ""
    kinds: list[tuple[str, str, list[EntryRow], bool]] = field(default_factory=list)


def record_section(patient: Patient) -> RecordSection:
    """The clinician page's "Entries and corrections" and "Changes to this record" (the patient was resolved and
    the read audited through ``access`` by the page)."""
    today = patient.local_today()
    start = today - dt.timedelta(days=RECORD_DOSE_DAYS - 1)
    doses = [
        d
        for d in record_queries.doses_of(patient, since=start, include_voided=True).select_related("lot__product")
        if d.local_date <= today
    ]
    rows = {
        "dose": _rows("dose", doses, patient),
        "medication": _rows("medication", record_queries.medications(patient, include_voided=True), patient),
        "lab": _rows("lab", record_queries.labs(patient, include_voided=True), patient),
        "adverse-event": _rows("adverse-event", record_queries.adverse_events(patient, include_voided=True), patient),
    }
    return RecordSection(
        doses=rows["dose"],
        medications=rows["medication"],
        labs=rows["lab"],
        adverse_events=rows["adverse-event"],
        changes=[_change(e, patient) for e in audit_queries.record_changes(patient.code)],
        zone=patient.time_zone,
        kinds=[
            # The long dose list opens by itself only when it holds a voided or corrected dose.
            (
                f"Doses, last {RECORD_DOSE_DAYS} days",
                "dose",
                rows["dose"],
                any(r.voided or r.corrects for r in rows["dose"]),
            ),
            ("Medications", "medication", rows["medication"], True),
            ("Labs", "lab", rows["lab"], True),
            ("Adverse events", "adverse-event", rows["adverse-event"], True),
        ],
    )


# --- the correction form ---------------------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    label: str
    kind: str  # text, number, date, datetime, select, checkboxes
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    help: str = ""
    error: str = ""
    initial: str | None = None

    def __post_init__(self) -> None:
        self.initial = ",".join(sorted(self.checked)) if self.kind == "checkboxes" else self.value

    def unchanged(self) -> bool:
        now = ",".join(sorted(self.checked)) if self.kind == "checkboxes" else self.value
        return now == self.initial


def _local_input(when: dt.datetime, patient: Patient) -> str:
    return when.astimezone(_zone(patient)).strftime("%Y-%m-%dT%H:%M")


def _fields(kind: str, entry: Correctable, patient: Patient, user: Any) -> list[Field]:
    zone_help = f"In the patient's time zone ({patient.time_zone})."
    if isinstance(entry, Dose):
        lots = access.lots_for(user, program_id=patient.program_id)
        return [
            Field(
                "lot_id",
                "Product",
                "select",
                str(entry.lot_id),
                [(str(lot.pk), f"{lot.product} (lot {lot.lot_code})") for lot in lots],
            ),
            Field("amount", "Amount", "number", f"{entry.amount:g}"),
            Field("unit", "Unit", "select", entry.unit, [(u.value, u.value) for u in Unit]),
            Field("taken_at", "Taken at", "datetime", _local_input(entry.taken_at, patient), help=zone_help),
        ]
    if isinstance(entry, Medication):
        return [
            Field("name", "Medication name", "text", entry.name),
            Field("dose_text", "Dose and frequency", "text", entry.dose_text),
            Field("start", "Started on", "date", entry.start.isoformat() if entry.start else ""),
            Field("stop", "Stopped on", "date", entry.stop.isoformat() if entry.stop else "", help="Blank if ongoing."),
        ]
    if isinstance(entry, LabResult):
        return [
            Field("test", "Test", "select", entry.test, [(t.value, t.label) for t in LabTest]),
            Field("value", "Result", "number", f"{entry.value:g}"),
            Field("unit", "Unit", "text", entry.unit),
            Field(
                "upper_limit_normal",
                "Upper limit of normal",
                "number",
                "" if entry.upper_limit_normal is None else f"{entry.upper_limit_normal:g}",
                help="As printed on the laboratory report; blank for QTc and sodium.",
            ),
            Field("taken_at", "Sample taken at", "datetime", _local_input(entry.taken_at, patient), help=zone_help),
        ]
    assert isinstance(entry, AdverseEvent)
    return [
        Field("term", "What happened", "text", entry.term),
        Field("onset", "Started on", "date", entry.onset.isoformat()),
        Field("grade", "CTCAE grade", "select", str(entry.grade), [(str(g), f"Grade {g}") for g in range(1, 6)]),
        Field(
            "seriousness",
            "Serious because",
            "checkboxes",
            options=[(s.value, s.label) for s in Seriousness],
            checked=set(entry.seriousness or []),
        ),
        Field("outcome", "Outcome", "select", entry.outcome, [(o.value, o.label) for o in AeOutcome]),
        Field("causality", "Causality (WHO-UMC)", "select", entry.causality, [(c.value, c.label) for c in Causality]),
        Field("action_taken", "Action taken", "select", entry.action_taken, [(a.value, a.label) for a in ActionTaken]),
    ]


def _number(raw: str, label: str, *, optional: bool = False) -> tuple[float | None, str]:
    text = raw.strip().replace(",", ".")
    if not text:
        return None, "" if optional else f"Enter the {label.lower()}."
    try:
        value = float(text)
    except ValueError:
        return None, f"Enter the {label.lower()} as a number, for example 2.5."
    if not math.isfinite(value) or value <= 0:
        return None, f"The {label.lower()} must be a number greater than zero."
    return value, ""


def _date_value(f: Field, raw: str) -> dt.date | None:
    if not raw:
        f.error = "" if f.name in {"start", "stop"} else "Enter the date."
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        f.error = "Enter the date as year-month-day, for example 2026-11-30."
        return None


def _datetime_value(f: Field, raw: str, patient: Patient) -> dt.datetime | None:
    """A time typed in the patient's zone (the form names it)."""
    try:
        naive = dt.datetime.fromisoformat(raw)
    except ValueError:
        f.error = "Enter the date and time, for example 2026-11-30 14:05."
        return None
    return naive.replace(tzinfo=_zone(patient)) if naive.tzinfo is None else naive


def _parse_one(f: Field, post: Any, patient: Patient) -> Any:
    """One submitted field: its value for the correction (``f.error`` set when it is wrong)."""
    if f.kind == "checkboxes":
        f.checked = set(post.getlist(f.name))
        if f.checked - {v for v, _ in f.options}:
            f.error = "Choose from the list."
        return sorted(f.checked)
    raw = str(post.get(f.name, "")).strip()
    f.value = raw
    if f.kind == "select":
        if raw not in {v for v, _ in f.options}:
            f.error = "Choose from the list."
            return None
        return int(raw) if f.name in {"lot_id", "grade"} else raw
    if f.kind == "number":
        number, f.error = _number(raw, f.label, optional=f.name == "upper_limit_normal")
        return number
    if f.kind == "date":
        return _date_value(f, raw)
    if f.kind == "datetime":
        return _datetime_value(f, raw, patient)
    if not raw and f.name != "dose_text":
        f.error = f"Enter the {f.label.lower()}."
    return raw


def _parse(fields: list[Field], post: Any, patient: Patient) -> tuple[dict[str, Any], bool]:
    """Read the submitted fields into the values the correction takes; errors are set on the fields."""
    values = {f.name: _parse_one(f, post, patient) for f in fields}
    # Only what changed is corrected: an unchanged field keeps the original's exact value (seconds included).
    return {f.name: values[f.name] for f in fields if not f.unchanged()}, not any(f.error for f in fields)


ERROR_FIELD = {"lot_id": "lot_id", "idempotency_key": "form"}


def _form_context(
    request: HttpRequest,
    patient: Patient,
    kind: str,
    entry: Correctable,
    action: str,
    *,
    fields: list[Field] | None = None,
    reason: str = "",
    reason_error: str = "",
    form_error: str = "",
) -> dict[str, Any]:
    return {
        "p": patient,
        "kind": kind,
        "title": TITLES[kind],
        "action": action,
        "entry": entry,
        "what": describe(kind, entry, patient),
        "when": entry_when(entry, patient),
        "voided": void_note(entry, patient),
        "fields": fields or [],
        "reason": reason,
        "reason_error": reason_error,
        "form_error": form_error,
        "reason_max": corrections.REASON_MAX,
        "zone": patient.time_zone,
        "back": reverse("clinic-patient", kwargs={"code": patient.code}) + "#h-entries",
    }


@login_and_access
@require_http_methods(["GET", "POST"])
def change_entry(request: HttpRequest, code: str, kind: str, pk: int, action: str) -> HttpResponse:
    """GET: the entry and the form; POST: void it (``action="void"``) or correct it, with a reason."""
    corrections.kind_of(kind)
    patient = access.get_writable_patient_for(request.user, code, consent=False)
    entry = corrections.entry_of(patient, kind, pk)
    if isinstance(entry, Dose):
        entry = record_queries.dose_of(patient, entry.pk) or entry
    fields = _fields(kind, entry, patient, request.user) if action == "correct" else []
    if request.method != "POST":
        return render(
            request, "web/corrections/change.html", _form_context(request, patient, kind, entry, action, fields=fields)
        )
    reason = str(request.POST.get("reason", ""))
    values, ok = _parse(fields, request.POST, patient) if action == "correct" else ({}, True)
    ctx: dict[str, Any] = {"fields": fields, "reason": reason}
    try:
        corrections.check_reason(reason)
    except InputError as exc:
        ctx["reason_error"] = exc.message
        ok = False
    if ok:
        try:
            actor = Actor.of(request.user)
            if action == "void":
                corrections.void_entry(actor=actor, patient=patient, kind=kind, pk=pk, reason=reason)
            else:
                corrections.correct_entry(actor=actor, patient=patient, kind=kind, pk=pk, reason=reason, **values)
        except Forbidden:
            raise
        except (Conflict, InputError) as exc:
            by_name = {f.name: f for f in fields}
            target = by_name.get(ERROR_FIELD.get(exc.field, exc.field))
            if exc.field == "reason":
                ctx["reason_error"] = exc.message
            elif target is not None:
                target.error = exc.message
            else:
                ctx["form_error"] = exc.message
        else:
            return redirect(reverse("clinic-patient", kwargs={"code": patient.code}) + "#h-entries")
    return render(
        request,
        "web/corrections/change.html",
        _form_context(request, patient, kind, entry, action, **ctx),
        status=400,
    )


def correct_view(request: HttpRequest, code: str, kind_slug: str, pk: int) -> HttpResponse:
    return change_entry(request, code, kind_slug, pk, "correct")


def void_view(request: HttpRequest, code: str, kind_slug: str, pk: int) -> HttpResponse:
    return change_entry(request, code, kind_slug, pk, "void")


# --- the patient's undo ----------------------------------------------------------------------------------------


def undo_url(kind: str, entry: Correctable, patient: Patient, user: Any, now: dt.datetime | None = None) -> str:
    """The patient's "Undo" link for this entry while they may undo it themself, else ''."""
    name = {"dose": "patient-dose-undo", "adverse-event": "patient-side-effect-undo"}.get(kind)
    if name is None or not access.is_own_record(user, patient):
        return ""
    if not corrections.patient_may_undo(Actor.of(user), patient, kind, entry, now or timezone.now()):
        return ""
    return reverse(name, kwargs={"pk": entry.pk})


@login_and_access
@require_http_methods(["GET", "POST"])
def patient_undo(request: HttpRequest, pk: int, kind: str = "dose") -> HttpResponse:
    patient = access.get_own_patient_for(request.user, None, purpose="patient_undo")
    entry = corrections.entry_of(patient, kind, pk)
    if isinstance(entry, Dose):
        entry = record_queries.dose_of(patient, entry.pk) or entry
    minutes = int(corrections.PATIENT_UNDO_WINDOW.total_seconds() // 60)
    ctx: dict[str, Any] = {
        "patient": patient,
        "kind": kind,
        "title": "dose" if kind == "dose" else "side effect",
        "what": describe(kind, entry, patient),
        "when": entry_when(entry, patient),
        "voided": void_note(entry, patient),
        "minutes": minutes,
        "reason": "",
        "reason_error": "",
        "refused": "",
        "reasons": ["I logged it by mistake", "I logged it twice", "The amount or product was wrong"],
    }
    status = 200
    if request.method == "POST":
        choice = str(request.POST.get("reason", "")).strip()
        reason = str(request.POST.get("reason_other", "")).strip() if choice in {"", "other"} else choice
        ctx["reason"] = reason
        try:
            corrections.void_entry(actor=Actor.of(request.user), patient=patient, kind=kind, pk=pk, reason=reason)
        except Forbidden as exc:
            ctx["refused"] = exc.message
            status = 403
        except Conflict:
            ctx["refused"] = f"This {ctx['title']} was already undone."
            status = 409
        except InputError as exc:
            ctx["reason_error"] = exc.message
            status = 400
        else:
            return redirect(reverse("patient-home") + "#today")
    elif entry.voided_at is None and not corrections.patient_may_undo(
        Actor.of(request.user), patient, kind, entry, timezone.now()
    ):
        ctx["refused"] = (
            f"You can undo an entry yourself only within {minutes} minutes of logging it, and only one you "
            "logged. Please ask your care team to correct it."
        )
    return render(request, "web/corrections/undo.html", ctx, status=status)


def patient_side_effect_undo(request: HttpRequest, pk: int) -> HttpResponse:
    return patient_undo(request, pk, kind="adverse-event")


# --- a repeated dose form --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepeatOffer:
    """What the dose-logged page shows when the same form was submitted again (back button, double tap)."""

    saved_at: str
    undone: str
    lot_id: int
    amount: str
    unit: str
    key: str


def repeat_offer(dose: Dose, patient: Patient, fresh_key: str) -> RepeatOffer:
    created = dose.created_at.astimezone(_zone(patient))
    return RepeatOffer(
        saved_at=f"{created:%H:%M}" if created.date() == patient.local_today() else _local(dose.created_at, patient),
        undone=f"undone ({_local(dose.voided_at, patient)})" if dose.voided_at else "",
        lot_id=dose.lot_id,
        amount=f"{dose.amount:g}",
        unit=dose.unit,
        key=fresh_key,
    )


def with_status(row: Any, entry: Correctable, patient: Patient, user: Any) -> Any:
    """A patient page row (a frozen dataclass with ``voided`` and ``undo_url``) with its void note and Undo link."""
    return dataclasses.replace(
        row, voided=patient_void_note(entry, patient, user), undo_url=undo_url("dose", entry, patient, user)
    )


def patient_void_note(entry: Correctable, patient: Patient, user: Any) -> str:
    """The void note in the patient's words: "<when> by you: <reason>" or "<when> by your care team: <reason>"."""
    if entry.voided_at is None:
        return ""
    who = "by you" if entry.voided_by == user.get_username() else "by your care team"
    return f"{_local(entry.voided_at, patient)} {who}: {entry.void_reason}"


def record_section_for(user: Any, patient: Patient) -> RecordSection | None:
    """:func:`record_section` for the patient's care team (who may correct), else None."""
    try:
        access.require_care_team_for(user, patient)
    except Forbidden:
        return None
    return record_section(patient)


REPEAT_GUARD = dt.timedelta(minutes=10)
"""How recent a dose logged from the web form must be for the same product and amount to be asked about.

A product choice: the back button reloads the dose form with a new key, so a second submit of the same entry
within this time is shown as "already saved at ..." with a button to log it again as a new dose, instead of being
saved twice silently. Later repeats (the two-tap "log this dose now") save at once."""


def recent_repeat(patient: Patient, dose_in: Any, now: dt.datetime | None = None) -> Dose | None:
    """The patient's last web-form dose if ``dose_in`` repeats it (same product, amount and unit) within
    :data:`REPEAT_GUARD`, else None."""
    last = record_queries.last_dose(patient)
    if last is None or not last.idempotency_key.startswith("web:"):
        return None
    if last.created_at < (now or timezone.now()) - REPEAT_GUARD:
        return None
    same = last.lot_id == dose_in.lot_id and last.amount == float(dose_in.amount) and last.unit == dose_in.unit
    # A repeat says it was taken when the first one was ("now" on both quick logs); a dose typed for another
    # time is a different dose, however alike.
    same_time = abs(last.taken_at - dose_in.taken_at) <= REPEAT_GUARD
    return last if same and same_time else None
