"""Clinician pages: dashboard, patient page, care-plan form and the printable visit summary.

Views only: access through ``kratomwatch.access`` (a user who may not see a patient or alert gets 404, one who
may see it but is not its care team gets 403: ``access.get_care_patient_for``, the check the API makes too, so a
login never opens these pages for its own patient record); page data from ``web/pages.py``; form parsing in
``web/forms.py``; writes through the actions modules (``alerts.actions``, ``careplans.actions``,
``assessments.actions``). Only clinicians, program admins and staff open these pages; a patient or researcher
gets 403. The pages measure, screen, flag and cite: they never propose a kratom dose (a taper target is
whatever the clinician entered).
"""

from __future__ import annotations

import itertools
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.assessments.schedules import GRACE_LABEL, statuses_for
from kratomwatch.audit.log import Actor
from kratomwatch.careplans import actions as careplan_actions
from kratomwatch.careplans import queries as careplan_queries
from kratomwatch.careplans.models import Modality
from kratomwatch.consent.guard import require_care_consent
from kratomwatch.consent.status import care_state
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient
from kratomwatch.web import corrections as correction_views
from kratomwatch.web import forms, pages
from kratomwatch.web.security import clinician_required
from kratomwatch.web.visit_pdf import render_visit_summary

TAPER_ROWS_EXTRA = 3
FIND_MAX = 32  # a patient code is at most 32 characters


# --- dashboard ---------------------------------------------------------------------------------------------------


@clinician_required
def dashboard(request: HttpRequest) -> HttpResponse:
    find = request.GET.get("find", "").strip()[:FIND_MAX]
    if find:
        exact = access.care_patients_for(request.user).filter(code__iexact=find).values_list("code", flat=True).first()
        if exact is not None:  # a whole code opens that patient's page
            return redirect("clinic-patient", exact)
    board = pages.dashboard(request.user, find=find)
    access.audit_list(request.user, "clinic_dashboard", count=len(board.rows))
    return render(
        request,
        "web/clinician/dashboard.html",
        {
            "rows": board.rows,
            "scale_max": board.scale_max,
            "programs": board.programs,
            "mean_days": pages.MEAN_DAYS,
            "severities": pages.SEVERITIES,
            "instruments": [(i, ins.get(i).title) for i in pages.OUTCOME_INSTRUMENTS],
            "spark_days": pages.SPARK_DAYS,
            "limit": pages.DASHBOARD_LIMIT,
            "find": find,
        },
    )


# --- patient page -------------------------------------------------------------------------------------------------


@clinician_required
def patient_page(request: HttpRequest, code: str) -> HttpResponse:
    patient = access.get_care_patient_for(request.user, code, purpose="clinician_page")
    data = pages.load_patient_data(patient, user=request.user)
    return render(
        request,
        "web/clinician/patient.html",
        {
            "p": patient,
            "d": data,
            "timeline": mark_safe(pages.patient_timeline_svg(data)),  # noqa: S308 - escaped by charts
            "timeline_table": mark_safe(pages.patient_timeline_table(data)),  # noqa: S308 - escaped by charts
            "timeline_days": pages.TIMELINE_DAYS,
            "table": data.exposure_table(),
            "stance": pages.STANCE,
            "legal_note": pages.LEGAL_NOTE,
            "legal_sources": pages.source_links(data.legal.sources) if data.legal else [],
            "instrument_titles": {i: ins.get(i).title for i in pages.OUTCOME_INSTRUMENTS},
            "grace_label": GRACE_LABEL,
            "next": request.get_full_path(),
            "rec": correction_views.record_section_for(request.user, patient),
            "care": care_state(patient),
        },
    )


# --- care plan form ----------------------------------------------------------------------------------------------


def _error_line(errors: dict[str, str]) -> str:
    return "; ".join(f"{forms.field_label(field)}: {message}" for field, message in errors.items())


SAVED_MESSAGES = {
    "plan": "Care plan saved.",
    "schedule": "Questionnaire schedule saved.",
    "stopped": "Questionnaire schedule stopped.",
}


def taper_warnings(steps: list[tuple[Any, float]]) -> list[str]:
    """A warning for each clinician-entered taper step that is higher than the step before it (the plan is saved
    as entered: it is the clinician's plan; the page only points the increase out)."""
    ordered = sorted(steps, key=lambda s: s[0])
    return [
        f"Step {i + 1} ({cur[1]:g} mg, from {cur[0]:%d %b %Y}) is higher than step {i} ({prev[1]:g} mg)."
        for i, (prev, cur) in enumerate(itertools.pairwise(ordered), start=1)
        if cur[1] > prev[1]
    ]


