"""Page data for the clinician pages and the printable visit summary: what each page shows, read once.

Contract:
- the patient passed in was already fetched through ``kratomwatch.access`` (audited); everything anchored to it
  is read through the selectors in ``records/queries.py``, ``assessments/queries.py`` and
  ``careplans/queries.py``; alerts come from ``access.alerts_for(user)`` filtered by ``alerts.queries``;
- nothing here checks permissions or writes; the views in ``web/clinician.py`` do the access and the rendering,
  and ``web/visit_pdf.py`` prints the same :class:`PatientData` the patient page shows;
- "today" is the patient's local calendar day (``Patient.local_today``), as in ``core.exposure``;
- the pages measure, screen, flag and cite; they never propose a kratom dose (a taper target is whatever the
  clinician entered).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from kratomwatch import access
from kratomwatch.accounts import program_settings
from kratomwatch.alerts import queries as alert_queries
from kratomwatch.alerts.models import Alert, AlertSeverity
from kratomwatch.assessments import queries as assessment_queries
from kratomwatch.assessments.models import Assessment
from kratomwatch.assessments.schedules import ScheduleStatus, statuses_for
from kratomwatch.careplans import queries as careplan_queries
from kratomwatch.careplans.models import CarePlan
from kratomwatch.consent.status import ScopeStatus, scope_status
from kratomwatch.core import axes, exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.screening import (
    InteractionFinding,
    LegalStatusResult,
    MedicationMatch,
    UnknownJurisdiction,
    legal_status,
    screen_interactions,
)
from kratomwatch.knowledge.loader import evidence_claims, screening_knowledge
from kratomwatch.knowledge.present import LEGAL_DISCLAIMER
from kratomwatch.records import queries as record_queries
from kratomwatch.records.models import AdverseEvent, DailyExposure, LabResult, Medication, Patient
from kratomwatch.web import charts

STANCE = (
    "kratomwatch measures, screens, flags and cites. It never recommends a kratom dose and claims no benefit "
    "beyond the cited evidence. Taper targets shown are the clinician's own entries."
)
LEGAL_NOTE = LEGAL_DISCLAIMER  # one wording for the pages, the API and the CLI
TAPER_NOTE = (
    "kratomwatch does not propose doses. Taper targets are entered by the clinician; kratomwatch only records "
    "them and charts recorded exposure against them."
)

#: Instruments summarised on the dashboard and charted on the patient page, in display order.
OUTCOME_INSTRUMENTS: tuple[str, ...] = ("peg", "phq9", "gad7", "cows")
#: The bands whose lower edge is marked on each outcome chart, by band id in the instrument definition. The
#: values come from the definition, never copied here: PHQ-9 moderate (also the screen-positive cut-off) and
#: severe, GAD-7 moderate and severe, COWS moderate withdrawal.
CHART_BANDS: dict[str, tuple[str, ...]] = {
    "phq9": ("moderate", "severe"),
    "gad7": ("moderate", "severe"),
    "cows": ("moderate",),
}


def _band_low(instrument_id: str, band_id: str) -> float:
    scale = ins.get(instrument_id).primary_scale
    band = next((b for b in scale.bands if b.id == band_id), None)
    if band is None:  # a renamed band must fail loudly at import, not drop a threshold from the chart
        raise LookupError(f"{instrument_id}: no band {band_id!r} on scale {scale.id}")
    return float(band.low)


def _scale_max(instrument_id: str) -> float:
    definition = ins.get(instrument_id)
    return definition.score_range(definition.primary_scale_id)[1]


#: Top of each chart's y axis: the primary scale's maximum, from the definition.
SCALE_MAX: dict[str, float] = {i: _scale_max(i) for i in OUTCOME_INSTRUMENTS}
#: Clinically important thresholds marked on the charts; each is labelled from the definition (a screening
#: flag rule at that value, else the band that starts there) with its source.
CHART_THRESHOLDS: dict[str, tuple[float, ...]] = {
    i: tuple(_band_low(i, b) for b in bands) for i, bands in CHART_BANDS.items()
}

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
SPARK_DAYS = 28
TIMELINE_DAYS = 90
TABLE_DAYS = 14


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


BASIS_LABELS = {"author_defined": "author-defined"}


def basis_label(basis: str) -> str:
    """A threshold basis in words: "author-defined", "validated", "consensus", "conventional"."""
    return BASIS_LABELS.get(basis, basis.replace("_", " "))


def score_text(value: float | None) -> str:
    """A score as its instrument publishes it: whole-number totals as integers, a mean (PEG) to one decimal."""
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


@dataclass(frozen=True)
class ThresholdInfo:
    instrument_id: str
    value: float
    label: str
    basis: str
    source: SourceLink

    @property
    def basis_label(self) -> str:
        return basis_label(self.basis)


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


# --- alerts -------------------------------------------------------------------------------------------------------


@dataclass
class AlertView:
    alert: Alert
    sources: list[SourceLink]
    program_settings: list[str]


def alert_views(alerts: Iterable[Alert]) -> list[AlertView]:
    return [AlertView(a, source_links(a.sources or []), [str(s) for s in a.program_settings or []]) for a in alerts]


def open_alerts(user: Any) -> QuerySet[Alert]:
    """The user's unresolved alerts (open or acknowledged), in queue order."""
    return alert_queries.apply(access.alerts_for(user), alert_queries.AlertFilter(status="active"))


