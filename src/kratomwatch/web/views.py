"""The start of the site: ``/`` sends each role to its home (web/nav.py decides which), the researcher's and
staff's homes, a page for a login with no role yet, and the favicon.

Homes of the other roles live with their audience: the patient's ``/me/`` (web/patient.py), the care team's
``/clinic/`` (web/clinician.py). The researcher's home shows aggregate counts only, never a patient identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from kratomwatch import access
from kratomwatch.consent.status import with_active_scope
from kratomwatch.web import nav, research, research_cohorts

FAVICON = Path(__file__).parent / "static" / "web" / "favicon.svg"


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Redirect to the home of the user's role; a login with no role gets a page that says so and whom to ask."""
    name = nav.home_url_name(nav.roles_of(request.user))
    if name is not None:
        return HttpResponseRedirect(reverse(name))
    return render(request, "web/home.html", {})


@dataclass(frozen=True)
class ResearchProgram:
    pk: int
    name: str
    consenting: int


def research_programs(user: Any) -> list[ResearchProgram]:
    """For each program in ``user``'s research scope (``access.research_programs_for``): the number of patients
    whose research consent is active now (``consent.status.with_active_scope``). A count only: no code or other
    identifier leaves this function."""
    return [
        ResearchProgram(p.pk, p.name, with_active_scope(access.research_patients_for(user, p), "research").count())
        for p in access.research_programs_for(user).order_by("name")
    ]


@require_GET
@login_required
def researcher_home(request: HttpRequest) -> HttpResponse:
    if nav.RESEARCHER not in nav.roles_of(request.user):
        raise PermissionDenied("the research home is for researchers")
    context = {
        "programs": research_programs(request.user),
        "exports": research.recent_exports(request.user),
        "workspaces": research_cohorts.workspaces(request.user),
        "zone": research.clinic_zone(),
    }
    return render(request, "web/researcher_home.html", context)


def _reverse_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:  # a page another area has not added yet: leave the link off
        return None


@require_GET
@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    if nav.STAFF not in nav.roles_of(request.user):
        raise PermissionDenied("the staff home is for site staff")
    programs = access.programs_for(request.user).annotate(patient_count=Count("patients")).order_by("name")
    links = {
        "dashboard": _reverse_or_none("clinic-dashboard"),
        "alerts": _reverse_or_none("clinic-alerts"),
        "audit": _reverse_or_none("audit-log"),
        "admin": _reverse_or_none("admin:index"),
        "tokens": _reverse_or_none("account-tokens"),
        "program": _reverse_or_none("program-home"),
        "surveillance": _reverse_or_none("research-surveillance"),
    }
    return render(request, "web/staff_home.html", {"programs": programs, "links": links})


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``: browsers ask for it on every page; the answer is the site's SVG mark."""
    return HttpResponse(FAVICON.read_bytes(), content_type="image/svg+xml")
