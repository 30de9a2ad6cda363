"""Corrections, never silent: voiding or correcting a dose, medication, lab or adverse event.

A void marks the entry (``voided_at``, ``voided_by``, ``void_reason``); the row stays in the record and the audit
trail. A correction voids the original and records the replacement through the same write path as a new entry
(``records.actions``: a dose's mg from the same potency maths), with ``corrects`` pointing at the original, in one
transaction. Each is declared with ``alert_input_write`` so the patient's alerts are re-evaluated once, and the
daily exposure of both days is refreshed. Every read that feeds exposure, alerts, pages or exports filters
:data:`ACTIVE`.

Who may: the care team of the patient's program (clinician, program admin) and staff may void or correct any of
the four kinds. A patient may undo (void) their own dose or side effect within :data:`PATIENT_UNDO_WINDOW` of
logging it; later they ask their care team. Researchers never. Adapters resolve the patient through
``kratomwatch.access`` first (another clinic's patient is "not found"); these actions check the rest.
"""

from __future__ import annotations

import datetime as dt
import inspect
import secrets
from collections.abc import Callable
from typing import Any

from django.db.models import Model, Q
from django.utils import timezone

from kratomwatch.accounts.models import Membership, Role
from kratomwatch.audit import queries as audit_queries
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import Conflict, Forbidden, InputError, NotFound
from kratomwatch.records import actions
from kratomwatch.records.daily import refresh_daily_exposure
from kratomwatch.records.models import AdverseEvent, Correctable, Dose, LabResult, Medication, Patient
from kratomwatch.records.writes import alert_input_write

ACTIVE = Q(voided_at__isnull=True)
"""The filter every read that feeds exposure, alerts, pages and exports applies: entries not voided."""

PATIENT_UNDO_WINDOW = dt.timedelta(minutes=30)
"""How long after logging a patient may undo their own dose or side effect themselves.

A product choice, not a clinical threshold: long enough to catch a mistaken tap or a wrong amount noticed at
once, short enough that an entry the care team may already have read is changed only by the care team (the
patient asks them). Not a program setting today."""

REASON_MAX = 500
"""The longest reason kept (the ``void_reason`` column)."""

KINDS: dict[str, type[Correctable]] = {
    "dose": Dose,
    "medication": Medication,
    "lab": LabResult,
    "adverse-event": AdverseEvent,
}
"""The kinds of entry that can be corrected, as they appear in URLs."""

AUDIT_NAMES = {"dose": "dose", "medication": "medication", "lab": "lab", "adverse-event": "adverse_event"}
"""The audit object type and action prefix of each kind (``dose.create``, ``adverse_event.void``...)."""

KIND_WORDS = {"dose": "dose", "medication": "medication", "lab": "lab result", "adverse-event": "side effect"}

PATIENT_UNDO_KINDS = frozenset({"dose", "adverse-event"})


def kind_of(kind: str) -> type[Correctable]:
    """The model of a kind named in a URL; ``NotFound`` for any other name."""
    model = KINDS.get(kind)
    if model is None:
        raise NotFound("kind", kind, f"there is no kind of entry called {kind!r} (one of: {', '.join(KINDS)})")
    return model


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InputError("reason", reason or "", "Give a reason for the correction")
    if len(text) > REASON_MAX:
        raise InputError("reason", text[:40] + "...", f"The reason must be at most {REASON_MAX} characters")
    return text


def _is_care(actor: Actor, patient: Patient) -> bool:
    user = actor.user
    if user is None:  # the command line operator and system jobs act as staff do
        return True
    if _is_own(actor, patient):  # never the care team of one's own record (D13, as access.require_care_team_for)
        return False
    if getattr(user, "is_staff", False):
        return True
    return Membership.objects.filter(
        user=user, program_id=patient.program_id, role__in=[Role.CLINICIAN, Role.PROGRAM_ADMIN]
    ).exists()


def _is_own(actor: Actor, patient: Patient) -> bool:
    return actor.user is not None and patient.user_id is not None and patient.user_id == actor.user.pk