# --- dashboard ---------------------------------------------------------------------------------------------------


@dataclass
class DashboardRow:
    patient: Patient
    counts: dict[str, int]
    open_total: int
    sparkline: SafeString
    last_mg: float | None
    scores: dict[str, Assessment]
    mean_mg: float = 0.0
    """Mean mg mitragynine per day over the last 7 complete days (days without a record count 0)."""
    mean_range: tuple[float, float] | None = None
    """Low and high of that mean when estimated doses with a range (uncalibrated teaspoon) are in the window."""
    today_range: tuple[float, float] | None = None
    seven_oh_mean: float = 0.0
    """Mean mg 7-OH per day over the last 7 complete days."""
    seven_oh_share: float | None = None
    """7-OH as a percent of recorded mitragynine + 7-OH over those days (None when nothing was recorded)."""
    seven_oh_cap: float = 0.0
    """The program's 7-OH share cap in percent (program setting)."""

    @property
    def over_cap(self) -> bool:
        return self.seven_oh_share is not None and self.seven_oh_share > self.seven_oh_cap

    @property
    def score_cells(self) -> list[tuple[str, Assessment | None, dt.date | None]]:
        """(instrument, latest valid score, the day it was taken in the patient's zone) per outcome column."""
        tz = exposure.zone(self.patient.time_zone)
        out: list[tuple[str, Assessment | None, dt.date | None]] = []
        for i in OUTCOME_INSTRUMENTS:
            a = self.scores.get(i)
            out.append((i, a, a.administered_at.astimezone(tz).date() if a else None))
        return out


def ranked_patients(user: Any, limit: int = DASHBOARD_LIMIT, find: str = "") -> list[Patient]:
    """The user's patients ranked in the database: highest open severity, then open count, then most recent
    (only codes containing ``find``, ignoring case, when it is given)."""
    open_for = open_alerts(user).filter(patient=OuterRef("pk"))
    top = open_for.order_by("-severity_rank").values("severity_rank")[:1]
    count = open_for.order_by().values("patient").annotate(n=Count("id")).values("n")[:1]
    latest = open_for.order_by("-last_seen_at").values("last_seen_at")[:1]
    qs = (
        access.care_patients_for(user)
        .filter(code__icontains=find)
        .select_related("program")
        .annotate(
            top_rank=Coalesce(Subquery(top, output_field=IntegerField()), Value(0)),
            open_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
            latest_alert=Subquery(latest),
        )
        .order_by("-top_rank", "-open_count", F("latest_alert").desc(nulls_last=True), "code")
    )
    return list(qs[:limit])


