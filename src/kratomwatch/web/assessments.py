"""Server-rendered questionnaires, built from the instrument definitions.

Plain HTML forms (no JavaScript): one fieldset per question with large radio targets, CSRF-protected,
usable on a 375 px wide phone. Access goes through ``kratomwatch.access``: a user who may not see the patient
gets 404, and only the patient or their care team records answers. Reads of the patient's results go through
``assessments/queries.py``; writes go through ``assessments.actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.assessments import analysis
from kratomwatch.assessments import queries as assessment_queries
from kratomwatch.assessments.actions import CLINICIAN_ADMINISTERED, AnswerError, record_assessment
from kratomwatch.assessments.models import AssessmentSource
from kratomwatch.assessments.schedules import statuses_for
from kratomwatch.audit.log import Actor
from kratomwatch.consent.guard import require_care_consent
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.web.security import login_and_access

RECENT = 20


@dataclass(frozen=True)
class Question:
    position: int
    item: ins.Item
    prompt: str
    compact: bool
    anchors: list[str]
    selected: str
    error: str


def _questions(
    definition: ins.InstrumentDefinition, selected: dict[str, str], errors: dict[str, str]
) -> list[Question]:
    out = []
    for position, item in enumerate(definition.items, start=1):
        anchors = [f"{o.value} = {o.label}" for o in item.options if o.label != str(o.value)]
        compact = len(item.options) > 5
        out.append(
            Question(
                position=position,
                item=item,
                prompt=item.text or item.label,
                compact=compact,
                anchors=anchors if compact else [],
                selected=selected.get(item.id, ""),
                error=errors.get(item.id, ""),
            )
        )
    return out


@login_and_access
def patient_assessments(request: HttpRequest, code: str) -> HttpResponse:
    patient = access.get_patient_for(request.user, code, purpose="assessments")
    is_self = access.is_own_record(request.user, patient)
    statuses = statuses_for(patient, now=timezone.now(), include_inactive=False)
    definitions = [d for d in ins.all_definitions() if not (is_self and d.id in CLINICIAN_ADMINISTERED)]
    titles = {d.id: d.title for d in ins.all_definitions()}
    recent = [
        {
            "a": a,
            "when": analysis.local_time(a.administered_at, patient),
            "title": titles.get(a.instrument_id, a.instrument_id),
            "flags": analysis.flags_out(a),
        }
        for a in assessment_queries.assessments_of(patient)[:RECENT]
    ]
    scheduled = [s for s in statuses if s.schedule.instrument_id not in CLINICIAN_ADMINISTERED or not is_self]
    # "Due now" is only what is due on the patient's local today (ScheduleStatus.today is in their zone);
    # the rest of the schedule is "Coming up" with its date, and the unscheduled instruments are "Other".
    due = [
        {"s": s, "title": titles.get(s.schedule.instrument_id, s.schedule.instrument_id)}
        for s in scheduled
        if s.is_due
    ]
    coming = [
        {"s": s, "title": titles.get(s.schedule.instrument_id, s.schedule.instrument_id)}
        for s in sorted((s for s in scheduled if not s.is_due), key=lambda s: s.next_due)
    ]
    scheduled_ids = {s.schedule.instrument_id for s in scheduled}
    others = [d for d in definitions if d.id not in scheduled_ids]
    return render(
        request,
        "assessments/list.html",
        {
            "patient": patient,
            "is_self": is_self,
            "due": due,
            "coming": coming,
            "definitions": definitions,
            "others": others,
            "recent": recent,
        },
    )


@login_and_access
@require_http_methods(["GET", "POST"])
def assessment_form(request: HttpRequest, code: str, instrument_id: str) -> HttpResponse:
    patient = access.get_patient_for(request.user, code, purpose="assessment_form")
    try:
        definition = ins.get(instrument_id)
    except ins.UnknownInstrument:
        raise Http404("unknown instrument") from None
    is_self = access.is_own_record(request.user, patient)
    context: dict[str, Any] = {"patient": patient, "definition": definition, "is_self": is_self}
    if is_self and definition.id in CLINICIAN_ADMINISTERED:
        return render(request, "assessments/clinician_only.html", context, status=403)
    supervisable = any(s.excluded_when_supervised for s in definition.scales) and not is_self
    context["supervisable"] = supervisable
    selected: dict[str, str] = {}
    item_errors: dict[str, str] = {}
    form_errors: list[str] = []
    status = 200
    if request.method == "POST":
        answers: list[Any] = []
        for position, item in enumerate(definition.items, start=1):
            raw = request.POST.get(f"item_{item.id}", "").strip()
            selected[item.id] = raw
            if raw == "":
                answers.append(None)
                item_errors[item.id] = "Please choose an answer."
                form_errors.append(f"Question {position} ({item.label}) is not answered.")
                continue
            try:
                answers.append(int(raw))
            except ValueError:
                answers.append(raw)  # the core rejects it, naming the item
        supervised = supervisable and request.POST.get("supervised") == "on"
        if not is_self:  # the care team records for a patient by the one care-team check (never on its own record)
            access.require_care_team_for(request.user, patient)
        if not form_errors:
            try:
                require_care_consent(patient, care_team=not is_self)
                assessment = record_assessment(
                    actor=Actor.of(request.user),
                    patient=patient,
                    instrument_id=definition.id,
                    answers=answers,
                    administered_at=timezone.now(),
                    source=AssessmentSource.SELF_REPORT if is_self else AssessmentSource.CLINICIAN,
                    supervised=supervised,
                )
            except AnswerError as exc:
                if exc.item_id:
                    item_errors[exc.item_id] = "This answer is not allowed."
                form_errors.append(exc.message)
            except InputError as exc:
                form_errors.append(exc.message)
            else:
                return redirect("assessments:result", code=patient.code, pk=assessment.pk)
        status = 400
    context.update(questions=_questions(definition, selected, item_errors), errors=form_errors)
    return render(request, "assessments/form.html", context, status=status)


@login_and_access
def assessment_result(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = access.get_patient_for(request.user, code, purpose="assessment_result")
    assessment = assessment_queries.assessment_of(patient, pk)
    if assessment is None:
        raise Http404("assessment not found")
    try:
        definition: ins.InstrumentDefinition | None = ins.get(assessment.instrument_id)
    except ins.UnknownInstrument:
        definition = None
    scales = []
    warnings: list[str] = []
    if definition is not None:
        for scale in definition.scales:
            value = assessment.scores.get(scale.id)
            scales.append({"label": scale.label, "value": ins.format_value(value, 2)})
            if assessment.supervised and scale.excluded_when_supervised and scale.supervised_warning:
                warnings.append(scale.supervised_warning)
    return render(
        request,
        "assessments/result.html",
        {
            "patient": patient,
            "assessment": assessment,
            "definition": definition,
            "title": definition.title if definition is not None else assessment.instrument_id,
            "total": ins.format_value(
                assessment.scores.get(definition.primary_scale_id) if definition is not None else assessment.total, 2
            ),
            "scales": scales,
            "flags": analysis.flags_out(assessment),
            "warnings": warnings,
            "notice": analysis.urgent_notice(assessment.flags, patient.jurisdiction),
            "local_time": analysis.local_time(assessment.administered_at, patient),
            "is_self": access.is_own_record(request.user, patient),
        },
    )