def entry_of(patient: Patient, kind: str, pk: Any, *, lock: bool = False) -> Correctable:
    """One entry of this patient; ``NotFound`` when missing, malformed or another patient's (they look the same)."""
    model = kind_of(kind)
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("id", pk, f"{KIND_WORDS[kind]} {pk!r} not found") from None
    qs = model.objects.filter(pk=pk, patient=patient)  # type: ignore[attr-defined]
    entry = (qs.select_for_update() if lock else qs).first()
    if entry is None:
        raise NotFound("id", pk, f"{KIND_WORDS[kind]} {pk} not found")
    return entry  # type: ignore[no-any-return]


def undo_deadline(entry: Correctable) -> dt.datetime:
    return entry.created_at + PATIENT_UNDO_WINDOW  # type: ignore[attr-defined,no-any-return]


def patient_may_undo(actor: Actor, patient: Patient, kind: str, entry: Correctable, now: dt.datetime) -> bool:
    """Whether the patient themself may undo this entry now (their own entry, within the window)."""
    if kind not in PATIENT_UNDO_KINDS or entry.voided_at is not None or now > undo_deadline(entry):
        return False
    user_id = actor.user.pk if actor.user is not None else None
    return user_id is not None and audit_queries.created_by(f"{AUDIT_NAMES[kind]}.create", entry.pk, user_id=user_id)


def _check_may(actor: Actor, patient: Patient, kind: str, entry: Correctable, now: dt.datetime, *, void: bool) -> None:
    if _is_care(actor, patient):
        return
    if not _is_own(actor, patient):
        raise Forbidden("role", patient.code, "your role does not allow corrections to this record")
    if not void or kind not in PATIENT_UNDO_KINDS:
        raise Forbidden("role", patient.code, "Only your care team can change this entry. Please ask them.")
    if now > undo_deadline(entry):
        minutes = int(PATIENT_UNDO_WINDOW.total_seconds() // 60)
        raise Forbidden(
            "id",
            entry.pk,
            f"You can undo an entry yourself only within {minutes} minutes of logging it. "
            "Please ask your care team to correct it.",
        )
    if not patient_may_undo(actor, patient, kind, entry, now):
        raise Forbidden("id", entry.pk, "You can undo only entries you logged yourself. Please ask your care team.")


def _void(actor: Actor, patient: Patient, kind: str, pk: Any, *, reason: str, now: dt.datetime, void: bool) -> Any:
    text = check_reason(reason)
    entry = entry_of(patient, kind, pk, lock=True)
    _check_may(actor, patient, kind, entry, now, void=void)
    if entry.voided_at is not None:
        raise Conflict("id", entry.pk, f"this {KIND_WORDS[kind]} was already voided")
    entry.voided_at = now
    entry.voided_by = actor.label[:150]
    entry.void_reason = text
    entry.save(update_fields=["voided_at", "voided_by", "void_reason"])
    if isinstance(entry, Dose):
        refresh_daily_exposure(patient_ids=[patient.pk], days=[entry.local_date])
    return entry


@alert_input_write()
def void_entry(
    *, actor: Actor, patient: Patient, kind: str, pk: Any, reason: str, now: dt.datetime | None = None
) -> Correctable:
    """Void one entry with a reason; it stays in the record, marked, and stops counting."""
    entry = _void(actor, patient, kind, pk, reason=reason, now=now or timezone.now(), void=True)
    record(
        actor,
        f"{AUDIT_NAMES[kind]}.void",
        object_type=AUDIT_NAMES[kind],
        object_id=entry.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"reason": entry.void_reason},
    )
    return entry  # type: ignore[no-any-return]


def _keep(action: Callable[..., Any], original: Model, new_values: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """The action's keyword arguments that are fields of the entry: the new values, else the original's (options of
    the action that are not stored on the entry keep the action's defaults)."""
    fields = {f.name for f in original._meta.concrete_fields}
    params = (set(inspect.signature(action).parameters) & fields) - {"patient", *skip}
    unknown = set(new_values) - params
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(name, new_values[name], f"{name} cannot be corrected here")
    return {name: new_values[name] if name in new_values else getattr(original, name) for name in params}


def _correct(
    actor: Actor,
    patient: Patient,
    kind: str,
    pk: Any,
    *,
    reason: str,
    now: dt.datetime | None,
    create: Callable[[Correctable], Correctable],
) -> Correctable:
    original = _void(actor, patient, kind, pk, reason=reason, now=now or timezone.now(), void=False)
    replacement = create(original)
    replacement.corrects = original
    replacement.save(update_fields=["corrects"])
    record(
        actor,
        f"{AUDIT_NAMES[kind]}.correct",
        object_type=AUDIT_NAMES[kind],
        object_id=original.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"reason": original.void_reason, "replacement": replacement.pk},
    )
    return replacement


