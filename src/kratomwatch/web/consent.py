"""Consent pages for patients: read the current document, sign with a typed name, withdraw a scope.

The patient is resolved through ``kratomwatch.access`` (404 for anyone who may not see the record); the care
team may read the page, but only the patient themself signs or withdraws. Writes go through
``consent.actions``."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from kratomwatch import access
from kratomwatch.audit.log import Actor
from kratomwatch.consent import actions, status
from kratomwatch.consent.models import Scope
from kratomwatch.core.errors import InputError
from kratomwatch.web.security import login_and_access


@login_and_access
def consent_page(request: HttpRequest, code: str) -> HttpResponse:
    actor = Actor.of(request.user)
    patient = access.get_patient_for(request.user, code, actor=actor, purpose="consent")
    is_self = access.is_own_record(request.user, patient)
    document = status.latest_document(patient.program_id)
    if request.method == "POST":
        if not is_self:
            return HttpResponse("Only the patient can sign or withdraw their consent.", status=403)
        try:
            if request.POST.get("action") == "withdraw":
                actions.withdraw(actor=actor, patient=patient, scope=request.POST.get("scope", ""))
                messages.success(request, "Your consent was withdrawn.")
            elif document is not None:
                actions.sign(
                    actor=actor,
                    patient=patient,
                    document=document,
                    scopes=request.POST.getlist("scopes"),
                    typed_name=request.POST.get("typed_name", ""),
                )
                messages.success(request, "Thank you. A copy of what you signed is available below.")
            return redirect("consent", code=patient.code)
        except InputError as exc:
            messages.error(request, f"{exc.message}")
    labels = dict(Scope.choices)
    return render(
        request,
        "consent/consent.html",
        {
            "patient": patient,
            "document": document,
            "is_self": is_self,
            "scopes": [(s, labels.get(s.scope, s.scope)) for s in status.scope_status(patient)],
            "offered": [(s, labels[s]) for s in (document.scopes if document else [])],
        },
    )