def alert_counts(user: Any, patient_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Open alerts per patient and severity, in one query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        open_alerts(user)
        .filter(patient_id__in=list(patient_ids))
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
    todays = {p.pk: p.local_today(now) for p in patients}
    lo = min(todays.values()) - dt.timedelta(days=days - 1)
    hi = max(todays.values())
    by_day: dict[int, dict[dt.date, float]] = defaultdict(dict)
    for pid, day, mg in record_queries.daily_mg_rows(list(todays), lo, hi):
        by_day[pid][day] = mg
    out: dict[int, list[float]] = {}
    for pid, today in todays.items():
        start = today - dt.timedelta(days=days - 1)
        out[pid] = [by_day[pid].get(start + dt.timedelta(days=i), 0.0) for i in range(days)]
    return out


def daily_exposure(
    patients: Sequence[Patient], days: int, now: dt.datetime | None = None
) -> tuple[dict[int, list[float]], dict[int, list[float]], dict[int, list[tuple[float, float] | None]]]:
    """``days`` daily mg mitragynine and mg 7-OH per patient ending on each patient's local today (one query), and
    the low-high range of the days with ranged estimates (one query; None for a day without one).

    A day with no recorded dose counts 0 recorded mg (doses of unknown potency are not imputed)."""
    if not patients:
        return {}, {}, {}
    todays = {p.pk: p.local_today(now) for p in patients}
    lo = min(todays.values()) - dt.timedelta(days=days - 1)
    hi = max(todays.values())
    by_day: dict[int, dict[dt.date, tuple[float, float]]] = defaultdict(dict)
    for pid, day, mit, seven in record_queries.daily_exposure_values(list(todays), lo, hi):
        by_day[pid][day] = (mit, seven)
    ranged: dict[int, dict[dt.date, tuple[float, float]]] = defaultdict(dict)
    for pid, day, low, high in record_queries.daily_estimate_ranges(list(todays), lo, hi):
        ranged[pid][day] = (low, high)
    mg: dict[int, list[float]] = {}
    seven_oh: dict[int, list[float]] = {}
    ranges: dict[int, list[tuple[float, float] | None]] = {}
    for pid, today in todays.items():
        span = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
        mg[pid] = [by_day[pid].get(d, (0.0, 0.0))[0] for d in span]
        seven_oh[pid] = [by_day[pid].get(d, (0.0, 0.0))[1] for d in span]
        if ranged.get(pid):
            ranges[pid] = [ranged[pid].get(d) for d in span]
    return mg, seven_oh, ranges


def latest_scores(patient_ids: Sequence[int]) -> dict[int, dict[str, Assessment]]:
    """Latest valid outcome score per (patient, instrument) for the dashboard columns."""
    return assessment_queries.latest_valid_scores(patient_ids, OUTCOME_INSTRUMENTS)


MEAN_DAYS = 7
_T = TypeVar("_T")


@dataclass
class Dashboard:
    rows: list[DashboardRow]
    scale_max: float
    """The one top of every sparkline's scale (mg mitragynine per day), shared by all rows."""
    programs: list[str]
    """The programs of the patients shown (the page names it once, or in a column when there are several)."""


def _window(values: Sequence[_T]) -> list[_T]:
    """The last ``MEAN_DAYS`` complete days of a series that ends on today (today left out)."""
    return list(values[-MEAN_DAYS - 1 : -1])


def dashboard(user: Any, now: dt.datetime | None = None, find: str = "") -> Dashboard:
    """One row per patient of the user, most urgent first, in a fixed number of queries.

    Every sparkline is drawn on one scale shared by the rows (zero to the highest complete day shown), today is a
    day in progress (a hollow point, never a drop to zero), and the numbers are printed beside it."""
    patients = ranked_patients(user, find=find)
    ids = [p.pk for p in patients]
    counts = alert_counts(user, ids)
    mg, seven, ranges = daily_exposure(patients, SPARK_DAYS, now)
    scores = latest_scores(ids)
    caps = program_settings.for_programs({p.program_id for p in patients})
    complete = [v for values in mg.values() for v in values[:-1]]
    scale_max = axes.nice_max(max(complete, default=0.0)) if any(complete) else 1.0
    rows = []
    for p in patients:
        values = mg.get(p.pk, [])
        c = counts.get(p.pk, {})
        mean = sum(_window(values)) / MEAN_DAYS if values else 0.0
        seven_mean = sum(_window(seven.get(p.pk, []))) / MEAN_DAYS if values else 0.0
        total = mean + seven_mean
        low_high = ranges.get(p.pk, [])
        window_ranges = _window(low_high) if low_high else []
        mean_range = None
        if any(r is not None for r in window_ranges):
            lows = [r[0] if r is not None else v for r, v in zip(window_ranges, _window(values), strict=True)]
            highs = [r[1] if r is not None else v for r, v in zip(window_ranges, _window(values), strict=True)]
            mean_range = (sum(lows) / MEAN_DAYS, sum(highs) / MEAN_DAYS)
        today_range = low_high[-1] if low_high else None
        label = (
            f"{p.code}: mg mitragynine per day, last {SPARK_DAYS} days on a shared scale 0 to {scale_max:g}; "
            f"{MEAN_DAYS}-day mean {mean:.1f} mg/day; today so far {values[-1] if values else 0:.1f} mg"
        )
        spark = charts.sparkline(values, y_max=scale_max, label=label)
        rows.append(
            DashboardRow(
                p,
                {s: c.get(s, 0) for s in SEVERITIES},
                sum(c.values()),
                mark_safe(spark),  # noqa: S308 - charts escapes every text it embeds
                values[-1] if values else None,
                scores.get(p.pk, {}),
                mean_mg=mean,
                mean_range=mean_range,
                today_range=today_range,
                seven_oh_mean=seven_mean,
                seven_oh_share=100 * seven_mean / total if total > 0 else None,
                seven_oh_cap=caps[p.program_id].seven_oh_cap_percent,
            )
        )
    programs = sorted({p.program.name for p in patients})
    return Dashboard(rows, scale_max, programs)


def dashboard_rows(user: Any, now: dt.datetime | None = None) -> list[DashboardRow]:
    """The dashboard's rows (see :func:`dashboard`)."""
    return dashboard(user, now).rows


# --- one patient: the patient page and the visit summary ----------------------------------------------------------


@dataclass(frozen=True)
class FindingView:
    finding: InteractionFinding
    sources: list[SourceLink]


@dataclass
class MedicationRow:
    medication: Medication
    status: str
    findings: list[FindingView] = field(default_factory=list)
    positives: list[FindingView] = field(default_factory=list)
    """A rescue medication on file (naloxone, nalmefene): shown as a positive, never as an interaction."""


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
    findings: list[InteractionFinding]
    unmatched: list[MedicationMatch]
    legal: LegalStatusResult | None
    legal_error: str
    evidence: list[EvidenceRow]
    alerts: list[AlertView]
    consent: list[ScopeStatus]
    schedules: list[ScheduleStatus]
    estimate_ranges: dict[dt.date, tuple[float, float]] = field(default_factory=dict)
    """Low and high mg mitragynine of the days that count estimated doses with a range (uncalibrated teaspoon)."""

    def target_on(self, day: dt.date) -> float | None:
        """The clinician's taper target in force on ``day`` (None before the first step or without a taper)."""
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
                    "estimate_range": self.estimate_ranges.get(day),
                    "target_mg": self.target_on(day),
                }
            )
        return out


