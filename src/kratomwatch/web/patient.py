"""Patient pages: home, log a dose in two taps, report a side effect.

Server-rendered, no JavaScript, usable on a 375 px wide phone. A patient sees only their own record: every page
resolves the patient through ``kratomwatch.access`` and answers 404 unless the logged-in user *is* that patient
(clinicians use the clinic pages). Writes go through ``records.actions``.

kratomwatch measures, screens, flags and cites. It never recommends a kratom dose: the dose page only offers to
repeat the patient's own last entry, labelled as such.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
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
from kratomwatch.careplans.models import CarePlan, Modality
from kratomwatch.consent import status as consent_status
from kratomwatch.consent.guard import require_care_consent
from kratomwatch.consent.models import Scope
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.core.units import Unit
from kratomwatch.records import actions
from kratomwatch.records.models import (
    ActionTaken,
    AdverseEvent,
    AeOutcome,
    DailyExposure,
    Dose,
    DoseSource,
    Lot,
    Patient,
)
from kratomwatch.web import charts

CHART_DAYS = 28

#: Plain words for the CTCAE grades a patient can report (1-3). Grades 4-5 are for clinicians to assign.
SEVERITY = [
    (1, "Mild", "I notice it, but it does not get in the way of my day."),
    (2, "Moderate", "It limits everyday tasks such as cooking, shopping, work or getting around."),
    (3, "Severe", "It limits looking after myself (washing, dressing, eating), or I needed hospital care."),
]

#: ICH E2A seriousness criteria in plain language (death is not self-reported).
SERIOUS = [
    ("life_threatening", "It could have killed me at the time it happened (life-threatening)."),
    ("hospitalization", "I had to stay in hospital, or my hospital stay was made longer."),
    ("disability", "It left me with a lasting or major problem doing normal activities."),
    ("congenital_anomaly", "I was pregnant and my baby has a birth defect."),
    ("medically_important", "A doctor told me it was medically serious, or I needed treatment to stop it becoming so."),
]

OUTCOMES = [
    (AeOutcome.UNKNOWN.value, "I am not sure"),
    (AeOutcome.RECOVERED.value, "It has gone"),
    (AeOutcome.RECOVERING.value, "It is getting better"),
    (AeOutcome.NOT_RECOVERED.value, "It has not gone"),
]

ACTIONS = [
    (ActionTaken.UNKNOWN.value, "I am not sure / prefer not to say"),
    (ActionTaken.NONE.value, "No change"),
    (ActionTaken.REDUCED.value, "I used less kratom"),
    (ActionTaken.INTERRUPTED.value, "I paused kratom for a while"),
    (ActionTaken.STOPPED.value, "I stopped kratom"),
]

FIELD_LABELS = {
    "lot_id": "Product",
    "amount": "Amount",
    "unit": "Unit",
    "taken_at": "When",
    "idempotency_key": "Form",
    "term": "What happened",
    "onset": "When it started",
    "grade": "How bad",
    "seriousness": "Serious",
    "outcome": "How it is now",
    "action_taken": "Change to kratom use",
}

BASIS_WORDS = {
    "certificate": "from this lot's lab certificate",
    "estimated": "estimated: no lab certificate, so a published reference content is used",
    "unknown": "unknown: the strength of this product is not known, so it is not counted in mg",
}


# --- access ----------------------------------------------------------------------------------


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user, request.META.get("REMOTE_ADDR"))


def _own_patient(request: HttpRequest, code: str | None, purpose: str) -> Patient:
    """The logged-in user's own patient record (audited read), or 404 for anything else."""
    if code is None:
        user: Any = request.user
        own = access.patients_for(user).filter(user=user).values_list("code", flat=True).first()
        if own is None:
            raise Http404("no patient record for this login")
        code = own
    try:
        patient = access.get_patient_for(request.user, code, actor=_actor(request), purpose=f"patient_{purpose}")
    except access.NotFound:
        raise Http404("patient not found") from None
    if patient.user_id is None or patient.user_id != request.user.pk:
        raise Http404("patient not found")
    return patient


def _now_local(patient: Patient) -> dt.datetime:
    return timezone.now().astimezone(exposure.zone(patient.time_zone))


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


