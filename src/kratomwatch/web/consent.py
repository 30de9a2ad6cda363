"""Consent pages for patients: read the current document, sign with a typed name, withdraw a scope.

The patient is resolved through ``kratomwatch.access`` (404 for anyone who may not see the record); the care
team may read the page, but only the patient themself signs or withdraws. Writes go through
``consent.actions``. Withdrawing takes two steps: the patient first reads, in plain words, what withdrawing that
scope changes, then confirms ("Yes, withdraw") or keeps their consent. Errors are shown next to the field
(HTTP 400) and save nothing.

``care_consent_gate`` wraps the patient's own care-data forms (log a dose, report a side effect, a
questionnaire): without care consent the patient sees why, in their words, and a way to sign again, instead of
a form that would be refused.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from kratomwatch import access
from kratomwatch.audit.log import Actor
from kratomwatch.consent import actions, status
from kratomwatch.consent import queries as consent_queries
from kratomwatch.consent.models import Scope
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient
from kratomwatch.web.security import View, login_and_access

WITHDRAW_EFFECTS: dict[str, list[str]] = {
    Scope.CARE: [
        "Your care team can no longer record new data for you on this system.",
        "You cannot log doses, report side effects or fill in questionnaires here until you sign again.",
        "What is already in your record stays there, and your care team can still read it.",
    ],
    Scope.RESEARCH: [
        "Your de-identified data is left out of future research exports.",
        "Exports that were already made before today are not changed.",
        "Your care is not affected: you can still log doses and your care team still sees your record.",
    ],
    Scope.DATA_SHARING: [
        "Your data is no longer shared with the partners named in the consent document.",
        "Your care is not affected.",
    ],
}
"""What withdrawing each scope changes, in the patient's words (shown before they confirm)."""

GATED_ACTIONS = {
    "dose": "log doses",
    "side-effect": "report side effects",
    "questionnaire": "fill in questionnaires",
}


def _short(scope: str) -> str:
    return dict(Scope.choices).get(scope, scope).split(":")[0]


def _context(patient: Patient, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    document = status.latest_document(patient.program_id)
    labels = dict(Scope.choices)
    statuses = status.scope_status(patient)
    return {
        "patient": patient,
        "document": document,
        "is_self": access.is_own_record(request.user, patient),
        "scopes": [(s, labels.get(s.scope, s.scope)) for s in statuses],
        "active_scopes": [(s.scope, _short(s.scope)) for s in statuses if s.active],
        "offered": [(s, labels[s]) for s in (document.scopes if document else [])],
        "new_version": any(s.active and s.needs_reconsent for s in statuses),
        "errors": {},
        "chosen": [],
        "typed_name": "",
        **extra,
    }


def _confirm(request: HttpRequest, patient: Patient, scope: str) -> HttpResponse:
    """The second step of a withdrawal: what it changes, then "Yes, withdraw" or "Keep my consent"."""
    if scope not in WITHDRAW_EFFECTS or not status.has_active(patient, scope):
        ctx = _context(patient, request, errors={"scope": "Choose a consent you have given to withdraw it."})
        return render(request, "consent/consent.html", ctx, status=400)
    return render(
        request,
        "consent/withdraw_confirm.html",
        {"patient": patient, "scope": scope, "label": _short(scope), "effects": WITHDRAW_EFFECTS[scope]},
    )


@login_and_access
def consent_page(request: HttpRequest, code: str) -> HttpResponse:
    actor = Actor.of(request.user)
    patient = access.get_patient_for(request.user, code, actor=actor, purpose="consent")
    is_self = access.is_own_record(request.user, patient)
    if request.method == "GET" and is_self and request.GET.get("withdraw"):
        return _confirm(request, patient, request.GET["withdraw"])
    if request.method != "POST":
        return render(request, "consent/consent.html", _context(patient, request))
    if not is_self:
        return HttpResponse("Only the patient can sign or withdraw their consent.", status=403)
    action = request.POST.get("action")
    scope = request.POST.get("scope", "")
    if action == "withdraw":
        if request.POST.get("confirm") != "yes":
            return _confirm(request, patient, scope)
        try:
            actions.withdraw(actor=actor, patient=patient, scope=scope)
        except InputError:
            ctx = _context(patient, request, errors={"scope": "Choose a consent you have given to withdraw it."})
            return render(request, "consent/consent.html", ctx, status=400)
        messages.success(request, f"You withdrew your consent for {_short(scope).lower()}.")
        return redirect("patient-home")
    document = status.latest_document(patient.program_id)
    chosen = request.POST.getlist("scopes")
    typed_name = request.POST.get("typed_name", "")
    errors: dict[str, str] = {}
    if not chosen:
        errors["scopes"] = "Tick at least one of the choices you agree to."
    if len(" ".join(typed_name.split())) < 2:
        errors["typed_name"] = "Type your full name to sign."
    if document is not None and not errors:
        try:
            actions.sign(actor=actor, patient=patient, document=document, scopes=chosen, typed_name=typed_name)
        except InputError as exc:
            field = exc.field if exc.field in ("scopes", "typed_name") else "scopes"
            errors[field] = exc.message[:1].upper() + exc.message[1:] + "."
        else:
            messages.success(request, "Thank you. A copy of what you signed is available below.")
            return redirect("consent", code=patient.code)
    if document is None:
        errors["scopes"] = "Your program has not published a consent document yet."
    ctx = _context(patient, request, errors=errors, chosen=chosen, typed_name=typed_name)
    return render(request, "consent/consent.html", ctx, status=400)


def care_consent_gate(what: str) -> Any:
    """Wrap a patient's own care-data form: without care consent (or a clinician's override) the patient sees a
    page that says so in their words, with the date they withdrew and a "Sign again" button.

    Anyone else (the care team opening a questionnaire) goes straight to the form, which checks for itself."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                patient = access.get_own_patient_for(request.user, kwargs.get("code"), purpose="care_consent_check")
            except access.NotFound:
                return view(request, *args, **kwargs)
            if status.care_allowed(patient):
                return view(request, *args, **kwargs)
            withdrawn = consent_queries.last_withdrawal(patient, Scope.CARE)
            return render(
                request,
                "consent/care_needed.html",
                {
                    "patient": patient,
                    "withdrawn_at": withdrawn.withdrawn_at if withdrawn else None,
                    "what": GATED_ACTIONS.get(what, "record care data"),
                    "sign_url": reverse("consent", kwargs={"code": patient.code}),
                },
                status=403 if request.method == "POST" else 200,
            )

        return login_and_access(wrapped)

    return decorate
