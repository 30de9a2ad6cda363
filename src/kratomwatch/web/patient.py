"""Patient pages: home, log a dose in two taps, report a side effect.

Server-rendered, no JavaScript, usable on a 375 px wide phone. A patient sees only their own record: every page
resolves the patient with ``access.get_own_patient_for`` and answers 404 unless the logged-in user *is* that
patient (clinicians use the clinic pages). Reads anchored to that patient go through ``records/queries.py`` and
``careplans/queries.py``; form parsing is in ``web/forms.py``; writes go through ``records.actions``.

kratomwatch measures, screens, flags and cites. It never recommends a kratom dose: the dose page only offers to
repeat the patient's own last entry, labelled as such.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.assessments.actions import CLINICIAN_ADMINISTERED
from kratomwatch.assessments.schedules import statuses_for
from kratomwatch.audit.log import Actor
from kratomwatch.careplans import queries as careplan_queries
from kratomwatch.careplans.models import Modality, TaperStep
from kratomwatch.consent import status as consent_status
from kratomwatch.consent.guard import require_care_consent
from kratomwatch.consent.models import Scope
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.core.units import Unit
from kratomwatch.records import actions
from kratomwatch.records import queries as record_queries
from kratomwatch.records.models import Dose, Patient
from kratomwatch.web import charts, forms, pages
from kratomwatch.web import corrections as correction_views
from kratomwatch.web import nof1 as nof1_views
from kratomwatch.web.forms import ACTIONS, FIELD_LABELS, OUTCOMES, SERIOUS, SEVERITY
from kratomwatch.web.security import login_and_access

CHART_DAYS = 28
CHART_RANGES = (("28", "28 days"), ("90", "90 days"), ("all", "All"))
"""The periods a patient can choose for the chart and its table (``?days=``); "all" starts at the first dose."""


def _range_days(choice: str, patient: Patient, today: dt.date) -> int:
    """Days shown for the chosen period: 28 (default), 90, or from the first recorded dose (at most ten years)."""
    if choice == "90":
        return 90
    if choice == "all":
        first = record_queries.doses_of(patient).last()
        return min(3650, max(CHART_DAYS, (today - first.local_date).days + 1)) if first else CHART_DAYS
    return CHART_DAYS

BASIS_WORDS = {
    "certificate": "from this lot's lab certificate",
    "estimated": "estimated: no lab certificate, so a published reference content is used",
    "unknown": "unknown: the strength of this product is not known, so it is not counted in mg",
}


def _errors_out(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"field": f, "label": FIELD_LABELS.get(f, f), "message": m} for f, m in errors.items()]


# --- presentation helpers --------------------------------------------------------------------


def _mg(value: float | None) -> str:
    if value is None:
        return "not known"
    return f"{value:.1f} mg" if value < 100 else f"{value:.0f} mg"


@dataclass(frozen=True)
class DoseRow:
    dose: Dose
    when: dt.datetime
    product: str
    amount: str
    mitragynine: str
    seven_oh: str
    basis: str
    basis_words: str
    range_text: str
    voided: str = ""  # "voided <when> by <who>: <reason>" for an undone or voided dose
    undo_url: str = ""  # the patient's own Undo while the undo window is open


def _amount(value: float, unit: str) -> str:
    return f"{value:g} {unit}"


def _dose_row(dose: Dose, patient: Patient) -> DoseRow:
    range_text = ""
    if dose.basis == "estimated" and dose.mitragynine_low_mg is not None and dose.mitragynine_high_mg is not None:
        range_text = f"likely between {dose.mitragynine_low_mg:.0f} and {dose.mitragynine_high_mg:.0f} mg"
    return DoseRow(
        dose=dose,
        when=dose.taken_at.astimezone(exposure.zone(patient.time_zone)),
        product=f"{dose.lot.product} (lot {dose.lot.lot_code})",
        amount=_amount(dose.amount, dose.unit),
        mitragynine=_mg(dose.mitragynine_mg),
        seven_oh=_mg(dose.seven_oh_mg),
        basis=dose.basis,
        basis_words=BASIS_WORDS.get(dose.basis, dose.basis),
        range_text=range_text,
    )


#: The patient's chart is drawn narrow with large type so that its text stays readable on a phone (at 390 px
#: the axis labels come out at about 11 px or more).
CHART_WIDTH = 380
CHART_FONT = 13


def _chart(patient: Patient, today: dt.date, steps: list[TaperStep], days: int = CHART_DAYS) -> str:
    """The patient's own chart: mitragynine with the clinician's plan (planned steps ahead shaded), 7-OH on its own
    axis, today as a day in progress; followed by its numbers as a table in ``<details>``."""
    start = today - dt.timedelta(days=days - 1)
    taper = [(s.start, s.target_mg) for s in steps]
    end = pages.timeline_end(today, taper)
    panels = pages.exposure_panels(
        record_queries.daily_rows(patient, start, today),
        start,
        today,
        taper,
        end,
        titles=("Mitragynine", "7-OH"),
        heights=(150, 80),
        plan_name="your clinician's plan",
    )
    svg = charts.timeline(
        start,
        end,
        panels,
        width=CHART_WIDTH,
        font_size=CHART_FONT,
        today=today,
        title=f"My daily mg of mitragynine and 7-OH over the last {days} days",
    )
    return svg + charts.data_table(panels, start, end, caption=f"My daily mg, last {days} days, newest first")


# --- home ------------------------------------------------------------------------------------


@login_and_access
def home(request: HttpRequest, code: str | None = None) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, code, purpose="patient_home")
    today = patient.local_today()
    doses = [_dose_row(d, patient) for d in record_queries.doses_on(patient, today)]
    doses = [correction_views.with_status(r, r.dose, patient, request.user) for r in doses]
    daily = record_queries.daily_on(patient, today)
    titles = {d.id: d.title for d in ins.all_definitions()}
    due = [
        {
            "status": s,
            "title": titles.get(s.schedule.instrument_id, s.schedule.instrument_id),
            "url": reverse(
                "assessments:form", kwargs={"code": patient.code, "instrument_id": s.schedule.instrument_id}
            ),
        }
        for s in statuses_for(patient, now=timezone.now(), include_inactive=False)
        if s.is_due and s.schedule.instrument_id not in CLINICIAN_ADMINISTERED
    ]
    plan = careplan_queries.care_plan(patient)
    steps = careplan_queries.taper_steps(plan)
    modality_labels = dict(Modality.choices)
    scope_labels = dict(Scope.choices)
    statuses = consent_status.scope_status(patient)
    scopes = [{"s": s, "label": scope_labels.get(s.scope, s.scope).split(":")[0]} for s in statuses]
    chart_range = request.GET.get("days", "28") if request.GET.get("days") in dict(CHART_RANGES) else "28"
    chart_days = _range_days(chart_range, patient, today)
    return render(
        request,
        "web/patient/home.html",
        {
            "patient": patient,
            "today": today,
            "doses": doses,
            "daily": daily,
            "daily_mitragynine": _mg(daily.mitragynine_mg) if daily else "",
            "daily_seven_oh": _mg(daily.seven_oh_mg) if daily else "",
            "due": due,
            "chart": mark_safe(_chart(patient, today, steps, chart_days)),  # noqa: S308 - built by charts.timeline, escaped there
            "chart_days": chart_days,
            "chart_range": chart_range,
            "chart_ranges": CHART_RANGES,
            "plan": plan,
            "plan_modalities": [modality_labels.get(m, m) for m in (plan.modalities if plan else [])],
            "plan_has_taper": bool(steps),
            "plan_steps": [{"step": st, "ahead": st.start > today} for st in steps],
            "scopes": scopes,
            "needs_reconsent": any(s.needs_reconsent for s in statuses),
            "nof1_cards": nof1_views.home_cards(patient),
        },
    )


# --- log a dose ------------------------------------------------------------------------------


def _new_key() -> str:
    return "web:" + secrets.token_urlsafe(24)


def _logged_url(dose: Dose, *, repeat: bool) -> str:
    url = reverse("patient-dose-logged", kwargs={"pk": dose.pk})
    return url + ("?repeat=1" if repeat else "")


def _record_dose(request: HttpRequest, patient: Patient, dose_in: actions.DoseIn) -> tuple[str, dict[str, str]]:
    """Record the parsed dose once: the URL to go to, or the errors to show.

    A repeat tap or double submit carries the same form key and lands on the dose already recorded."""
    key = dose_in.idempotency_key or ""
    existing = record_queries.dose_by_key(patient, key)
    if existing is None and not request.POST.get("confirm_new"):  # the form reloaded by the back button: ask
        existing = correction_views.recent_repeat(patient, dose_in)
    if existing is not None:
        return _logged_url(existing, repeat=True), {}
    try:
        require_care_consent(patient)
        dose, created = actions.record_dose(
            actor=Actor.of(request.user), patient=patient, dose=dose_in, since_enrolment=True
        )
    except Conflict as exc:
        again = record_queries.dose_by_key(patient, key)
        if exc.field == "idempotency_key" and again is not None:  # the other submit won the race
            return _logged_url(again, repeat=True), {}
        return "", dict([forms.patient_message(exc, zone=patient.time_zone)])
    except InputError as exc:
        return "", dict([forms.patient_message(exc, zone=patient.time_zone)])
    return _logged_url(dose, repeat=not created), {}


@login_and_access
@require_http_methods(["GET", "POST"])
def log_dose(request: HttpRequest, code: str | None = None) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, code, purpose="patient_dose")
    catalogue = list(access.lots_for(request.user, program_id=patient.program_id))
    last = record_queries.last_dose(patient)
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        submitted = forms.dose_submitted(request.POST)
        dose_in, errors = forms.parse_dose(
            request.POST,
            patient=patient,
            lot_ids={lot.pk for lot in catalogue},
            now=timezone.now(),
            lot_forms={lot.pk: lot.product.form for lot in catalogue},
        )
        if dose_in is not None:
            url, errors = _record_dose(request, patient, dose_in)
            if url:
                return redirect(url)
        status = 400
    last_lot_id = last.lot_id if last is not None else None
    return render(
        request,
        "web/patient/dose.html",
        {
            "patient": patient,
            "last": _dose_row(last, patient) if last is not None else None,
            "quick_key": _new_key(),
            "other_key": _new_key(),
            "lots": [
                {
                    "id": lot.pk,
                    "label": f"{lot.product} (lot {lot.lot_code}){' - recalled' if lot.recalled else ''}",
                    "selected": str(lot.pk) == submitted.get("lot_id", str(last_lot_id)),
                    "units": " ".join(forms.lot_units(lot.product.form)),
                }
                for lot in catalogue
            ],
            "units": [
                {"value": u.value, "selected": u.value == submitted.get("unit", last.unit if last else "")}
                for u in Unit
            ],
            "amount": submitted.get("amount", f"{last.amount:g}" if last else ""),
            "taken_at": submitted.get("taken_at", ""),
            "errors": _errors_out(errors),
            "error_fields": set(errors),
            "open_other": last is None or submitted.get("form") == "other",
        },
        status=status,
    )


@login_and_access
def dose_logged(request: HttpRequest, pk: int) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, None, purpose="patient_dose_logged")
    dose = record_queries.dose_of(patient, pk)
    if dose is None:
        raise Http404("dose not found")
    daily = record_queries.daily_on(patient, dose.local_date)
    repeat = request.GET.get("repeat") == "1"
    return render(
        request,
        "web/patient/dose_logged.html",
        {
            "patient": patient,
            "row": _dose_row(dose, patient),
            "repeat": repeat,
            "offer": correction_views.repeat_offer(dose, patient, _new_key()) if repeat else None,
            "voided": correction_views.patient_void_note(dose, patient, request.user),
            "undo_url": correction_views.undo_url("dose", dose, patient, request.user),
            "daily": daily,
            "daily_mitragynine": _mg(daily.mitragynine_mg) if daily else "",
        },
    )


# --- side effects ----------------------------------------------------------------------------


def _record_side_effect(
    request: HttpRequest, patient: Patient, values: forms.SideEffectValues, today: dt.date
) -> tuple[int | None, dict[str, str]]:
    """Record the parsed side effect: its id, or the errors to show."""
    try:
        require_care_consent(patient)
        ae = actions.record_adverse_event(
            actor=Actor.of(request.user),
            patient=patient,
            term=values.term,
            onset=values.onset_date,
            grade=values.grade_number,
            seriousness=values.serious,
            outcome=values.outcome,
            causality="unassessable",  # a patient reports what happened; causality is the clinician's call
            action_taken=values.action_taken,
            today=today,
            since_enrolment=True,
            self_report=True,
        )
    except InputError as exc:
        return None, dict([forms.patient_message(exc, zone=patient.time_zone)])
    return ae.pk, {}


@login_and_access
@require_http_methods(["GET", "POST"])
def side_effect(request: HttpRequest, code: str | None = None) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, code, purpose="patient_side_effect")
    today = patient.local_today()
    values = forms.SideEffectValues(onset=today.isoformat())
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values, errors = forms.parse_side_effect(request.POST)
        if not errors:
            saved, errors = _record_side_effect(request, patient, values, today)
            if saved is not None:
                return redirect("patient-side-effect-saved", pk=saved)
        status = 400
    return render(
        request,
        "web/patient/side_effect.html",
        {
            "patient": patient,
            "values": values,
            "today": today,
            "severity": [{"grade": str(g), "name": n, "words": w} for g, n, w in SEVERITY],
            "serious": [{"code": c, "words": w, "checked": c in values.serious} for c, w in SERIOUS],
            "outcomes": OUTCOMES,
            "actions": ACTIONS,
            "errors": _errors_out(errors),
            "error_fields": set(errors),
        },
        status=status,
    )


@login_and_access
def side_effect_saved(request: HttpRequest, pk: int) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, None, purpose="patient_side_effect_saved")
    ae = record_queries.adverse_event_of(patient, pk)
    if ae is None:
        raise Http404("not found")
    words = {g: n for g, n, _ in SEVERITY}
    serious = dict(SERIOUS)
    return render(
        request,
        "web/patient/side_effect_saved.html",
        {
            "patient": patient,
            "ae": ae,
            "severity": words.get(ae.grade, f"grade {ae.grade}"),
            "serious": [serious.get(c, c) for c in ae.seriousness],
            "undo_url": correction_views.undo_url("adverse-event", ae, patient, request.user),
            "voided": correction_views.patient_void_note(ae, patient, request.user),
        },
    )