def _chart(patient: Patient, today: dt.date, plan: CarePlan | None) -> str:
    start = today - dt.timedelta(days=CHART_DAYS - 1)
    rows = {
        r.day: r for r in DailyExposure.objects.filter(patient=patient, day__gte=start, day__lte=today).order_by("day")
    }
    days = [start + dt.timedelta(days=i) for i in range(CHART_DAYS)]
    series = [
        charts.Series("mitragynine", [(d, rows[d].mitragynine_mg if d in rows else None) for d in days]),
        charts.Series("7-OH", [(d, rows[d].seven_oh_mg if d in rows else None) for d in days], color=charts.PALETTE[1]),
    ]
    if plan is not None:
        steps = list(plan.taper_steps.order_by("start"))
        if steps:
            points: list[tuple[dt.date, float | None]] = []
            for d in days:
                current = [s.target_mg for s in steps if s.start <= d]
                points.append((d, current[-1] if current else None))
            series.append(charts.Series("clinician's plan", points, color=charts.PALETTE[2], step=True, dashed=True))
    return charts.timeline(
        start,
        today,
        [charts.Panel("My daily exposure", "mg per day", series, height=140)],
        width=480,
        title=f"Daily mg of mitragynine and 7-OH over the last {CHART_DAYS} days",
    )


# --- home ------------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest, code: str | None = None) -> HttpResponse:
    patient = _own_patient(request, code, "home")
    now_local = _now_local(patient)
    today = now_local.date()
    doses = [
        _dose_row(d, patient)
        for d in Dose.objects.filter(patient=patient, local_date=today)
        .select_related("lot__product")
        .order_by("taken_at", "id")
    ]
    daily = DailyExposure.objects.filter(patient=patient, day=today).first()
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
    plan = CarePlan.objects.filter(patient=patient).first()
    modality_labels = dict(Modality.choices)
    scope_labels = dict(Scope.choices)
    statuses = consent_status.scope_status(patient)
    scopes = [{"s": s, "label": scope_labels.get(s.scope, s.scope).split(":")[0]} for s in statuses]
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
            "chart": mark_safe(_chart(patient, today, plan)),  # noqa: S308 - built by charts.timeline, escaped there
            "chart_days": CHART_DAYS,
            "plan": plan,
            "plan_modalities": [modality_labels.get(m, m) for m in (plan.modalities if plan else [])],
            "plan_has_taper": bool(plan and plan.taper_steps.exists()),
            "scopes": scopes,
            "needs_reconsent": any(s.needs_reconsent for s in statuses),
        },
    )


# --- log a dose ------------------------------------------------------------------------------


def _new_key() -> str:
    return "web:" + secrets.token_urlsafe(24)


def _catalogue(patient: Patient) -> list[Lot]:
    return list(
        Lot.objects.filter(product__program_id=patient.program_id)
        .select_related("product")
        .order_by("product__vendor", "product__name", "lot_code")
    )


def _parse_dose(
    post: Any, patient: Patient, lots: dict[int, Lot], now_local: dt.datetime
) -> tuple[actions.DoseIn | None, dict[str, str]]:
    errors: dict[str, str] = {}
    key = str(post.get("idempotency_key", "")).strip()
    if not key or len(key) > 128:
        errors["idempotency_key"] = "This form has expired. Please reload the page and try again."
    raw_lot = str(post.get("lot_id", "")).strip()
    lot_id: int | None = None
    try:
        lot_id = int(raw_lot)
    except ValueError:
        errors["lot_id"] = "Choose the product you took."
    else:
        if lot_id not in lots:
            errors["lot_id"] = "Choose a product from the list."
    raw_amount = str(post.get("amount", "")).strip().replace(",", ".")
    amount = 0.0
    try:
        amount = float(raw_amount)
    except ValueError:
        errors["amount"] = "Enter the amount you took as a number, for example 2.5."
    else:
        if not math.isfinite(amount) or amount <= 0:
            errors["amount"] = "The amount must be a number greater than zero."
    unit = str(post.get("unit", "")).strip()
    if unit not in {u.value for u in Unit}:
        errors["unit"] = "Choose a unit from the list."
    taken_at = now_local.replace(microsecond=0)
    raw_when = str(post.get("taken_at", "")).strip()
    if raw_when:
        try:
            naive = dt.datetime.fromisoformat(raw_when)
        except ValueError:
            errors["taken_at"] = "Enter the date and time you took it, or leave it blank for now."
        else:
            if naive.tzinfo is None:
                naive = naive.replace(tzinfo=exposure.zone(patient.time_zone))
            taken_at = naive
    if errors or lot_id is None:
        return None, errors
    return (
        actions.DoseIn(
            patient_code=patient.code,
            lot_id=lot_id,
            taken_at=taken_at,
            amount=amount,
            unit=unit,
            source=DoseSource.SELF_REPORT.value,
            idempotency_key=key,
        ),
        errors,
    )


