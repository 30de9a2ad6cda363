"""Consent pages for patients: read the current document, sign with a typed name, withdraw a scope."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from kratomwatch import access
from kratomwatch.audit.log import Actor
from kratomwatch.consent import actions, status
from kratomwatch.consent.models import Scope
from kratomwatch.core.errors import InputError


@login_required
def consent_page(request: HttpRequest, code: str) -> HttpResponse:
    actor = Actor.of(request.user, request.META.get("REMOTE_ADDR"))
    try:
        patient = access.get_patient_for(request.user, code, actor=actor, purpose="consent")
    except access.NotFound:
        raise Http404("not found") from None
    is_self = patient.user_id == request.user.pk
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
