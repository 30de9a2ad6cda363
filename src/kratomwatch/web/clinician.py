"""Clinician pages: dashboard, alert queue, patient page, care-plan form and the printable visit summary.

Reads go through ``kratomwatch.access`` (a user who may not see a patient gets 404); writes go through the
actions modules (``alerts.actions``, ``careplans.actions``, ``assessments.actions``). Only clinicians,
program admins and staff open these pages; a patient or researcher gets 403. The pages measure, screen,
flag and cite: they never propose a kratom dose (a taper target is whatever the clinician entered).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from kratomwatch import access
from kratomwatch.alerts import actions as alert_actions
from kratomwatch.alerts.models import Alert, AlertSeverity, AlertStatus
from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.assessments.models import Assessment
from kratomwatch.assessments.schedules import GRACE_LABEL, ScheduleStatus, statuses_for
from kratomwatch.audit.log import Actor
from kratomwatch.careplans import actions as careplan_actions
from kratomwatch.careplans.models import CarePlan, Modality
from kratomwatch.consent.guard import require_care_consent
from kratomwatch.consent.status import ScopeStatus, scope_status
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.core.screening import UnknownJurisdiction, legal_status, screen_interactions
from kratomwatch.knowledge.loader import evidence_claims, screening_knowledge
from kratomwatch.records.models import AdverseEvent, DailyExposure, LabResult, Medication, Patient
from kratomwatch.web import charts

STANCE = (
    "kratomwatch measures, screens, flags and cites. It never recommends a kratom dose and claims no benefit "
    "beyond the cited evidence. Taper targets shown are the clinician's own entries."
)
LEGAL_NOTE = "A summary of curated rules with their sources, not legal advice."
TAPER_NOTE = (
    "kratomwatch does not propose doses. Taper targets are entered by the clinician; kratomwatch only records "
    "them and charts recorded exposure against them."
)

#: Instruments summarised on the dashboard and charted on the patient page, in display order.
OUTCOME_INSTRUMENTS: tuple[str, ...] = ("peg", "phq9", "gad7", "cows")
#: Top of each chart's y axis: the primary scale's maximum.
SCALE_MAX: dict[str, float] = {"peg": 10.0, "phq9": 27.0, "gad7": 21.0, "cows": 48.0}
#: Clinically important thresholds marked on the charts; each is looked up in the instrument definition
#: (a screening flag rule at that value, else the band that starts there) for its label and source.
CHART_THRESHOLDS: dict[str, tuple[float, ...]] = {"phq9": (10, 20), "gad7": (10, 15), "cows": (13,)}

#: Patient condition -> evidence claim id in knowledge/data/evidence.yaml.
CONDITION_CLAIMS: dict[str, str] = {
    "chronic_pain": "chronic_pain",
    "neuropathic_pain": "neuropathic_pain",
    "adhd": "adhd",
    "opioid_use_disorder": "opioid_withdrawal_oud",
    "depression": "mood_anxiety",
    "anxiety": "mood_anxiety",
}

SEVERITIES: tuple[str, ...] = tuple(AlertSeverity.values)  # urgent, high, moderate, info
DASHBOARD_LIMIT = 200
QUEUE_LIMIT = 200
SPARK_DAYS = 28
TIMELINE_DAYS = 90
TABLE_DAYS = 14
TAPER_ROWS_EXTRA = 3


# --- access ---------------------------------------------------------------------------------------------------


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user, request.META.get("REMOTE_ADDR"))


def is_clinical_user(user: Any) -> bool:
    """Staff, or a clinician / program admin of at least one program."""
    if not user or not user.is_authenticated:
        return False
    return bool(user.is_staff) or access.programs_for(user).exists()


View = Callable[..., HttpResponse]


def clinician_required(view: View) -> View:
    """Login required (anonymous -> login page); then 403 for anyone who is not a care-team user."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_clinical_user(request.user):
            raise PermissionDenied("clinician pages are for care-team users")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _patient(request: HttpRequest, code: str, purpose: str) -> Patient:
    try:
        return access.get_patient_for(request.user, code, actor=_actor(request), purpose=purpose)
    except access.NotFound:
        raise Http404("patient not found") from None


