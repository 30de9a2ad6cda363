"""The start page after login: the list of patients the user may see (``access.patients_for``), audited as a
list read. Clinicians continue to ``/clinic/`` (web/clinician.py), patients to ``/me/`` (web/patient.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kratomwatch import access


@login_required
def home(request: HttpRequest) -> HttpResponse:
    patients = access.patients_for(request.user).select_related("program").order_by("code")[:200]
    access.audit_list(request.user, "patients")
    return render(request, "web/home.html", {"patients": patients})