def _medication_rows(
    meds: list[Medication],
) -> tuple[list[MedicationRow], list[InteractionFinding], list[MedicationMatch]]:
    """Screen the current medications against the curated interaction knowledge."""
    screening = screen_interactions([m.name for m in meds], screening_knowledge())
    by_med: dict[str, list[FindingView]] = defaultdict(list)
    for f in screening.findings:
        by_med[f.medication].append(FindingView(f, source_links(f.sources)))
    positives: dict[str, list[FindingView]] = defaultdict(list)
    for f in screening.positives:
        positives[f.medication].append(FindingView(f, source_links(f.sources)))
    status_of = {m.entered: m.status for m in screening.matches}
    rows = [
        MedicationRow(m, status_of.get(m.name, "unmatched"), by_med.get(m.name, []), positives.get(m.name, []))
        for m in meds
    ]
    unmatched = [m for m in screening.matches if m.status != "matched"]
    return rows, list(screening.findings), unmatched


def _legal(patient: Patient, today: dt.date) -> tuple[LegalStatusResult | None, str]:
    try:
        return legal_status(patient.jurisdiction, today, screening_knowledge()), ""
    except UnknownJurisdiction:
        return None, f"No curated record for jurisdiction {patient.jurisdiction}."


def load_patient_data(patient: Patient, *, user: Any, now: dt.datetime | None = None) -> PatientData:
    """Read everything the patient page and the visit summary show for ``patient`` (already fetched, and
    audited, through ``kratomwatch.access`` for ``user``)."""
    now = now or timezone.now()
    today = patient.local_today(now)
    start = today - dt.timedelta(days=TIMELINE_DAYS - 1)
    plan = careplan_queries.care_plan(patient)
    window_start = dt.datetime.combine(start, dt.time(), exposure.zone(patient.time_zone))
    medications, findings, unmatched = _medication_rows(record_queries.medications(patient, current_on=today))
    legal, legal_error = _legal(patient, today)
    alerts = alert_queries.apply(access.alerts_for(user), alert_queries.AlertFilter(patient_id=patient.pk))
    assessments = assessment_queries.valid_since(patient, OUTCOME_INSTRUMENTS, window_start)
    return PatientData(
        patient=patient,
        today=today,
        start=start,
        daily=list(record_queries.daily_rows(patient, start, today)),
        plan=plan,
        taper=[(s.start, s.target_mg) for s in careplan_queries.taper_steps(plan)],
        assessments=assessments,
        latest=latest_scores([patient.pk]).get(patient.pk, {}),
        thresholds={i: instrument_thresholds(i) for i in OUTCOME_INSTRUMENTS if assessments.get(i)},
        adverse_events=record_queries.adverse_events(patient),
        labs=record_queries.labs(patient),
        medications=medications,
        findings=findings,
        unmatched=unmatched,
        legal=legal,
        legal_error=legal_error,
        evidence=evidence_for(patient.condition_codes),
        alerts=alert_views(alerts),
        consent=scope_status(patient),
        schedules=statuses_for(patient, now=now),
        estimate_ranges={
            day: (low, high)
            for _, day, low, high in record_queries.daily_estimate_ranges(
                [patient.pk], today - dt.timedelta(days=TABLE_DAYS - 1), today
            )
        },
    )


