"""Consent pages for patients: read the current document, sign with a typed name, withdraw a scope.

The patient is resolved through ``kratomwatch.access`` (404 for anyone who may not see the record); the care
team may read the page, but only the patient themself signs or withdraws. Writes go through
``consent.actions``. Withdrawing takes two steps: the patient first reads, in plain words, what withdrawing that
scope changes, then confirms ("Yes, withdraw") or keeps their consent. Errors are shown next to the field
(HTTP 400) and save nothing.

``care_consent_gate`` wraps the patient's own care-data forms (log a dose, report a side effect, a
questionnaire): without care consent the patient sees why, in their words, and a way to sign again, instead of
a form that would be refused. A clinician's override never opens these forms: it covers the care team only.

The page shows the state of care consent (never given, given, withdrawn, withdrawn with an override) and, while an
override is active, who gave it (their role), the grounds and reason, and until when (the patient's zone).

``consent_override`` is the care team's override page (``/clinic/patients/<code>/consent-override/``): the same
action as the API (``consent.actions.override_care_consent``) with the same rules; errors inline (400), a refused
override (consent active, one already active, the withdrawal's overrides used) 409 with the reason in words.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.accounts.program_settings import consent_override_policy
from kratomwatch.audit.log import Actor
from kratomwatch.consent import actions, status
from kratomwatch.consent import queries as consent_queries
from kratomwatch.consent.models import GROUNDS_AFTER_WITHDRAWAL, GROUNDS_BEFORE_FIRST_SIGNATURE, Scope
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.records.models import Patient
from kratomwatch.web.security import View, clinician_required, login_and_access
from kratomwatch.web.templatetags.kwtime import local

ROLE_WORDS = {"clinician": "a clinician", "program_admin": "a program administrator", "staff": "a staff member"}
"""How the patient is told who gave an override: the role only (patient pages name no member of the care team)."""

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
    care = status.care_state(patient)
    return {
        "patient": patient,
        "care": care,
        "override_by": ROLE_WORDS.get(care.override.clinician_role, "your care team") if care.override else "",
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
    """Wrap a patient's own care-data form: without care consent the patient sees a page that says so in their
    words, with the date they withdrew and a "Sign again" button. A clinician's override does not open the form:
    it covers the care team's recording only.

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
                    "override": status.active_override(patient),
                    "what": GATED_ACTIONS.get(what, "record care data"),
                    "sign_url": reverse("consent", kwargs={"code": patient.code}),
                },
                status=403 if request.method == "POST" else 200,
            )

        return login_and_access(wrapped)

    return decorate


# --- the care team's override -------------------------------------------------------------------------------------

OVERRIDE_LABELS = {"grounds": "Grounds", "reason": "Reason for recording without consent"}


def _override_page(
    request: HttpRequest,
    patient: Patient,
    *,
    back: str,
    errors: dict[str, str] | None = None,
    refused: str = "",
    raw: dict[str, str] | None = None,
    status_code: int = 200,
) -> HttpResponse:
    care = status.care_state(patient)
    errors = errors or {}
    grounds = GROUNDS_AFTER_WITHDRAWAL if care.withdrawn_at else GROUNDS_BEFORE_FIRST_SIGNATURE
    context = {
        "p": patient,
        "care": care,
        "grounds": [(g.value, g.label) for g in grounds],
        "policy": consent_override_policy(patient.program_id),
        "min_reason": actions.MIN_REASON,
        "errors": errors,
        "summary": [{"field": k, "label": OVERRIDE_LABELS.get(k, k), "message": v} for k, v in errors.items()],
        "refused": refused,
        "raw": raw or {},
        "next": back,
        "zone": patient.time_zone,
    }
    return render(request, "web/entry/override.html", context, status=status_code)


def _refusal(patient: Patient, exc: Conflict) -> str:
    """A refused override in a clinician's words, times in the patient's zone (named)."""
    care = status.care_state(patient)
    if exc.field == "consent" and exc.value == "care":
        return f"{patient.code} has given care consent: no override is needed."
    if care.override is not None:
        until = local(care.override.expires_at, patient.time_zone)
        return f"An override is already active until {until}. Overrides do not stack: wait until it ends."
    return (
        f"{patient.code} has had {care.overrides_used} of the program's {care.overrides_allowed} override(s) for "
        "this gap in consent. The patient must consent again before care data can be recorded."
    )


@clinician_required
@require_http_methods(["GET", "POST"])
def consent_override(request: HttpRequest, code: str) -> HttpResponse:
    patient = access.get_writable_patient_for(request.user, code, consent=False)
    back = str(request.POST.get("next", request.GET.get("next", "")))
    if not back.startswith(f"/clinic/patients/{patient.code}/"):
        back = reverse("clinic-patient", args=[patient.code])
    if request.method == "GET":
        return _override_page(request, patient, back=back)
    grounds = str(request.POST.get("grounds", "")).strip()
    reason = str(request.POST.get("reason", "")).strip()
    raw = {"grounds": grounds, "reason": reason}
    try:
        item = actions.override_care_consent(
            actor=Actor.of(request.user), patient=patient, clinician=request.user, grounds=grounds, reason=reason
        )
    except Conflict as exc:
        return _override_page(request, patient, back=back, refused=_refusal(patient, exc), raw=raw, status_code=409)
    except InputError as exc:
        if exc.field == "grounds":
            message = "Choose the grounds for recording without consent."
        elif exc.field == "reason":
            message = f"Write the reason in at least {actions.MIN_REASON} characters (it is kept in the audit trail)."
        else:
            message = exc.message[:1].upper() + exc.message[1:] + "."
        field = exc.field if exc.field in OVERRIDE_LABELS else "reason"
        return _override_page(request, patient, back=back, errors={field: message}, raw=raw, status_code=400)
    until = local(item.expires_at, patient.time_zone)
    messages.success(request, f"Override recorded until {until}. The care team can record care data until then.")
    return redirect(back)