@alert_input_write()
def correct_dose(
    *, actor: Actor, patient: Patient, pk: Any, reason: str, now: dt.datetime | None = None, **new_values: Any
) -> Dose:
    """Void a dose and record its replacement (``lot_id``, ``taken_at``, ``amount``, ``unit``) through
    ``record_dose``, so its mg comes from the same maths; both days' exposure is refreshed."""
    allowed = {"lot_id", "taken_at", "amount", "unit"}
    unknown = set(new_values) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(name, new_values[name], f"{name} cannot be corrected here")

    def create(original: Correctable) -> Correctable:
        assert isinstance(original, Dose)
        values = {name: new_values.get(name, getattr(original, name)) for name in sorted(allowed)}
        dose_in = actions.DoseIn(
            patient_code=patient.code,
            source=original.source,
            idempotency_key=f"correct:{original.pk}:{secrets.token_urlsafe(12)}",
            **values,
        )
        dose, _ = actions.record_dose(actor=actor, patient=patient, dose=dose_in, now=now)
        return dose

    return _correct(actor, patient, "dose", pk, reason=reason, now=now, create=create)  # type: ignore[return-value]


@alert_input_write()
def correct_medication(
    *, actor: Actor, patient: Patient, pk: Any, reason: str, now: dt.datetime | None = None, **new_values: Any
) -> Medication:
    """Void a medication and record its replacement (name, dose text, start, stop)."""

    def create(original: Correctable) -> Correctable:
        kwargs = _keep(actions.record_medication, original, new_values, set())
        return actions.record_medication(actor=actor, patient=patient, **kwargs)

    return _correct(actor, patient, "medication", pk, reason=reason, now=now, create=create)  # type: ignore[return-value]


@alert_input_write()
def correct_lab(
    *, actor: Actor, patient: Patient, pk: Any, reason: str, now: dt.datetime | None = None, **new_values: Any
) -> LabResult:
    """Void a lab result and record its replacement (test, value, unit, limits, when taken)."""

    def create(original: Correctable) -> Correctable:
        kwargs = _keep(actions.record_lab, original, new_values, set())
        return actions.record_lab(actor=actor, patient=patient, now=now, **kwargs)

    return _correct(actor, patient, "lab", pk, reason=reason, now=now, create=create)  # type: ignore[return-value]


@alert_input_write()
def correct_adverse_event(
    *, actor: Actor, patient: Patient, pk: Any, reason: str, now: dt.datetime | None = None, **new_values: Any
) -> AdverseEvent:
    """Void an adverse event and record its replacement (term, onset, grade, seriousness, outcome, causality,
    action taken)."""

    def create(original: Correctable) -> Correctable:
        kwargs = _keep(actions.record_adverse_event, original, new_values, set())
        today = now.date() if now is not None else None
        return actions.record_adverse_event(actor=actor, patient=patient, today=today, **kwargs)

    return _correct(actor, patient, "adverse-event", pk, reason=reason, now=now, create=create)  # type: ignore[return-value]


CORRECTORS: dict[str, Callable[..., Correctable]] = {
    "dose": correct_dose,
    "medication": correct_medication,
    "lab": correct_lab,
    "adverse-event": correct_adverse_event,
}
"""The correction action of each kind."""


def correct_entry(*, actor: Actor, patient: Patient, kind: str, pk: Any, reason: str, **new_values: Any) -> Correctable:
    """Dispatch to the correction of ``kind`` (each is a declared alert-input write)."""
    kind_of(kind)
    return CORRECTORS[kind](actor=actor, patient=patient, pk=pk, reason=reason, **new_values)


def replacement_of(entry: Correctable) -> Correctable | None:
    """The entry that corrects ``entry``, if any."""
    return type(entry).objects.filter(corrects=entry).first()  # type: ignore[attr-defined,no-any-return]


__all__ = [
    "ACTIVE",
    "KINDS",
    "PATIENT_UNDO_WINDOW",
    "correct_adverse_event",
    "correct_dose",
    "correct_entry",
    "correct_lab",
    "correct_medication",
    "void_entry",
]
