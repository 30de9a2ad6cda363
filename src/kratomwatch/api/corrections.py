"""Corrections over the API: void or correct a dose, medication, lab or adverse event, with a reason.

``POST /patients/{code}/{kind}/{id}/void`` with ``{"reason": ...}`` and ``POST .../correct`` with
``{"reason": ..., "values": {...}}`` (only the fields that change; the rest are the original's). ``kind`` is one of
``dose``, ``medication``, ``lab``, ``adverse-event``. Who may is decided by ``access`` (the patient's care team; a
patient their own dose or side effect within the undo window) and ``records.corrections``; errors have the one API
shape (``{"error": {"code", "message", "field"}}``; 404 for another clinic's patient or an unknown entry).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from kratomwatch import access
from kratomwatch.api.limits import Id
from kratomwatch.audit.log import Actor
from kratomwatch.core.errors import InputError
from kratomwatch.records import corrections
from kratomwatch.records.models import Correctable

router = Router(tags=["corrections"])

_DATETIMES = {"taken_at"}
_DATES = {"onset", "start", "stop"}


class VoidIn(Schema):
    reason: str = ""


class CorrectIn(Schema):
    reason: str = ""
    values: dict[str, Any] = {}


class CorrectionOut(Schema):
    kind: str
    id: int
    voided_at: dt.datetime | None
    voided_by: str
    void_reason: str
    replacement_id: int | None = None


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """JSON values as the actions take them: ISO date-times (with an offset) and dates parsed."""
    out = dict(values)
    for name in _DATETIMES & set(out):
        try:
            when = dt.datetime.fromisoformat(str(out[name]))
        except ValueError:
            raise InputError(name, out[name], f"{name} must be an ISO 8601 date-time") from None
        if when.tzinfo is None:
            raise InputError(name, out[name], f"{name} must include a UTC offset")
        out[name] = when
    for name in _DATES & set(out):
        if out[name] is None:
            continue
        try:
            out[name] = dt.date.fromisoformat(str(out[name]))
        except ValueError:
            raise InputError(name, out[name], f"{name} must be a date as YYYY-MM-DD") from None
    return out


def _out(kind: str, entry: Correctable, replacement: Correctable | None = None) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": entry.pk,
        "voided_at": entry.voided_at,
        "voided_by": entry.voided_by,
        "void_reason": entry.void_reason,
        "replacement_id": replacement.pk if replacement is not None else None,
    }


@router.post("/patients/{code}/{kind_slug}/{pk}/void", response=CorrectionOut)
def void(request: HttpRequest, code: str, kind_slug: str, pk: Id, payload: VoidIn) -> Any:
    kind = kind_slug
    corrections.kind_of(kind)
    patient = access.get_writable_patient_for(request.user, code, self_report_ok=True, consent=False)
    entry = corrections.void_entry(
        actor=Actor.of(request.user), patient=patient, kind=kind, pk=pk, reason=payload.reason
    )
    return _out(kind, entry)


@router.post("/patients/{code}/{kind_slug}/{pk}/correct", response=CorrectionOut)
def correct(request: HttpRequest, code: str, kind_slug: str, pk: Id, payload: CorrectIn) -> Any:
    kind = kind_slug
    corrections.kind_of(kind)
    patient = access.get_writable_patient_for(request.user, code, self_report_ok=True, consent=False)
    replacement = corrections.correct_entry(
        actor=Actor.of(request.user), patient=patient, kind=kind, pk=pk, reason=payload.reason, **_typed(payload.values)
    )
    original = corrections.entry_of(patient, kind, pk)
    return _out(kind, original, replacement)