def local_today(patient: Patient, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(exposure.zone(patient.time_zone)).date()


# --- sources ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLink:
    text: str
    url: str | None


def source_link(source: str) -> SourceLink:
    """A citation in the knowledge format (PMID:, PMC, doi:, URL) with a resolvable link where there is one."""
    text = str(source).strip()
    lower = text.lower()
    if lower.startswith(("https://", "http://")):
        return SourceLink(text, text)
    if lower.startswith("pmid:"):
        return SourceLink(text, f"https://pubmed.ncbi.nlm.nih.gov/{text[5:].strip()}/")
    if lower.startswith("doi:"):
        return SourceLink(text, f"https://doi.org/{text[4:].strip()}")
    if lower.startswith("pmc") and text[3:].isdigit():
        return SourceLink(text, f"https://pmc.ncbi.nlm.nih.gov/articles/{text.upper()}/")
    return SourceLink(text, None)


def source_links(sources: Iterable[str]) -> list[SourceLink]:
    return [source_link(s) for s in sources]


def citation_link(c: ins.Citation) -> SourceLink:
    if c.pmid:
        return SourceLink(c.label, f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/")
    if c.doi:
        return SourceLink(c.label, f"https://doi.org/{c.doi}")
    return SourceLink(c.label, c.url)


# --- outcome thresholds and evidence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdInfo:
    instrument_id: str
    value: float
    label: str
    basis: str
    source: SourceLink


def instrument_thresholds(instrument_id: str) -> list[ThresholdInfo]:
    """The marked thresholds of an instrument, each labelled from its definition with the source behind it."""
    definition = ins.get(instrument_id)
    scale = definition.primary_scale
    out: list[ThresholdInfo] = []
    for value in CHART_THRESHOLDS.get(instrument_id, ()):
        flag = next(
            (
                r
                for r in definition.flag_rules
                if r.kind.value == "scale_at_or_above" and r.target_id == scale.id and r.at_or_above == value
            ),
            None,
        )
        if flag is not None:
            out.append(ThresholdInfo(instrument_id, value, flag.label, flag.basis.value, citation_link(flag.citation)))
            continue
        band = next((b for b in scale.bands if b.low == value), None)
        if band is None:
            continue
        out.append(
            ThresholdInfo(
                instrument_id,
                value,
                f"{band.label} band starts at {value:g}",
                band.basis.value,
                citation_link(definition.citations[0]),
            )
        )
    return out


@dataclass(frozen=True)
class EvidenceRow:
    conditions: list[str]
    claim_id: str
    claim: str
    certainty: str
    summary: str
    sources: list[SourceLink]
    as_of: dt.date


def evidence_for(condition_codes: Iterable[str]) -> list[EvidenceRow]:
    claims = {c.id: c for c in evidence_claims()}
    wanted: dict[str, list[str]] = defaultdict(list)
    for code in condition_codes:
        claim_id = CONDITION_CLAIMS.get(code)
        if claim_id and claim_id in claims:
            wanted[claim_id].append(code)
    rows = []
    for claim_id, codes in wanted.items():
        c = claims[claim_id]
        rows.append(
            EvidenceRow(
                codes,
                c.id,
                c.claim,
                c.certainty.replace("_", " "),
                c.summary,
                source_links(c.sources),
                c.as_of,
            )
        )
    return rows


# --- dashboard ---------------------------------------------------------------------------------------------------


@dataclass
class DashboardRow:
    patient: Patient
    counts: dict[str, int]
    open_total: int
    sparkline: SafeString
    last_mg: float | None
    scores: dict[str, Assessment]

    @property
    def score_cells(self) -> list[tuple[str, Assessment | None]]:
        return [(i, self.scores.get(i)) for i in OUTCOME_INSTRUMENTS]


def _open_alerts() -> QuerySet[Alert]:
    return Alert.objects.exclude(status=AlertStatus.RESOLVED)


def ranked_patients(user: Any, limit: int = DASHBOARD_LIMIT) -> list[Patient]:
    """The user's patients ranked in the database: highest open severity, then open count, then most recent."""
    open_for = _open_alerts().filter(patient=OuterRef("pk"))
    top = open_for.order_by("-severity_rank").values("severity_rank")[:1]
    count = open_for.order_by().values("patient").annotate(n=Count("id")).values("n")[:1]
    latest = open_for.order_by("-last_seen_at").values("last_seen_at")[:1]
    qs = (
        access.patients_for(user)
        .select_related("program")
        .annotate(
            top_rank=Coalesce(Subquery(top, output_field=IntegerField()), Value(0)),
            open_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
            latest_alert=Subquery(latest),
        )
        .order_by("-top_rank", "-open_count", F("latest_alert").desc(nulls_last=True), "code")
    )
    return list(qs[:limit])


def alert_counts(patient_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        _open_alerts()
        .filter(patient_id__in=patient_ids)
        .order_by()
        .values("patient_id", "severity")
        .annotate(n=Count("id"))
        .values_list("patient_id", "severity", "n")
    )
    for pid, severity, n in rows:
        counts[pid][severity] = n
    return counts


def daily_mg(patients: Sequence[Patient], days: int, now: dt.datetime | None = None) -> dict[int, list[float]]:
    """``days`` daily mg mitragynine per patient, ending on each patient's local today (one query).

    A day with no recorded dose counts 0 recorded mg (doses of unknown potency are not imputed)."""
    if not patients:
        return {}
    todays = {p.pk: local_today(p, now) for p in patients}
    lo = min(todays.values()) - dt.timedelta(days=days - 1)
    hi = max(todays.values())
    by_day: dict[int, dict[dt.date, float]] = defaultdict(dict)
    rows = DailyExposure.objects.filter(patient_id__in=list(todays), day__gte=lo, day__lte=hi).values_list(
        "patient_id", "day", "mitragynine_mg"
    )
    for pid, day, mg in rows:
        by_day[pid][day] = mg
    out: dict[int, list[float]] = {}
    for pid, today in todays.items():
        start = today - dt.timedelta(days=days - 1)
        out[pid] = [by_day[pid].get(start + dt.timedelta(days=i), 0.0) for i in range(days)]
    return out


def latest_scores(
    patient_ids: Sequence[int], instruments: Sequence[str] = OUTCOME_INSTRUMENTS
) -> dict[int, dict[str, Assessment]]:
    """Latest valid assessment per (patient, instrument), in one query (a correlated subquery)."""
    newest = (
        Assessment.objects.filter(patient=OuterRef("patient"), instrument_id=OuterRef("instrument_id"), valid=True)
        .order_by("-administered_at", "-id")
        .values("id")[:1]
    )
    rows = Assessment.objects.filter(
        patient_id__in=patient_ids, instrument_id__in=list(instruments), valid=True, id=Subquery(newest)
    )
    out: dict[int, dict[str, Assessment]] = defaultdict(dict)
    for a in rows:
        out[a.patient_id][a.instrument_id] = a
    return out


@clinician_required
def dashboard(request: HttpRequest) -> HttpResponse:
    patients = ranked_patients(request.user)
    ids = [p.pk for p in patients]
    counts = alert_counts(ids)
    mg = daily_mg(patients, SPARK_DAYS)
    scores = latest_scores(ids)
    rows = []
    for p in patients:
        values = mg.get(p.pk, [])
        c = counts.get(p.pk, {})
        spark = charts.sparkline(values, label=f"{p.code}: daily mg mitragynine, last {SPARK_DAYS} days")
        rows.append(
            DashboardRow(
                p,
                {s: c.get(s, 0) for s in SEVERITIES},
                sum(c.values()),
                mark_safe(spark),  # noqa: S308 - charts escapes every text it embeds
                values[-1] if values else None,
                scores.get(p.pk, {}),
            )
        )
    access.audit_list(request.user, "clinic_dashboard", actor=_actor(request), count=len(rows))
    return render(
        request,
        "web/clinician/dashboard.html",
        {
            "rows": rows,
            "severities": SEVERITIES,
            "instruments": [(i, ins.get(i).title) for i in OUTCOME_INSTRUMENTS],
            "spark_days": SPARK_DAYS,
            "limit": DASHBOARD_LIMIT,
        },
    )


# --- alert queue --------------------------------------------------------------------------------------------------


@dataclass
class AlertView:
    alert: Alert
    sources: list[SourceLink]
    program_settings: list[str]


def alert_views(alerts: Iterable[Alert]) -> list[AlertView]:
    return [AlertView(a, source_links(a.sources or []), [str(s) for s in a.program_settings or []]) for a in alerts]


def _alerts_for(user: Any) -> QuerySet[Alert]:
    return Alert.objects.filter(patient__in=access.patients_for(user)).select_related("patient", "patient__program")


STATUS_FILTERS = ("active", "open", "acknowledged", "resolved", "all")


def _queue(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    params = request.GET
    severity = params.get("severity", "")
    state = params.get("status", "active")
    rule = params.get("rule", "").strip()
    program = params.get("program", "")
    programs = list(access.programs_for(request.user).order_by("name"))
    qs = _alerts_for(request.user)
    if severity in SEVERITIES:
        qs = qs.filter(severity=severity)
    else:
        severity = ""
    if state == "active":
        qs = qs.exclude(status=AlertStatus.RESOLVED)
    elif state in AlertStatus.values:
        qs = qs.filter(status=state)
    else:
        state = "all"
    if rule:
        qs = qs.filter(rule_id=rule)
    if program.isdigit() and any(p.pk == int(program) for p in programs):
        qs = qs.filter(patient__program_id=int(program))
    else:
        program = ""
    total = qs.count()
    alerts = list(qs.order_by("-severity_rank", "-last_seen_at", "id")[:QUEUE_LIMIT])
    rules = sorted(set(_alerts_for(request.user).order_by().values_list("rule_id", flat=True).distinct()))
    access.audit_list(request.user, "alerts", actor=_actor(request), count=total)
    return render(
        request,
        "web/clinician/alerts.html",
        {
            "alerts": alert_views(alerts),
            "total": total,
            "limit": QUEUE_LIMIT,
            "severities": SEVERITIES,
            "statuses": STATUS_FILTERS,
            "rules": rules,
            "programs": programs,
            "selected": {"severity": severity, "status": state, "rule": rule, "program": program},
            "error": error,
            "next": request.get_full_path(),
        },
        status=status,
    )


@clinician_required
def alert_queue(request: HttpRequest) -> HttpResponse:
    return _queue(request)


def _alert(request: HttpRequest, alert_id: int) -> Alert:
    alert = _alerts_for(request.user).filter(pk=alert_id).first()
    if alert is None:
        raise Http404("alert not found")
    return alert


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("clinic-alerts")


@clinician_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert(request, alert_id)
    try:
        alert_actions.acknowledge(actor=_actor(request), alert=alert)
    except InputError as exc:
        return _queue(request, error=f"Alert {alert.pk}: {exc.message}", status=400)
    return _back(request)


@clinician_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert(request, alert_id)
    try:
        alert_actions.resolve(actor=_actor(request), alert=alert, note=request.POST.get("note", ""))
    except InputError as exc:
        return _queue(request, error=f"Alert {alert.pk}: {exc.message}", status=400)
    return _back(request)


# --- patient page -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingView:
    finding: Any
    sources: list[SourceLink]


@dataclass
class MedicationRow:
    medication: Medication
    status: str
    findings: list[FindingView] = field(default_factory=list)


@dataclass
class PatientData:
    """Everything the patient page and the visit summary show, read once."""

    patient: Patient
    today: dt.date
    start: dt.date
    daily: list[DailyExposure]
    plan: CarePlan | None
    taper: list[tuple[dt.date, float]]
    assessments: dict[str, list[Assessment]]
    latest: dict[str, Assessment]
    thresholds: dict[str, list[ThresholdInfo]]
    adverse_events: list[AdverseEvent]
    labs: list[LabResult]
    medications: list[MedicationRow]
    findings: list[Any]
    unmatched: list[Any]
    legal: Any
    legal_error: str
    evidence: list[EvidenceRow]
    alerts: list[AlertView]
    consent: list[ScopeStatus]
    schedules: list[ScheduleStatus]

    def target_on(self, day: dt.date) -> float | None:
        value = None
        for start, target in self.taper:
            if start <= day:
                value = target
        return value

    def exposure_table(self, days: int = TABLE_DAYS) -> list[dict[str, Any]]:
        by_day = {d.day: d for d in self.daily}
        out = []
        for i in range(days):
            day = self.today - dt.timedelta(days=i)
            row = by_day.get(day)
            out.append(
                {
                    "day": day,
                    "mitragynine_mg": row.mitragynine_mg if row else None,
                    "seven_oh_mg": row.seven_oh_mg if row else None,
                    "doses": row.doses if row else 0,
                    "unknown_doses": row.unknown_doses if row else 0,
                    "estimated_doses": row.estimated_doses if row else 0,
                    "target_mg": self.target_on(day),
                }
            )
        return out


def load_patient_data(patient: Patient, now: dt.datetime | None = None) -> PatientData:
    now = now or timezone.now()
    today = local_today(patient, now)
    start = today - dt.timedelta(days=TIMELINE_DAYS - 1)
    daily = list(DailyExposure.objects.filter(patient=patient, day__gte=start, day__lte=today).order_by("day"))
    plan = CarePlan.objects.filter(patient=patient).select_related("updated_by").first()
    taper = [(s.start, s.target_mg) for s in plan.taper_steps.order_by("start")] if plan else []
    tz = exposure.zone(patient.time_zone)
    window_start = dt.datetime.combine(start, dt.time(), tz)
    assessments: dict[str, list[Assessment]] = defaultdict(list)
    for a in Assessment.objects.filter(
        patient=patient, instrument_id__in=OUTCOME_INSTRUMENTS, valid=True, administered_at__gte=window_start
    ).order_by("administered_at"):
        assessments[a.instrument_id].append(a)
    latest = latest_scores([patient.pk]).get(patient.pk, {})
    meds = [
        m for m in Medication.objects.filter(patient=patient) if m.stop is None or m.stop >= today
    ]  # current medications
    knowledge = screening_knowledge()
    screening = screen_interactions([m.name for m in meds], knowledge)
    by_med: dict[str, list[FindingView]] = defaultdict(list)
    for f in screening.findings:
        by_med[f.medication].append(FindingView(f, source_links(f.sources)))
    status_of = {m.entered: m.status for m in screening.matches}
    med_rows = [MedicationRow(m, status_of.get(m.name, "unmatched"), by_med.get(m.name, [])) for m in meds]
    legal: Any = None
    legal_error = ""
    try:
        legal = legal_status(patient.jurisdiction, today, knowledge)
    except UnknownJurisdiction:
        legal_error = f"No curated record for jurisdiction {patient.jurisdiction}."
    alerts = list(
        _open_alerts().filter(patient=patient).select_related("patient").order_by("-severity_rank", "-last_seen_at")
    )
    return PatientData(
        patient=patient,
        today=today,
        start=start,
        daily=daily,
        plan=plan,
        taper=taper,
        assessments=dict(assessments),
        latest=latest,
        thresholds={i: instrument_thresholds(i) for i in OUTCOME_INSTRUMENTS},
        adverse_events=list(AdverseEvent.objects.filter(patient=patient).order_by("-onset")),
        labs=list(LabResult.objects.filter(patient=patient).order_by("-taken_at")),
        medications=med_rows,
        findings=list(screening.findings),
        unmatched=[m for m in screening.matches if m.status != "matched"],
        legal=legal,
        legal_error=legal_error,
        evidence=evidence_for(patient.condition_codes),
        alerts=alert_views(alerts),
        consent=scope_status(patient),
        schedules=statuses_for(patient, now=now),
    )


def _taper_series(data: PatientData) -> charts.Series | None:
    if not data.taper:
        return None
    points: list[tuple[dt.date, float | None]] = []
    first = data.target_on(data.start)
    if first is not None:
        points.append((data.start, first))
    points += [(s, t) for s, t in data.taper if data.start <= s <= data.today]
    last = data.target_on(data.today)
    if last is not None:
        points.append((data.today, last))
    if not points:
        return None
    return charts.Series("clinician's taper target", points, color=charts.PALETTE[1], step=True, dashed=True)


def timeline_panels(data: PatientData) -> list[charts.Panel]:
    """The panels of the patient's shared time axis: exposure, taper target, outcome scores, events."""
    mit: list[tuple[dt.date, float | None]] = [(d.day, d.mitragynine_mg) for d in data.daily]
    seven: list[tuple[dt.date, float | None]] = [(d.day, d.seven_oh_mg) for d in data.daily]
    exposure_series = [charts.Series("mg mitragynine", mit)]
    taper = _taper_series(data)
    if taper is not None:
        exposure_series.append(taper)
    panels = [
        charts.Panel("Daily mitragynine", "mg/day", series=exposure_series),
        charts.Panel(
            "Daily 7-hydroxymitragynine",
            "mg/day",
            series=[charts.Series("mg 7-OH", seven, color=charts.PALETTE[3])],
            height=80,
        ),
    ]
    for i, instrument_id in enumerate(OUTCOME_INSTRUMENTS):
        rows = data.assessments.get(instrument_id)
        if not rows:
            continue
        definition = ins.get(instrument_id)
        tz = exposure.zone(data.patient.time_zone)
        points: list[tuple[dt.date, float | None]] = [(a.administered_at.astimezone(tz).date(), a.total) for a in rows]
        panels.append(
            charts.Panel(
                definition.title,
                "score",
                series=[
                    charts.Series(instrument_id.upper(), points, color=charts.PALETTE[(i + 2) % len(charts.PALETTE)])
                ],
                thresholds=[
                    charts.Threshold(t.value, f"{t.value:g}: {t.label}") for t in data.thresholds[instrument_id]
                ],
                height=90,
                y_max=SCALE_MAX[instrument_id],
            )
        )
    markers = [
        charts.Marker(ae.onset, f"AE: {ae.term} (grade {ae.grade}{', serious' if ae.serious else ''})")
        for ae in data.adverse_events
    ]
    tz = exposure.zone(data.patient.time_zone)
    for lab in data.labs:
        uln = f", {lab.value / lab.upper_limit_normal:.1f}x ULN" if lab.upper_limit_normal else ""
        markers.append(
            charts.Marker(
                lab.taken_at.astimezone(tz).date(),
                f"Lab: {lab.get_test_display()} {lab.value:g} {lab.unit}{uln}",
                color=charts.PALETTE[2],
            )
        )
    panels.append(charts.Panel("Adverse events and labs", "events", markers=markers, height=30, y_max=1.0))
    return panels


def patient_timeline_svg(data: PatientData) -> str:
    return charts.timeline(
        data.start,
        data.today,
        timeline_panels(data),
        title=f"{data.patient.code}: exposure, taper target, outcome scores and events, last {TIMELINE_DAYS} days",
    )


@clinician_required
def patient_page(request: HttpRequest, code: str) -> HttpResponse:
    patient = _patient(request, code, "clinician_page")
    data = load_patient_data(patient)
    return render(
        request,
        "web/clinician/patient.html",
        {
            "p": patient,
            "d": data,
            "timeline": mark_safe(patient_timeline_svg(data)),  # noqa: S308 - escaped by charts
            "timeline_days": TIMELINE_DAYS,
            "table": data.exposure_table(),
            "stance": STANCE,
            "legal_note": LEGAL_NOTE,
            "legal_sources": source_links(data.legal.sources) if data.legal else [],
            "instrument_titles": {i: ins.get(i).title for i in OUTCOME_INSTRUMENTS},
            "grace_label": GRACE_LABEL,
            "next": request.get_full_path(),
        },
    )


# --- care plan form ----------------------------------------------------------------------------------------------


def _parse_date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(name, value, f"{value!r} is not a date (YYYY-MM-DD)") from None


def parse_taper(post: Any) -> list[tuple[dt.date, float]]:
    """Taper rows ``taper_start_N`` / ``taper_mg_N`` as entered by the clinician; fully blank rows are skipped."""
    indexes = sorted(
        {
            int(k.rsplit("_", 1)[1])
            for k in post
            if k.startswith(("taper_start_", "taper_mg_")) and k.rsplit("_", 1)[1].isdigit()
        }
    )
    steps = []
    for n in indexes:
        start = post.get(f"taper_start_{n}", "").strip()
        mg = post.get(f"taper_mg_{n}", "").strip()
        if not start and not mg:
            continue
        if not start or not mg:
            raise InputError(f"taper.{n}", start or mg, "each taper row needs both a start date and a daily mg target")
        try:
            target = float(mg)
        except ValueError:
            raise InputError(f"taper.{n}.target_mg", mg, f"{mg!r} is not a number of mg") from None
        steps.append((_parse_date(start, f"taper.{n}.start"), target))
    return steps


def _care_plan_context(patient: Patient, *, post: Any = None, error: str = "") -> dict[str, Any]:
    plan = CarePlan.objects.filter(patient=patient).first()
    steps = [(s.start.isoformat(), f"{s.target_mg:g}") for s in plan.taper_steps.order_by("start")] if plan else []
    if post is not None and post.get("form") == "plan":
        indexes = sorted(
            {k.rsplit("_", 1)[1] for k in post if k.startswith("taper_start_")},
            key=lambda s: int(s) if s.isdigit() else 0,
        )
        steps = [(post.get(f"taper_start_{n}", ""), post.get(f"taper_mg_{n}", "")) for n in indexes]
        steps = [s for s in steps if s[0] or s[1]]
        goals = post.get("goals", "")
        notes = post.get("notes", "")
        modalities = set(post.getlist("modalities"))
    else:
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
        "schedules": statuses_for(patient, now=timezone.now()),
        "instruments": [(d.id, d.title) for d in ins.all_definitions()],
        "today": local_today(patient),
        "taper_note": TAPER_NOTE,
        "grace_label": GRACE_LABEL,
        "error": error,
    }


@clinician_required
@require_http_methods(["GET", "POST"])
def care_plan(request: HttpRequest, code: str) -> HttpResponse:
    patient = _patient(request, code, "care_plan" if request.method == "GET" else "care_plan_edit")
    if request.method == "POST":
        actor = _actor(request)
        form = request.POST.get("form", "plan")
        try:
            require_care_consent(patient)
            if form == "schedule":
                every = request.POST.get("every_days", "").strip()
                if not every.isdigit():
                    raise InputError("every_days", every, "every_days must be a whole number of days")
                assessment_actions.set_schedule(
                    actor=actor,
                    patient=patient,
                    instrument_id=request.POST.get("instrument_id", ""),
                    every_days=int(every),
                    start=_parse_date(request.POST.get("start", ""), "start"),
                )
            elif form == "deactivate":
                assessment_actions.deactivate_schedule(
                    actor=actor, patient=patient, instrument_id=request.POST.get("instrument_id", "")
                )
            else:
                careplan_actions.save_care_plan(
                    actor=actor,
                    patient=patient,
                    goals=request.POST.get("goals", ""),
                    modalities=request.POST.getlist("modalities"),
                    notes=request.POST.get("notes", ""),
                    taper=parse_taper(request.POST),
                    user=request.user,
                )
        except InputError as exc:
            context = _care_plan_context(patient, post=request.POST, error=f"{exc.field}: {exc.message}")
            return render(request, "web/clinician/care_plan.html", context, status=400)
        return redirect(reverse("clinic-care-plan", args=[patient.code]))
    return render(request, "web/clinician/care_plan.html", _care_plan_context(patient))


# --- visit summary PDF -------------------------------------------------------------------------------------------


@clinician_required
def visit_summary_pdf(request: HttpRequest, code: str) -> HttpResponse:
    from kratomwatch.web.visit_pdf import render_visit_summary

    patient = _patient(request, code, "visit_summary")
    data = load_patient_data(patient)
    pdf = render_visit_summary(data, timeline_svg=patient_timeline_svg(data), stance=STANCE, legal_note=LEGAL_NOTE)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="visit-summary-{patient.code}-{data.today.isoformat()}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


__all__ = [
    "alert_acknowledge",
    "alert_queue",
    "alert_resolve",
    "care_plan",
    "dashboard",
    "patient_page",
    "visit_summary_pdf",
]