# --- the patient timeline -----------------------------------------------------------------------------------------


#: How far past today the patient timeline reaches to show planned taper steps (at most).
PLAN_AHEAD_DAYS = 90


def timeline_end(today: dt.date, taper: Sequence[tuple[dt.date, float]]) -> dt.date:
    """The last day of a timeline: today, or a week past the last planned taper step (at most
    ``PLAN_AHEAD_DAYS`` ahead) so that future steps are drawn."""
    future = [s for s, _ in taper if s > today]
    if not future:
        return today
    return min(max(future) + dt.timedelta(days=7), today + dt.timedelta(days=PLAN_AHEAD_DAYS))


def taper_series(
    taper: Sequence[tuple[dt.date, float]], start: dt.date, end: dt.date, *, name: str = "clinician's taper target"
) -> charts.Series | None:
    """The clinician's taper target as a step line from ``start`` to ``end`` (past and planned steps alike)."""
    if not taper:
        return None
    points: list[tuple[dt.date, float | None]] = []
    before = [t for s, t in taper if s <= start]
    if before:
        points.append((start, before[-1]))
    points += [(s, t) for s, t in taper if start < s <= end]
    held = [t for s, t in taper if s <= end]
    if held and points and points[-1][0] < end:
        points.append((end, held[-1]))
    if not points:
        return None
    return charts.Series(name, points, color=charts.PLAN_COLOR, step=True, dashed=True)


