"""Build :class:`PatientSnapshot` values for many patients at once, set-based.

One query per data family for a whole batch of patients (never one per patient):

1. daily exposure: conditional sums over ``DailyExposure`` for the 7-day window and the 28-day baseline
   (``core.exposure`` windows: ``as_of-6 .. as_of`` and ``as_of-34 .. as_of-7``): mg, and the first-dose
   minutes with their day count;
2. doses grouped by (patient, lot) over the same 35 days: counts, first and last instant of each window
   (with family 1, the :class:`core.exposure.WindowSums` of ``trend_from_window_sums``), the highest 7-OH share and
   whether any dose was enhanced, in the 7-day window; lots (with product and certificate) are read once;
3. latest two administrations per (patient, instrument) and the first valid one (window functions,
   ``ROW_NUMBER() OVER (PARTITION BY ...)``, on SQLite and PostgreSQL alike);
4. latest ALT, AST, total bilirubin and QTc per patient, and the first QTc (baseline), by window function;
5. adverse events with onset in the last ``AE_WINDOW_DAYS`` days;
6. active medications; each distinct medication text is screened once (cached for the whole sweep);
7. schedules with the latest valid assessment per (patient, instrument).

Legal status is computed once per (jurisdiction, as_of) and product legality once per distinct
(jurisdiction, product, 7-OH share, form). Then the pure rules run per patient in Python.

Dates: with ``as_of`` omitted each patient is judged on today in their own time zone, and every stored record
counts (no record can be in the future). With an explicit ``as_of`` records up to the end of that day (UTC)
count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Max, Min, Q, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from kratomwatch.assessments.models import Assessment as StoredAssessment
from kratomwatch.assessments.models import Schedule
from kratomwatch.assessments.schedules import compute_status
from kratomwatch.core import exposure
from kratomwatch.core.rules import (
    AdverseEvent,
    Assessment,
    DoseSummary,
    Labs,
    LabValue,
    OverdueSchedule,
    PainTrajectory,
    PatientSnapshot,
    ProductLegal,
    RecalledLot,
    SevenOhShare,
)
from kratomwatch.core.screening import (
    UnknownJurisdiction,
    evaluate_product,
    legal_status,
    screen_interactions,
)
from kratomwatch.core.screening.types import (
    SEVERITY_ORDER,
    LegalStatusResult,
    ProductEvaluation,
    ScreeningKnowledge,
    ScreeningResult,
)
from kratomwatch.knowledge.loader import screening_knowledge
from kratomwatch.records.models import AdverseEvent as StoredAdverseEvent
from kratomwatch.records.models import DailyExposure, Dose, LabResult, Lot, Medication, Patient
from kratomwatch.records.potency import lot_potency

AE_WINDOW_DAYS = 90
"""Adverse events with onset in the last 90 days are judged (a sweep choice, documented in docs/alerts.md)."""
PAIN_INSTRUMENTS = ("peg", "pain_nrs")
HISTORY_FLAGS = ("liver_disease", "seizure_disorder", "cardiac_qt", "respiratory_disease")


@dataclass
class KnowledgeCache:
    """Per-sweep memo of the knowledge-derived evaluations (screening, legal status, product legality)."""

    knowledge: ScreeningKnowledge = field(default_factory=screening_knowledge)
    medications: dict[str, ScreeningResult] = field(default_factory=dict)
    legal: dict[tuple[str, dt.date], LegalStatusResult | None] = field(default_factory=dict)
    products: dict[tuple[str, dt.date, float | None, bool], ProductEvaluation | None] = field(default_factory=dict)

    def screen(self, names: Sequence[str]) -> ScreeningResult | None:
        """Screen each distinct text once; merge into one result (most severe first, then entry order)."""
        if not names:
            return None
        merged: list[tuple[int, int, Any]] = []
        matches: list[Any] = []
        unresolved: list[Any] = []
        for position, name in enumerate(names):
            result = self.medications.get(name)
            if result is None:
                result = self.medications[name] = screen_interactions([name], self.knowledge)
            merged.extend((-SEVERITY_ORDER[f.severity], position, f) for f in result.findings)
            matches.extend(result.matches)
            unresolved.extend(result.unresolved)
        merged.sort(key=lambda item: (item[0], item[1], item[2].class_id, item[2].ingredient_id))
        return ScreeningResult(tuple(f for _, _, f in merged), tuple(matches), tuple(unresolved))

    def legal_status(self, code: str, on: dt.date) -> LegalStatusResult | None:
        key = (code, on)
        if key not in self.legal:
            try:
                self.legal[key] = legal_status(code, on, self.knowledge)
            except UnknownJurisdiction:
                self.legal[key] = None
        return self.legal[key]

    def product(self, code: str, on: dt.date, share: float | None, seven_oh_form: bool) -> ProductEvaluation | None:
        key = (code, on, share, seven_oh_form)
        if key not in self.products:
            try:
                self.products[key] = evaluate_product(
                    code, on, self.knowledge, seven_oh_share_percent=share, is_seven_oh_product=seven_oh_form
                )
            except UnknownJurisdiction:
                self.products[key] = None
        return self.products[key]


@dataclass(frozen=True)
class _LotInfo:
    lot_code: str
    product: str
    form: str
    has_certificate: bool
    certificate: str
    share: float | None
    recalled: bool


def _lot_info(lot: Lot) -> _LotInfo:
    cert = lot_potency(lot).certificate
    label = " ".join(p for p in (lot.cert_lab_name, lot.cert_test_date.isoformat() if lot.cert_test_date else "") if p)
    return _LotInfo(
        lot_code=lot.lot_code,
        product=f"{lot.product.vendor} {lot.product.name}",
        form=lot.product.form,
        has_certificate=cert is not None,
        certificate=label or f"lot {lot.lot_code} certificate",
        share=None if cert is None else cert.seven_oh_share_percent,
        recalled=lot.recalled,
    )


def patients_q(ids: Sequence[int]) -> Q:
    """A filter on ``patient_id`` that covers ``ids``: a range when the ids are dense (a sweep batch is a run of
    consecutive primary keys), else ``IN (...)``.

    The range may also match patients outside ``ids``; every caller keys its rows by patient id and reads only
    the ids it asked for. A range keeps the statements short: an ``IN`` list of 2,000 ids costs more to build,
    send and plan than the rows it selects, per query family and batch.
    """
    lo, hi = min(ids), max(ids)
    if hi - lo < 2 * len(ids):
        return Q(patient_id__gte=lo, patient_id__lte=hi)
    return Q(patient_id__in=list(ids))


def local_today(patient: Patient, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(exposure.zone(patient.time_zone)).date()


def build_snapshots(
    patients: Sequence[Patient],
    *,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
    cache: KnowledgeCache | None = None,
) -> dict[int, PatientSnapshot]:
    """Snapshots keyed by patient id. Patients sharing an as_of date are read together, one query per family."""
    cache = cache or KnowledgeCache()
    now = now or timezone.now()
    groups: dict[dt.date, list[Patient]] = defaultdict(list)
    for patient in patients:
        groups[as_of or local_today(patient, now)].append(patient)
    cutoff = None if as_of is None else dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), dt.UTC)
    out: dict[int, PatientSnapshot] = {}
    for day, group in groups.items():
        out.update(_build(group, day, cutoff, cache))
    return out


def _build(
    patients: Sequence[Patient], as_of: dt.date, cutoff: dt.datetime | None, cache: KnowledgeCache
) -> dict[int, PatientSnapshot]:
    ids = [p.pk for p in patients]
    mine = patients_q(ids)
    # Doses and daily rows are read for a 35-day window: an IN list lets the (patient, day) indexes seek to each
    # patient's window, where a patient range would walk every day of every patient in the range.
    windowed = Q(patient_id__in=ids)
    recent_start, base_start = exposure.window_bounds(as_of)

    # 1. daily exposure: one grouped query with conditional aggregates.
    recent = Q(day__gte=recent_start)
    daily = {
        row["patient_id"]: row
        for row in DailyExposure.objects.filter(windowed, day__gte=base_start, day__lte=as_of)
        .values("patient_id")
        .annotate(
            mg_recent=Sum("mitragynine_mg", filter=recent),
            mg_base=Sum("mitragynine_mg", filter=~recent),
            first_recent_sum=Sum("first_dose_minute", filter=recent),
            first_recent_days=Count("id", filter=recent),
            first_base_sum=Sum("first_dose_minute", filter=~recent),
            first_base_days=Count("id", filter=~recent),
        )
    }

    # 2. doses per (patient, lot) over the 35 days.
    in_recent = Q(local_date__gte=recent_start)
    dose_rows = list(
        Dose.objects.filter(windowed, local_date__gte=base_start, local_date__lte=as_of)
        .values("patient_id", "lot_id")
        .annotate(
            n_recent=Count("id", filter=in_recent),
            n_base=Count("id", filter=~in_recent),
            t0_recent=Min("taken_at", filter=in_recent),
            t1_recent=Max("taken_at", filter=in_recent),
            t0_base=Min("taken_at", filter=~in_recent),
            t1_base=Max("taken_at", filter=~in_recent),
            share_recent=Max("seven_oh_share_percent", filter=in_recent),
            enhanced_recent=Max(
                Case(When(enhanced=True, then=Value(1)), default=Value(0), output_field=IntegerField()),
                filter=in_recent,
            ),
        )
        .order_by()
    )
    lot_ids = {row["lot_id"] for row in dose_rows}
    lots = {lot.pk: _lot_info(lot) for lot in Lot.objects.select_related("product").filter(pk__in=lot_ids)}
    doses_by_patient: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in dose_rows:
        doses_by_patient[row["patient_id"]].append(dict(row))

    # 3. assessments: latest two per (patient, instrument), and the first valid pain score.
    assessment_qs = StoredAssessment.objects.filter(mine)
    if cutoff is not None:
        assessment_qs = assessment_qs.filter(administered_at__lt=cutoff)
    ranked = assessment_qs.annotate(
        rn_desc=Window(
            RowNumber(),
            partition_by=[F("patient_id"), F("instrument_id")],
            order_by=[F("administered_at").desc(), F("id").desc()],
        )
    ).filter(rn_desc__lte=2)
    assessments: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for ranked_row in ranked.values(
        "patient_id", "instrument_id", "total", "answers", "flags", "administered_at", "rn_desc"
    ):
        assessments[ranked_row["patient_id"]][ranked_row["instrument_id"]].append(dict(ranked_row))
    pain_base_qs = StoredAssessment.objects.filter(
        mine, instrument_id__in=PAIN_INSTRUMENTS, valid=True, total__isnull=False
    )
    if cutoff is not None:
        pain_base_qs = pain_base_qs.filter(administered_at__lt=cutoff)
    pain_base: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    pain_latest: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for pain_row in (
        pain_base_qs.annotate(
            rn_asc=Window(
                RowNumber(),
                partition_by=[F("patient_id"), F("instrument_id")],
                order_by=[F("administered_at").asc(), F("id").asc()],
            ),
            rn_desc=Window(
                RowNumber(),
                partition_by=[F("patient_id"), F("instrument_id")],
                order_by=[F("administered_at").desc(), F("id").desc()],
            ),
        )
        .filter(Q(rn_asc=1) | Q(rn_desc=1))
        .values("patient_id", "instrument_id", "total", "administered_at", "rn_asc", "rn_desc")
    ):
        a: dict[str, Any] = dict(pain_row)
        if a["rn_asc"] == 1:
            pain_base[a["patient_id"]][a["instrument_id"]] = a
        if a["rn_desc"] == 1:
            pain_latest[a["patient_id"]][a["instrument_id"]] = a

    # 4. labs: latest per (patient, test) and the first QTc.
    lab_qs = LabResult.objects.filter(mine, test__in=["alt", "ast", "total_bilirubin", "qtc"])
    if cutoff is not None:
        lab_qs = lab_qs.filter(taken_at__lt=cutoff)
    labs: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    qtc_first: dict[int, dict[str, Any]] = {}
    for lab_row in (
        lab_qs.annotate(
            rn_desc=Window(
                RowNumber(), partition_by=[F("patient_id"), F("test")], order_by=[F("taken_at").desc(), F("id").desc()]
            ),
            rn_asc=Window(
                RowNumber(), partition_by=[F("patient_id"), F("test")], order_by=[F("taken_at").asc(), F("id").asc()]
            ),
        )
        .filter(Q(rn_desc=1) | Q(rn_asc=1))
        .values("id", "patient_id", "test", "value", "upper_limit_normal", "taken_at", "rn_desc", "rn_asc")
    ):
        lab: dict[str, Any] = dict(lab_row)
        if lab["rn_desc"] == 1:
            labs[lab["patient_id"]][lab["test"]] = lab
        if lab["rn_asc"] == 1 and lab["test"] == "qtc":
            qtc_first[lab["patient_id"]] = lab

    # 5. adverse events in the window.
    aes: dict[int, list[AdverseEvent]] = defaultdict(list)
    for ae in StoredAdverseEvent.objects.filter(
        mine, onset__gte=as_of - dt.timedelta(days=AE_WINDOW_DAYS), onset__lte=as_of
    ).values("id", "patient_id", "term", "onset", "grade", "seriousness"):
        aes[ae["patient_id"]].append(
            AdverseEvent(
                id=str(ae["id"]),
                term=ae["term"],
                onset=ae["onset"],
                grade=ae["grade"],
                seriousness=tuple(ae["seriousness"] or ()),
            )
        )

    # 6. active medications.
    meds: dict[int, list[str]] = defaultdict(list)
    for pid, name in (
        Medication.objects.filter(mine)
        .filter(Q(start__isnull=True) | Q(start__lte=as_of), Q(stop__isnull=True) | Q(stop__gte=as_of))
        .order_by("patient_id", "start", "id")
        .values_list("patient_id", "name")
    ):
        if name not in meds[pid]:
            meds[pid].append(name)

    # 7. schedules and the latest valid assessment per (patient, instrument).
    schedules: dict[int, list[Schedule]] = defaultdict(list)
    for schedule in Schedule.objects.filter(mine, active=True).order_by("instrument_id"):
        schedules[schedule.patient_id].append(schedule)
    last_valid: dict[tuple[int, str], dt.datetime] = {}
    if schedules:
        valid_qs = StoredAssessment.objects.filter(patients_q(list(schedules)), valid=True)
        if cutoff is not None:
            valid_qs = valid_qs.filter(administered_at__lt=cutoff)
        for pid, instrument, last in (
            valid_qs.values("patient_id", "instrument_id")
            .annotate(last=Max("administered_at"))
            .values_list("patient_id", "instrument_id", "last")
        ):
            last_valid[(pid, instrument)] = last

    out: dict[int, PatientSnapshot] = {}
    for patient in patients:
        pid = patient.pk
        tz = exposure.zone(patient.time_zone)
        trend = _trend(as_of, daily.get(pid), doses_by_patient.get(pid, []))
        summary, used = _dose_summary(doses_by_patient.get(pid, []), lots, trend)
        status = cache.legal_status(patient.jurisdiction, as_of)
        product_legal = []
        for product, (share, seven_oh_form) in sorted(used.items()):
            evaluation = cache.product(patient.jurisdiction, as_of, share, seven_oh_form)
            if evaluation is not None:
                product_legal.append(ProductLegal(product=product, evaluation=evaluation))
        out[pid] = PatientSnapshot(
            patient_code=patient.code,
            as_of=as_of,
            jurisdiction=patient.jurisdiction,
            pregnant=patient.pregnant,
            breastfeeding=patient.breastfeeding,
            history=tuple(flag for flag in HISTORY_FLAGS if getattr(patient, flag)),
            trend=trend,
            doses=summary,
            medications=cache.screen(meds.get(pid, [])),
            legal_status=status,
            product_legal=tuple(product_legal),
            assessments=_assessments(assessments.get(pid, {})),
            adverse_events=tuple(aes.get(pid, ())),
            labs=_labs(labs.get(pid, {}), qtc_first.get(pid)),
            pain=_pain(pain_base.get(pid, {}), pain_latest.get(pid, {}), tz),
            overdue=_overdue(schedules.get(pid, []), last_valid, pid, as_of, tz),
        )
    return out


def _trend(as_of: dt.date, row: Mapping[str, Any] | None, dose_rows: Sequence[Mapping[str, Any]]) -> exposure.Trend:
    """``core.exposure.trend_from_window_sums`` over the sums of families 1 (daily rows) and 2 (doses by lot)."""
    daily = row or {}

    def window(name: str) -> exposure.WindowSums:
        return exposure.WindowSums(
            mitragynine_mg=float(daily.get(f"mg_{name}") or 0.0),
            doses=sum(d[f"n_{name}"] for d in dose_rows),
            first_dose_minute_sum=float(daily.get(f"first_{name}_sum") or 0.0),
            days_with_doses=daily.get(f"first_{name}_days") or 0,
            first_dose_at=min((d[f"t0_{name}"] for d in dose_rows if d[f"t0_{name}"] is not None), default=None),
            last_dose_at=max((d[f"t1_{name}"] for d in dose_rows if d[f"t1_{name}"] is not None), default=None),
        )

    return exposure.trend_from_window_sums(as_of, window("recent"), window("base"))


def _dose_summary(
    rows: Iterable[Mapping[str, Any]], lots: Mapping[int, _LotInfo], trend: exposure.Trend
) -> tuple[DoseSummary, dict[str, tuple[float | None, bool]]]:
    """The 7-day dose summary, and per product used: (highest certified 7-OH share, is a 7-OH form)."""
    unknown: set[str] = set()
    enhanced: set[str] = set()
    forms: set[str] = set()
    recalled: dict[str, RecalledLot] = {}
    best: SevenOhShare | None = None
    used: dict[str, tuple[float | None, bool]] = {}
    count = 0
    unknown_forms = screening_knowledge().product_rules
    extract_forms = unknown_forms.unknown_potency_forms if unknown_forms is not None else frozenset()
    for row in rows:
        if not row["n_recent"]:
            continue
        lot = lots[row["lot_id"]]
        count += row["n_recent"]
        forms.add(lot.form)
        if lot.form in extract_forms and not lot.has_certificate:
            unknown.add(lot.product)
        if row["enhanced_recent"]:
            enhanced.add(lot.product)
        if lot.recalled:
            recalled[lot.lot_code] = RecalledLot(lot=lot.lot_code, product=lot.product)
        share = row["share_recent"] if row["share_recent"] is not None else lot.share
        if share is not None and lot.has_certificate and (best is None or share > best.percent):
            best = SevenOhShare(percent=min(100.0, float(share)), lot=lot.lot_code, certificate=lot.certificate)
        previous_share, previous_form = used.get(lot.product, (None, False))
        shares = [s for s in (previous_share, share if lot.has_certificate else None) if s is not None]
        used[lot.product] = (max(shares) if shares else None, previous_form or lot.form == "seven_oh_product")
    summary = DoseSummary(
        doses_in_window=count,
        unknown_potency_extract_products=tuple(sorted(unknown)),
        max_seven_oh=best,
        recalled_lots=tuple(recalled[k] for k in sorted(recalled)),
        enhanced_products=tuple(sorted(enhanced)),
        forms_used=tuple(sorted(forms)),
    )
    return summary, used


def _assessments(by_instrument: Mapping[str, list[Mapping[str, Any]]]) -> tuple[Assessment, ...]:
    out = []
    for instrument_id in sorted(by_instrument):
        rows = sorted(by_instrument[instrument_id], key=lambda r: r["rn_desc"])
        latest = rows[0]
        previous = rows[1] if len(rows) > 1 else None
        out.append(
            Assessment(
                instrument_id=instrument_id,
                total=None if latest["total"] is None else float(latest["total"]),
                answers=tuple(latest["answers"] or ()),
                flags=tuple(latest["flags"] or ()),
                administered_at=latest["administered_at"],
                previous_total=None if previous is None or previous["total"] is None else float(previous["total"]),
                previous_administered_at=None if previous is None else previous["administered_at"],
            )
        )
    return tuple(out)


def _lab(row: Mapping[str, Any] | None) -> LabValue | None:
    if row is None or not row["upper_limit_normal"]:
        return None
    return LabValue(value=float(row["value"]), uln=float(row["upper_limit_normal"]), observed_on=row["taken_at"].date())


def _labs(latest: Mapping[str, Mapping[str, Any]], qtc_first: Mapping[str, Any] | None) -> Labs:
    qtc = latest.get("qtc")
    baseline = qtc_first if qtc_first is not None and qtc is not None and qtc_first["id"] != qtc["id"] else None
    return Labs(
        alt=_lab(latest.get("alt")),
        ast=_lab(latest.get("ast")),
        bilirubin=_lab(latest.get("total_bilirubin")),
        qtc_ms=None if qtc is None else float(qtc["value"]),
        qtc_on=None if qtc is None else qtc["taken_at"].date(),
        qtc_baseline_ms=None if baseline is None else float(baseline["value"]),
        qtc_baseline_on=None if baseline is None else baseline["taken_at"].date(),
    )


def _pain(
    base: Mapping[str, Mapping[str, Any]], latest: Mapping[str, Mapping[str, Any]], tz: Any
) -> PainTrajectory | None:
    for instrument_id in PAIN_INSTRUMENTS:
        first, last = base.get(instrument_id), latest.get(instrument_id)
        if first is None or last is None:
            continue
        return PainTrajectory(
            instrument_id=instrument_id,
            baseline_on=first["administered_at"].astimezone(tz).date(),
            baseline_value=float(first["total"]),
            latest_on=last["administered_at"].astimezone(tz).date(),
            latest_value=float(last["total"]),
        )
    return None


def _overdue(
    schedules: Iterable[Schedule], last_valid: Mapping[tuple[int, str], dt.datetime], pid: int, as_of: dt.date, tz: Any
) -> tuple[OverdueSchedule, ...]:
    out = []
    for schedule in schedules:
        last = last_valid.get((pid, schedule.instrument_id))
        next_due, _status = compute_status(
            every_days=schedule.every_days,
            start=schedule.start,
            active=schedule.active,
            last_local_date=None if last is None else last.astimezone(tz).date(),
            today=as_of,
            grace=0,
        )
        if as_of > next_due:
            out.append(
                OverdueSchedule(
                    instrument_id=schedule.instrument_id, days_overdue=(as_of - next_due).days, due_on=next_due
                )
            )
    return tuple(out)
