"""The patient's questionnaire-reminder choice: ``POST /me/reminders/`` (``patient-reminders``).

The toggle sits on the patient's own page; this view stores the choice (``notifications.actions``) and returns to
that page with a message in the patient's words. Only the login's own record can be changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kratomwatch import access
from kratomwatch.audit.log import Actor
from kratomwatch.notifications import actions
from kratomwatch.web.security import login_and_access

CHOICES = {"on": True, "off": False}


@require_POST
@login_and_access
def reminders(request: HttpRequest) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, purpose="patient_reminders")
    choice = request.POST.get("questionnaires", "")
    if choice not in CHOICES:
        return HttpResponseBadRequest(
            "Questionnaire reminders: choose on or off. Nothing was changed.", content_type="text/plain"
        )
    actions.set_questionnaire_reminders(actor=Actor.of(request.user), patient=patient, enabled=CHOICES[choice])
    if not CHOICES[choice]:
        messages.success(request, "Questionnaire reminders are off.")
    elif getattr(request.user, "email", ""):
        messages.success(request, "We will email you when a questionnaire is overdue.")
    else:
        messages.warning(
            request,
            "Questionnaire reminders are on, but we have no email address for you: ask your care team to add one.",
        )
    return redirect("patient-home")