@login_required
@require_http_methods(["GET", "POST"])
def log_dose(request: HttpRequest, code: str | None = None) -> HttpResponse:
    patient = _own_patient(request, code, "dose")
    catalogue = _catalogue(patient)
    lots = {lot.pk: lot for lot in catalogue}
    last = Dose.objects.filter(patient=patient).select_related("lot__product").order_by("-taken_at", "-id").first()
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        submitted = {k: str(request.POST.get(k, "")) for k in ("lot_id", "amount", "unit", "taken_at", "form")}
        dose_in, errors = _parse_dose(request.POST, patient, lots, _now_local(patient))
        if dose_in is not None:
            key = dose_in.idempotency_key or ""
            existing = Dose.objects.filter(patient=patient, idempotency_key=key).first()
            if existing is not None:  # a repeat tap or double submit: recorded once
                return redirect(_logged_url(existing, repeat=True))
            try:
                require_care_consent(patient)
                dose, _created = actions.record_dose(actor=_actor(request), patient=patient, dose=dose_in)
            except actions.Conflict as exc:
                again = Dose.objects.filter(patient=patient, idempotency_key=key).first()
                if exc.field == "idempotency_key" and again is not None:
                    return redirect(_logged_url(again, repeat=True))
                errors[exc.field] = exc.message
            except InputError as exc:
                errors[exc.field if exc.field in FIELD_LABELS else "form"] = exc.message
            else:
                return redirect(_logged_url(dose, repeat=not _created))
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


def _logged_url(dose: Dose, *, repeat: bool) -> str:
    url = reverse("patient-dose-logged", kwargs={"pk": dose.pk})
    return url + ("?repeat=1" if repeat else "")


@login_required
def dose_logged(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _own_patient(request, None, "dose_logged")
    dose = Dose.objects.filter(pk=pk, patient=patient).select_related("lot__product").first()
    if dose is None:
        raise Http404("dose not found")
    daily = DailyExposure.objects.filter(patient=patient, day=dose.local_date).first()
    return render(
        request,
        "web/patient/dose_logged.html",
        {
            "patient": patient,
            "row": _dose_row(dose, patient),
            "repeat": request.GET.get("repeat") == "1",
            "daily": daily,
            "daily_mitragynine": _mg(daily.mitragynine_mg) if daily else "",
        },
    )


# --- side effects ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def side_effect(request: HttpRequest, code: str | None = None) -> HttpResponse:
    patient = _own_patient(request, code, "side_effect")
    today = _now_local(patient).date()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"term": "", "onset": today.isoformat(), "grade": "", "serious": [], "outcome": "unknown"}
    values["action_taken"] = "unknown"
    status = 200
    if request.method == "POST":
        values = {
            "term": str(request.POST.get("term", "")).strip(),
            "onset": str(request.POST.get("onset", "")).strip(),
            "grade": str(request.POST.get("grade", "")).strip(),
            "serious": request.POST.getlist("seriousness"),
            "outcome": str(request.POST.get("outcome", "unknown")),
            "action_taken": str(request.POST.get("action_taken", "unknown")),
        }
        if not values["term"]:
            errors["term"] = "Describe the side effect in a few words, for example 'nausea'."
        elif len(values["term"]) > 200:
            errors["term"] = "Please keep the description under 200 characters."
        onset: dt.date | None = None
        try:
            onset = dt.date.fromisoformat(values["onset"])
        except ValueError:
            errors["onset"] = "Enter the date it started (year-month-day)."
        if values["grade"] not in {str(g) for g, _, _ in SEVERITY}:
            errors["grade"] = "Choose how bad it is: mild, moderate or severe."
        allowed = {c for c, _ in SERIOUS}
        if any(c not in allowed for c in values["serious"]):
            errors["seriousness"] = "Choose only from the listed statements."
        if values["outcome"] not in {v for v, _ in OUTCOMES}:
            errors["outcome"] = "Choose one of the listed answers."
        if values["action_taken"] not in {v for v, _ in ACTIONS}:
            errors["action_taken"] = "Choose one of the listed answers."
        if not errors and onset is not None:
            try:
                require_care_consent(patient)
                ae = actions.record_adverse_event(
                    actor=_actor(request),
                    patient=patient,
                    term=values["term"],
                    onset=onset,
                    grade=int(values["grade"]),
                    seriousness=values["serious"],
                    outcome=values["outcome"],
                    causality="unassessable",
                    action_taken=values["action_taken"],
                    today=today,
                )
            except InputError as exc:
                errors[exc.field if exc.field in FIELD_LABELS else "form"] = exc.message
            else:
                return redirect("patient-side-effect-saved", pk=ae.pk)
        status = 400
    return render(
        request,
        "web/patient/side_effect.html",
        {
            "patient": patient,
            "values": values,
            "today": today,
            "severity": [{"grade": str(g), "name": n, "words": w} for g, n, w in SEVERITY],
            "serious": [{"code": c, "words": w, "checked": c in values["serious"]} for c, w in SERIOUS],
            "outcomes": OUTCOMES,
            "actions": ACTIONS,
            "errors": _errors_out(errors),
            "error_fields": set(errors),
        },
        status=status,
    )


@login_required
def side_effect_saved(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _own_patient(request, None, "side_effect_saved")
    ae = AdverseEvent.objects.filter(pk=pk, patient=patient).first()
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
        },
    )