def _care_plan_context(
    patient: Patient, *, submitted: forms.CarePlanValues | None = None, error: str = ""
) -> dict[str, Any]:
    """The form filled from the stored plan, or from ``submitted`` when it is shown again with an error."""
    plan = careplan_queries.care_plan(patient)
    stored_steps = careplan_queries.taper_steps(plan)
    titles = {d.id: d.title for d in ins.all_definitions()}
    if submitted is not None:
        steps = submitted.rows
        goals, notes, modalities = submitted.goals, submitted.notes, set(submitted.modalities)
    else:
        steps = [(s.start.isoformat(), f"{s.target_mg:g}") for s in stored_steps]
        goals = plan.goals if plan else ""
        notes = plan.notes if plan else ""
        modalities = set(plan.modalities) if plan else set()
    rows = [{"n": i, "start": s, "mg": m} for i, (s, m) in enumerate(steps)]
    rows += [{"n": len(rows) + i, "start": "", "mg": ""} for i in range(TAPER_ROWS_EXTRA)]
    return {
        "p": patient,
        "plan": plan,
        "goals": goals,
        "notes": notes,
        "modalities": [(m.value, m.label, m.value in modalities) for m in Modality],
        "taper_rows": rows,
        "schedules": [
            {"s": st, "title": titles.get(st.schedule.instrument_id, st.schedule.instrument_id)}
            for st in statuses_for(patient, now=timezone.now())
        ],
        "taper_warnings": taper_warnings([(s.start, s.target_mg) for s in stored_steps]) if submitted is None else [],
        "instruments": [(d.id, d.title) for d in ins.all_definitions()],
        "today": patient.local_today(),
        "taper_note": pages.TAPER_NOTE,
        "grace_label": GRACE_LABEL,
        "error": error,
    }


def _save_care_plan_form(request: HttpRequest, patient: Patient) -> tuple[str, forms.CarePlanValues | None]:
    """Apply the submitted form: the plan, a questionnaire schedule, or stopping a schedule.

    Returns the error line to show ("" when saved) and the plan form as submitted, to show it again. The
    consent check comes first, so a patient without care consent is told that before any field error."""
    post = request.POST
    actor = Actor.of(request.user)
    form = post.get("form", "plan")
    submitted: forms.CarePlanValues | None = None
    plan_errors: dict[str, str] = {}
    if form not in ("schedule", "deactivate"):
        submitted, plan_errors = forms.parse_care_plan(post)
    try:
        require_care_consent(patient, care_team=True)
        if form == "schedule":
            schedule, errors = forms.parse_schedule(post)
            if schedule is None:
                return _error_line(errors), None
            assessment_actions.set_schedule(
                actor=actor,
                patient=patient,
                instrument_id=schedule.instrument_id,
                every_days=schedule.every_days,
                start=schedule.start,
            )
        elif form == "deactivate":
            if post.get("confirm") != "yes":
                return "Stopping a schedule needs confirmation: use the Stop button and confirm.", None
            assessment_actions.deactivate_schedule(
                actor=actor, patient=patient, instrument_id=post.get("instrument_id", "")
            )
        elif submitted is not None:
            if plan_errors:
                return _error_line(plan_errors), submitted
            careplan_actions.save_care_plan(
                actor=actor,
                patient=patient,
                goals=submitted.goals,
                modalities=submitted.modalities,
                notes=submitted.notes,
                taper=submitted.taper,
                user=request.user,
            )
    except InputError as exc:
        return f"{forms.field_label(exc.field)}: {exc.message}", submitted
    return "", None


@clinician_required
@require_http_methods(["GET", "POST"])
def care_plan(request: HttpRequest, code: str) -> HttpResponse:
    if request.method == "GET":
        patient = access.get_care_patient_for(request.user, code, purpose="care_plan")
        context = _care_plan_context(patient)
        context["saved"] = SAVED_MESSAGES.get(request.GET.get("saved", ""), "")
        stop = request.GET.get("stop", "")
        context["confirm_stop"] = next(
            (r for r in context["schedules"] if r["s"].schedule.instrument_id == stop and r["s"].schedule.active), None
        )
        return render(request, "web/clinician/care_plan.html", context)
    patient = access.get_care_patient_for(request.user, code, purpose="care_plan_edit")
    error, submitted = _save_care_plan_form(request, patient)
    if error:
        context = _care_plan_context(patient, submitted=submitted, error=error)
        return render(request, "web/clinician/care_plan.html", context, status=400)
    saved = {"schedule": "schedule", "deactivate": "stopped"}.get(request.POST.get("form", "plan"), "plan")
    return redirect(reverse("clinic-care-plan", args=[patient.code]) + f"?saved={saved}")


# --- visit summary PDF -------------------------------------------------------------------------------------------


@clinician_required
def visit_summary_pdf(request: HttpRequest, code: str) -> HttpResponse:
    patient = access.get_care_patient_for(request.user, code, purpose="visit_summary")
    data = pages.load_patient_data(patient, user=request.user)
    pdf = render_visit_summary(
        data,
        timeline_svg=pages.patient_timeline_svg(data),
        stance=pages.STANCE,
        legal_note=pages.LEGAL_NOTE,
        generated_by=request.user.get_username(),
        generated_at=timezone.now(),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="visit-summary-{patient.code}-{data.today.isoformat()}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


__all__ = [
    "care_plan",
    "dashboard",
    "patient_page",
    "visit_summary_pdf",
]