def _daily_points(
    daily: Iterable[DailyExposure], start: dt.date, today: dt.date
) -> tuple[list[tuple[dt.date, float | None]], list[tuple[dt.date, float | None]]]:
    """Daily mg mitragynine and mg 7-OH from ``start`` to today; a day without a record is a gap (None)."""
    rows = {d.day: d for d in daily}
    days = [start + dt.timedelta(days=i) for i in range((today - start).days + 1)]
    mit: list[tuple[dt.date, float | None]] = [(d, rows[d].mitragynine_mg if d in rows else None) for d in days]
    seven: list[tuple[dt.date, float | None]] = [(d, rows[d].seven_oh_mg if d in rows else None) for d in days]
    return mit, seven


def exposure_panels(
    daily: Iterable[DailyExposure],
    start: dt.date,
    today: dt.date,
    taper: Sequence[tuple[dt.date, float]],
    end: dt.date,
    *,
    titles: tuple[str, str] = ("Daily mitragynine", "Daily 7-hydroxymitragynine (7-OH)"),
    heights: tuple[int, int] = (120, 80),
    plan_name: str = "clinician's taper target",
) -> list[charts.Panel]:
    """Mitragynine (with the clinician's taper target) and 7-OH, each on its own zero-based axis; today is a day
    in progress; planned taper steps reach ``end``. Shared by the clinician's patient page and the patient's page."""
    mit, seven = _daily_points(daily, start, today)
    series = [charts.Series("mg mitragynine", mit, partial_day=today)]
    plan = taper_series(taper, start, end, name=plan_name)
    if plan is not None:
        series.append(plan)
    return [
        charts.Panel(titles[0], "mg/day", series=series, height=heights[0]),
        charts.Panel(
            titles[1],
            "mg/day",
            series=[charts.Series("mg 7-OH", seven, color=charts.SEVEN_OH_COLOR, partial_day=today)],
            height=heights[1],
        ),
    ]


def _score_panel(data: PatientData, instrument_id: str, rows: list[Assessment], color: str) -> charts.Panel:
    definition = ins.get(instrument_id)
    tz = exposure.zone(data.patient.time_zone)
    points: list[tuple[dt.date, float | None]] = [(a.administered_at.astimezone(tz).date(), a.total) for a in rows]
    return charts.Panel(
        definition.title,
        "score",
        series=[charts.Series(instrument_id.upper(), points, color=color)],
        thresholds=[charts.Threshold(t.value, f"{t.value:g}: {t.label}") for t in data.thresholds[instrument_id]],
        height=90,
        y_max=SCALE_MAX[instrument_id],
    )


def _event_markers(data: PatientData) -> list[charts.Marker]:
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
    return markers


def timeline_panels(data: PatientData) -> list[charts.Panel]:
    """The panels of the patient's shared time axis: exposure, taper target, 7-OH, outcome scores, events."""
    end = timeline_end(data.today, data.taper)
    panels = exposure_panels(data.daily, data.start, data.today, data.taper, end)
    for i, instrument_id in enumerate(OUTCOME_INSTRUMENTS):
        rows = data.assessments.get(instrument_id)
        if rows:
            color = charts.PALETTE[(i + 2) % len(charts.PALETTE)]
            panels.append(_score_panel(data, instrument_id, rows, color))
    panels.append(charts.Panel("Adverse events and labs", "", markers=_event_markers(data), height=30, show_axis=False))
    return panels


def _timeline_title(data: PatientData) -> str:
    return f"{data.patient.code}: exposure, taper target, outcome scores and events, last {TIMELINE_DAYS} days"


def patient_timeline_svg(data: PatientData) -> str:
    return charts.timeline(
        data.start,
        timeline_end(data.today, data.taper),
        timeline_panels(data),
        title=_timeline_title(data),
        today=data.today,
    )


def patient_timeline_table(data: PatientData) -> str:
    """The timeline's numbers as a table in ``<details>`` (its text alternative)."""
    return charts.data_table(
        timeline_panels(data),
        data.start,
        timeline_end(data.today, data.taper),
        caption=f"{data.patient.code}: daily exposure, the clinician's taper target and scores, newest first",
    )
