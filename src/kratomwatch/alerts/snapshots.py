"""Build :class:`PatientSnapshot` values for many patients at once, set-based.

One query per data family for a whole batch of patients (never one per patient), each read by one
``_read_<family>`` function; ``_snapshot`` then assembles one patient from the batch's rows:

1. daily exposure: conditional sums over ``DailyExposure`` for the 7-day window and the 28-day baseline
   (``core.exposure`` windows: ``as_of-6 .. as_of`` and ``as_of-34 .. as_of-7``): mg, and the first-dose
   minutes with their day count;
2. doses grouped by (patient, lot) over the same 35 days: counts, first and last instant of each window
   (with family 1, the :class:`core.exposure.WindowSums` of ``trend_from_window_sums``) and the highest 7-OH share
   in the 7-day window; lots (with product and certificate) are read once. The rules judge a product's share
   against the program's cap; the ``enhanced`` flag stored with each dose is not read;
3. latest two administrations per (patient, instrument), and the first and latest valid pain score (window
   functions, ``ROW_NUMBER() OVER (PARTITION BY ...)``, on SQLite and PostgreSQL alike);
4. latest ALT, AST, total bilirubin and QTc per patient, and the first QTc (baseline), by window function;
5. adverse events with onset in the last ``AE_WINDOW_DAYS`` days;
6. active medications; each distinct medication text is screened once (cached for the whole sweep);
7. schedules with the latest valid assessment per (patient, instrument).

Legal status is computed once per (jurisdiction, as_of) and product legality once per distinct
(jurisdiction, product, 7-OH share, form). Then the pure rules run per patient in Python.

:data:`RULE_INPUTS` names the families each rule reads (the patient's own fields are always there). A write that
changes only some families (a dose: ``daily`` and ``doses``, declared in ``records.writes.WRITE_CHANGES``) is
re-evaluated with :func:`rules_reading` of them, and ``build_snapshots(..., families=...)`` reads only what those
rules need; ``tests/alerts/test_incremental.py`` proves that each rule gives the same findings from its families
alone as from a full snapshot.

Dates: with ``as_of`` omitted each patient is judged on today in their own time zone, and every stored record
counts (no record can be in the future). With an explicit ``as_of`` records up to the end of that day in each
patient's own time zone count (patients are then grouped by zone, so the queries stay one per family per zone).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from django.db import connection
from django.db.models import F, Max, Model, Q, QuerySet, Window
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
from kratomwatch.core.rules.snapshot import ProductSevenOh
from kratomwatch.core.screening import (
    UnknownJurisdiction,
    evaluate_product,
    legal_status,
    screen_interactions,
)
from kratomwatch.core.screening.contraindications import contraindication_rules
from kratomwatch.core.screening.types import (
    SEVERITY_ORDER,
    ContraindicationRule,
    HistoryFlags,
    LegalStatusResult,
    ProductEvaluation,
    ScreeningKnowledge,
    ScreeningResult,
)
from kratomwatch.knowledge.loader import screening_knowledge
from kratomwatch.records.corrections import ACTIVE
from kratomwatch.records.models import AdverseEvent as StoredAdverseEvent
from kratomwatch.records.models import DailyExposure, Dose, LabResult, Lot, Medication, Patient
from kratomwatch.records.potency import lot_potency

AE_WINDOW_DAYS = 90
"""Adverse events with onset in the last 90 days are judged (a sweep choice, documented in docs/alerts.md)."""
PAIN_INSTRUMENTS = ("peg", "pain_nrs")
HISTORY_FLAGS = ("liver_disease", "seizure_disorder", "cardiac_qt", "respiratory_disease")

_M = TypeVar("_M", bound=Model)

FAMILIES = ("daily", "doses", "assessments", "pain", "labs", "adverse_events", "medications", "schedules")
"""The query families, in the order of the module docstring (1, 2, 3a, 3b, 4, 5, 6, 7)."""

_DOSE_USE = frozenset({"daily", "doses"})  # ``PatientSnapshot.uses_kratom`` and the trend read both
RULE_INPUTS: dict[str, frozenset[str]] = {
    "interaction": frozenset({"medications", "doses"}),
    "naloxone": _DOSE_USE | {"medications"},
    "escalation": _DOSE_USE,
    "risky_product": frozenset({"doses"}),
    "withdrawal": frozenset({"assessments"}),
    "suicidality": frozenset({"assessments"}),
    "mood": frozenset({"assessments"}),
    "serious_adverse_event": frozenset({"adverse_events"}),
    "liver": frozenset({"labs"}),
    "cardiac": frozenset({"labs"}),
    "sodium": frozenset({"labs"}),
    "pregnancy": _DOSE_USE,
    "history": _DOSE_USE,
    "legal": _DOSE_USE,
    "dependence": frozenset({"assessments"}),
    "no_benefit": frozenset({"pain"}),
    "missed_followup": frozenset({"schedules"}),
}
"""The data families each rule (``core.rules.RULES``, by id) reads besides the patient's own fields."""


def rules_reading(changed: Iterable[str]) -> frozenset[str]:
    """The ids of the rules that read any of the ``changed`` families: the only ones a write of them can change."""
    families = set(changed)
    unknown = families - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown data families {sorted(unknown)}; known: {', '.join(FAMILIES)}")
    return frozenset(rule_id for rule_id, inputs in RULE_INPUTS.items() if inputs & families)


def families_of(rule_ids: Iterable[str]) -> frozenset[str]:
    """The families these rules read (what a snapshot restricted to them must hold)."""
    return frozenset().union(*(RULE_INPUTS[rule_id] for rule_id in rule_ids))


PURE_LEAF_FORMS = frozenset({"leaf_powder", "crushed_leaf"})
"""Product forms that are dried or powdered leaf (pure leaf, for laws that allow only that)."""
NOT_LEAF_FORMS = frozenset({"liquid_extract", "shot", "resin", "seven_oh_product"})
"""Product forms that are extracts or concentrates, never pure leaf."""


@dataclass
class KnowledgeCache:
    """Per-sweep memo of the knowledge-derived evaluations (screening, legal status, product legality)."""

    knowledge: ScreeningKnowledge = field(default_factory=screening_knowledge)
    medications: dict[str, ScreeningResult] = field(default_factory=dict)
    legal: dict[tuple[str, dt.date], LegalStatusResult | None] = field(default_factory=dict)
    products: dict[tuple[str, dt.date, float | None, str], ProductEvaluation | None] = field(default_factory=dict)
    history: dict[tuple[str, ...], tuple[ContraindicationRule, ...]] = field(default_factory=dict)

    def contraindications(self, flags: tuple[str, ...]) -> tuple[ContraindicationRule, ...]:
        """The curated records of the active history flags (``core.screening.contraindication_rules``), once per
        distinct set of flags."""
        if flags not in self.history:
            active = HistoryFlags(**dict.fromkeys(flags, True))
            self.history[flags] = contraindication_rules(active, self.knowledge.contraindications)
        return self.history[flags]

    def screen(self, names: Sequence[str]) -> ScreeningResult | None:
        """Screen each distinct text once; merge into one result (most severe first, then entry order)."""
        if not names:
            return None
        merged: list[tuple[int, int, Any]] = []
        matches: list[Any] = []
        unresolved: list[Any] = []
        positives: list[Any] = []
        for position, name in enumerate(names):
            result = self.medications.get(name)
            if result is None:
                result = self.medications[name] = screen_interactions([name], self.knowledge)
            merged.extend((-SEVERITY_ORDER[f.severity], position, f) for f in result.findings)
            matches.extend(result.matches)
            unresolved.extend(result.unresolved)
            positives.extend(result.positives)
        merged.sort(key=lambda item: (item[0], item[1], item[2].class_id, item[2].ingredient_id))
        return ScreeningResult(
            tuple(f for _, _, f in merged), tuple(matches), tuple(unresolved), positives=tuple(positives)
        )

    def legal_status(self, code: str, on: dt.date) -> LegalStatusResult | None:
        key = (code, on)
        if key not in self.legal:
            try:
                self.legal[key] = legal_status(code, on, self.knowledge)
            except UnknownJurisdiction:
                self.legal[key] = None
        return self.legal[key]

    def product(self, code: str, on: dt.date, share: float | None, form: str) -> ProductEvaluation | None:
        """The product check for a product of ``form``: a 7-OH product form is a 7-OH product; dried or powdered
        leaf is pure leaf, an extract form is not, and a capsule, tablet or "other" is not known to be."""
        key = (code, on, share, form)
        if key not in self.products:
            pure_leaf = True if form in PURE_LEAF_FORMS else (False if form in NOT_LEAF_FORMS else None)
            try:
                self.products[key] = evaluate_product(
                    code,
                    on,
                    self.knowledge,
                    seven_oh_share_percent=share,
                    is_seven_oh_product=form == "seven_oh_product",
                    pure_leaf=pure_leaf,
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


def build_snapshots(
    patients: Sequence[Patient],
    *,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
    cache: KnowledgeCache | None = None,
    families: Iterable[str] | None = None,
) -> dict[int, PatientSnapshot]:
    """Snapshots keyed by patient id. Patients sharing an as_of date are read together, one query per family.

    With ``families`` only those families are read; the others are left empty (for rules that do not read them).
    """
    wanted = frozenset(FAMILIES if families is None else families)
    cache = cache or KnowledgeCache()
    now = now or timezone.now()
    groups: dict[tuple[dt.date, str | None], list[Patient]] = defaultdict(list)
    for patient in patients:
        if as_of is None:
            groups[(patient.local_today(now), None)].append(patient)
        else:
            groups[(as_of, patient.time_zone)].append(patient)
    out: dict[int, PatientSnapshot] = {}
    for (day, zone_name), group in groups.items():
        cutoff = None
        if zone_name is not None:
            # The end of the as_of day where the patient lives, not in UTC: an evening record in Chicago is
            # already "tomorrow" in UTC but belongs to the patient's as_of day.
            cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), exposure.zone(zone_name))
        out.update(_build(group, day, cutoff, cache, wanted))
    return out


_Row = dict[str, Any]


class _Doses(NamedTuple):
    by_patient: dict[int, list[_Row]]
    lots: dict[int, _LotInfo]


class _Pain(NamedTuple):
    first: dict[int, dict[str, _Row]]
    latest: dict[int, dict[str, _Row]]


class _Labs(NamedTuple):
    latest: dict[int, dict[str, _Row]]
    qtc_first: dict[int, _Row]


class _Schedules(NamedTuple):
    by_patient: dict[int, list[Schedule]]
    last_valid: dict[tuple[int, str], dt.datetime]


@dataclass(frozen=True)
class _Batch:
    """What the query families read for one batch of patients (one as_of date), keyed by patient id."""

    daily: dict[int, _Row]
    doses: _Doses
    assessments: dict[int, dict[str, list[_Row]]]
    pain: _Pain
    labs: _Labs
    adverse_events: dict[int, list[AdverseEvent]]
    medications: dict[int, list[str]]
    schedules: _Schedules


def _build(
    patients: Sequence[Patient],
    as_of: dt.date,
    cutoff: dt.datetime | None,
    cache: KnowledgeCache,
    families: frozenset[str] = frozenset(FAMILIES),
) -> dict[int, PatientSnapshot]:
    ids = [p.pk for p in patients]
    mine = patients_q(ids)
    batch = _Batch(
        daily=_read_daily(ids, as_of) if "daily" in families else {},
        doses=_read_doses(ids, as_of) if "doses" in families else _Doses({}, {}),
        assessments=_read_assessments(mine, cutoff) if "assessments" in families else {},
        pain=_read_pain(mine, cutoff) if "pain" in families else _Pain({}, {}),
        labs=_read_labs(mine, cutoff) if "labs" in families else _Labs({}, {}),
        adverse_events=_read_adverse_events(mine, as_of) if "adverse_events" in families else {},
        medications=_read_medications(mine, as_of) if "medications" in families else {},
        schedules=_read_schedules(mine, cutoff) if "schedules" in families else _Schedules({}, {}),
    )
    return {patient.pk: _snapshot(patient, as_of, batch, cache) for patient in patients}


def _before(qs: QuerySet[_M], field: str, cutoff: dt.datetime | None) -> QuerySet[_M]:
    """Records up to the end of an explicit ``as_of`` day; all records when judging today."""
    return qs if cutoff is None else qs.filter(**{f"{field}__lt": cutoff})


def _read_daily(ids: Sequence[int], as_of: dt.date) -> dict[int, _Row]:
    """1. Daily exposure: one grouped query with conditional sums over the two trend windows."""
    names = ("mg_recent", "mg_base", "first_recent_sum", "first_recent_days", "first_base_sum", "first_base_days")
    return {
        pid: {"patient_id": pid, **dict(zip(names, values, strict=True))}
        for pid, *values in _windowed(_DAILY_SQL, DailyExposure, ids, as_of)
    }


def _read_doses(ids: Sequence[int], as_of: dt.date) -> _Doses:
    """2. Doses grouped by (patient, lot) over the 35 days, and the lots used (with product and certificate)."""
    names = ("n_recent", "n_base", "t0_recent", "t1_recent", "t0_base", "t1_base", "share_recent")
    by_patient: dict[int, list[_Row]] = defaultdict(list)
    for pid, lot_id, n_recent, n_base, *instants, share in _windowed(_DOSES_SQL, Dose, ids, as_of):
        values = (n_recent, n_base, *(_instant(value) for value in instants), share)
        by_patient[pid].append({"patient_id": pid, "lot_id": lot_id, **dict(zip(names, values, strict=True))})
    lot_ids = {row["lot_id"] for rows in by_patient.values() for row in rows}
    lots = {lot.pk: _lot_info(lot) for lot in Lot.objects.select_related("product").filter(pk__in=lot_ids)}
    return _Doses(by_patient, lots)


# Families 1 and 2 run on every dose write (through the write hook) as plain SQL: building these grouped queries
# through the ORM cost more CPU than running them. They are the statements the ORM built (FILTER clauses, on SQLite
# and PostgreSQL alike; ``voided_at IS NULL`` is ``records.corrections.ACTIVE``); ``tests/alerts/test_incremental.py``
# compares their rows with the ORM's.
_DAILY_SQL = """
SELECT patient_id,
  SUM(mitragynine_mg) FILTER (WHERE day >= %(recent)s),
  SUM(mitragynine_mg) FILTER (WHERE NOT (day >= %(recent)s)),
  SUM(first_dose_minute) FILTER (WHERE day >= %(recent)s),
  COUNT(id) FILTER (WHERE day >= %(recent)s),
  SUM(first_dose_minute) FILTER (WHERE NOT (day >= %(recent)s)),
  COUNT(id) FILTER (WHERE NOT (day >= %(recent)s))
FROM {table} WHERE patient_id IN ({ids}) AND day >= %(base)s AND day <= %(as_of)s
GROUP BY patient_id
"""
# In lot order: lots with the same 7-OH share tie in _dose_summary, and the first one is named. Unordered,
# PostgreSQL's hash aggregate could name another lot for one patient alone than in a sweep batch.
_DOSES_SQL = """
SELECT patient_id, lot_id,
  COUNT(id) FILTER (WHERE local_date >= %(recent)s),
  COUNT(id) FILTER (WHERE NOT (local_date >= %(recent)s)),
  MIN(taken_at) FILTER (WHERE local_date >= %(recent)s),
  MAX(taken_at) FILTER (WHERE local_date >= %(recent)s),
  MIN(taken_at) FILTER (WHERE NOT (local_date >= %(recent)s)),
  MAX(taken_at) FILTER (WHERE NOT (local_date >= %(recent)s)),
  MAX(seven_oh_share_percent) FILTER (WHERE local_date >= %(recent)s)
FROM {table}
WHERE patient_id IN ({ids}) AND voided_at IS NULL AND local_date >= %(base)s AND local_date <= %(as_of)s
GROUP BY patient_id, lot_id ORDER BY patient_id, lot_id
"""


def _windowed(sql: str, model: type[Model], ids: Sequence[int], as_of: dt.date) -> list[tuple[Any, ...]]:
    """Rows of one of the two windowed statements for these patients: an ``IN`` list (the (patient, day) indexes seek
    to each patient's window, where a patient range would walk every day of every patient in the range)."""
    recent, base = exposure.window_bounds(as_of)
    ops = connection.ops
    params: dict[str, Any] = {f"p{i}": pid for i, pid in enumerate(ids)}
    params |= {"recent": ops.adapt_datefield_value(recent), "base": ops.adapt_datefield_value(base)}
    params["as_of"] = ops.adapt_datefield_value(as_of)
    text = sql.format(table=ops.quote_name(model._meta.db_table), ids=", ".join(f"%(p{i})s" for i in range(len(ids))))
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _instant(value: Any) -> dt.datetime | None:
    """An aggregated ``taken_at`` as the ORM gives it: SQLite returns the stored text (UTC, naive)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value  # type: ignore[no-any-return]


def _latest_first(*partition: str, at: str) -> Window:
    return Window(RowNumber(), partition_by=[F(f) for f in partition], order_by=[F(at).desc(), F("id").desc()])


def _earliest_first(*partition: str, at: str) -> Window:
    return Window(RowNumber(), partition_by=[F(f) for f in partition], order_by=[F(at).asc(), F("id").asc()])


def _read_assessments(mine: Q, cutoff: dt.datetime | None) -> dict[int, dict[str, list[_Row]]]:
    """3a. The latest two administrations per (patient, instrument)."""
    ranked = (
        _before(StoredAssessment.objects.filter(mine), "administered_at", cutoff)
        .annotate(rn_desc=_latest_first("patient_id", "instrument_id", at="administered_at"))
        .filter(rn_desc__lte=2)
        .values("patient_id", "instrument_id", "total", "answers", "flags", "administered_at", "rn_desc")
    )
    out: dict[int, dict[str, list[_Row]]] = defaultdict(lambda: defaultdict(list))
    for row in ranked:
        out[row["patient_id"]][row["instrument_id"]].append(dict(row))
    return out


def _read_pain(mine: Q, cutoff: dt.datetime | None) -> _Pain:
    """3b. The first and the latest valid pain score per (patient, instrument)."""
    valid = StoredAssessment.objects.filter(mine, instrument_id__in=PAIN_INSTRUMENTS, valid=True, total__isnull=False)
    first: dict[int, dict[str, _Row]] = defaultdict(dict)
    latest: dict[int, dict[str, _Row]] = defaultdict(dict)
    for row in (
        _before(valid, "administered_at", cutoff)
        .annotate(
            rn_asc=_earliest_first("patient_id", "instrument_id", at="administered_at"),
            rn_desc=_latest_first("patient_id", "instrument_id", at="administered_at"),
        )
        .filter(Q(rn_asc=1) | Q(rn_desc=1))
        .values("patient_id", "instrument_id", "total", "administered_at", "rn_asc", "rn_desc")
    ):
        if row["rn_asc"] == 1:
            first[row["patient_id"]][row["instrument_id"]] = dict(row)
        if row["rn_desc"] == 1:
            latest[row["patient_id"]][row["instrument_id"]] = dict(row)
    return _Pain(first, latest)


def _read_labs(mine: Q, cutoff: dt.datetime | None) -> _Labs:
    """4. The latest ALT, AST, ALP, total bilirubin, QTc and sodium per patient, and the first QTc (the baseline)."""
    tests = LabResult.objects.filter(mine, ACTIVE, test__in=["alt", "ast", "alp", "total_bilirubin", "qtc", "sodium"])
    latest: dict[int, dict[str, _Row]] = defaultdict(dict)
    qtc_first: dict[int, _Row] = {}
    for row in (
        _before(tests, "taken_at", cutoff)
        .annotate(
            rn_desc=_latest_first("patient_id", "test", at="taken_at"),
            rn_asc=_earliest_first("patient_id", "test", at="taken_at"),
        )
        .filter(Q(rn_desc=1) | Q(rn_asc=1))
        .values("id", "patient_id", "test", "value", "upper_limit_normal", "taken_at", "rn_desc", "rn_asc")
    ):
        if row["rn_desc"] == 1:
            latest[row["patient_id"]][row["test"]] = dict(row)
        if row["rn_asc"] == 1 and row["test"] == "qtc":
            qtc_first[row["patient_id"]] = dict(row)
    return _Labs(latest, qtc_first)


def _read_adverse_events(mine: Q, as_of: dt.date) -> dict[int, list[AdverseEvent]]:
    """5. Adverse events with onset in the last ``AE_WINDOW_DAYS`` days."""
    out: dict[int, list[AdverseEvent]] = defaultdict(list)
    for ae in StoredAdverseEvent.objects.filter(
        mine, ACTIVE, onset__gte=as_of - dt.timedelta(days=AE_WINDOW_DAYS), onset__lte=as_of
    ).values("id", "patient_id", "term", "onset", "grade", "seriousness"):
        out[ae["patient_id"]].append(
            AdverseEvent(
                id=str(ae["id"]),
                term=ae["term"],
                onset=ae["onset"],
                grade=ae["grade"],
                seriousness=tuple(ae["seriousness"] or ()),
            )
        )
    return out


def _read_medications(mine: Q, as_of: dt.date) -> dict[int, list[str]]:
    """6. Active medications on ``as_of``, each name once, in start order."""
    out: dict[int, list[str]] = defaultdict(list)
    for pid, name in (
        Medication.objects.filter(mine, ACTIVE)
        .filter(Q(start__isnull=True) | Q(start__lte=as_of), Q(stop__isnull=True) | Q(stop__gte=as_of))
        .order_by("patient_id", "start", "id")
        .values_list("patient_id", "name")
    ):
        if name not in out[pid]:
            out[pid].append(name)
    return out


def _read_schedules(mine: Q, cutoff: dt.datetime | None) -> _Schedules:
    """7. Active schedules, and the latest valid assessment per (patient, instrument) of the scheduled patients."""
    schedules: dict[int, list[Schedule]] = defaultdict(list)
    for schedule in Schedule.objects.filter(mine, active=True).order_by("instrument_id"):
        schedules[schedule.patient_id].append(schedule)
    if not schedules:
        return _Schedules(schedules, {})
    valid = _before(StoredAssessment.objects.filter(patients_q(list(schedules)), valid=True), "administered_at", cutoff)
    last_valid = {
        (pid, instrument): last
        for pid, instrument, last in valid.values("patient_id", "instrument_id")
        .annotate(last=Max("administered_at"))
        .values_list("patient_id", "instrument_id", "last")
    }
    return _Schedules(schedules, last_valid)


def _snapshot(patient: Patient, as_of: dt.date, batch: _Batch, cache: KnowledgeCache) -> PatientSnapshot:
    """One patient's snapshot from the batch's rows; knowledge evaluations come from the per-sweep cache."""
    pid = patient.pk
    tz = exposure.zone(patient.time_zone)
    dose_rows = batch.doses.by_patient.get(pid, [])
    trend = _trend(as_of, batch.daily.get(pid), dose_rows)
    summary, used = _dose_summary(dose_rows, batch.doses.lots, trend)
    history = tuple(flag for flag in HISTORY_FLAGS if getattr(patient, flag))
    product_legal = []
    for product, (share, form) in sorted(used.items()):
        evaluation = cache.product(patient.jurisdiction, as_of, share, form)
        if evaluation is not None:
            product_legal.append(ProductLegal(product=product, evaluation=evaluation))
    return PatientSnapshot(
        patient_code=patient.code,
        as_of=as_of,
        jurisdiction=patient.jurisdiction,
        pregnant=patient.pregnant,
        breastfeeding=patient.breastfeeding,
        history=history,
        contraindications=cache.contraindications(history),
        trend=trend,
        doses=summary,
        medications=cache.screen(batch.medications.get(pid, [])),
        legal_status=cache.legal_status(patient.jurisdiction, as_of),
        product_legal=tuple(product_legal),
        assessments=_assessments(batch.assessments.get(pid, {})),
        adverse_events=tuple(batch.adverse_events.get(pid, ())),
        labs=_labs(batch.labs.latest.get(pid, {}), batch.labs.qtc_first.get(pid)),
        pain=_pain(batch.pain.first.get(pid, {}), batch.pain.latest.get(pid, {}), tz),
        overdue=_overdue(batch.schedules.by_patient.get(pid, []), batch.schedules.last_valid, pid, as_of, tz),
    )


def _trend(as_of: dt.date, row: Mapping[str, Any] | None, dose_rows: Sequence[Mapping[str, Any]]) -> exposure.Trend:
    """``core.exposure.trend_from_window_sums`` over the sums of families 1 (daily rows) and 2 (doses by lot)."""
    daily = row or {}

    def window(name: str) -> exposure.WindowSums:
        return exposure.WindowSums(
            # To the microgram: a SQL sum of floats depends on the order the rows are read in (PostgreSQL reads one
            # patient's rows by index and a sweep batch's by a scan), and a last-bit difference can flip the rounding
            # of a number an alert prints, so the sweep would rewrite an alert that nothing changed.
            mitragynine_mg=round(float(daily.get(f"mg_{name}") or 0.0), 6),
            doses=sum(d[f"n_{name}"] for d in dose_rows),
            first_dose_minute_sum=float(daily.get(f"first_{name}_sum") or 0.0),
            days_with_doses=daily.get(f"first_{name}_days") or 0,
            first_dose_at=min((d[f"t0_{name}"] for d in dose_rows if d[f"t0_{name}"] is not None), default=None),
            last_dose_at=max((d[f"t1_{name}"] for d in dose_rows if d[f"t1_{name}"] is not None), default=None),
        )

    return exposure.trend_from_window_sums(as_of, window("recent"), window("base"))


def _dose_summary(
    rows: Iterable[Mapping[str, Any]], lots: Mapping[int, _LotInfo], trend: exposure.Trend
) -> tuple[DoseSummary, dict[str, tuple[float | None, str]]]:
    """The 7-day dose summary, and per product used: (highest certified 7-OH share, the product's form).

    The share, not the ``enhanced`` flag stored with each dose, goes to the rules, which judge it against the
    program's cap; the same share goes to the jurisdiction's legal evaluation."""
    unknown: set[str] = set()
    forms: set[str] = set()
    recalled: dict[str, RecalledLot] = {}
    best: SevenOhShare | None = None
    used: dict[str, tuple[float | None, str]] = {}
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
        if lot.recalled:
            recalled[lot.lot_code] = RecalledLot(lot=lot.lot_code, product=lot.product)
        share = row["share_recent"] if row["share_recent"] is not None else lot.share
        if share is not None and lot.has_certificate and (best is None or share > best.percent):
            best = SevenOhShare(percent=min(100.0, float(share)), lot=lot.lot_code, certificate=lot.certificate)
        previous_share, previous_form = used.get(lot.product, (None, lot.form))
        shares = [s for s in (previous_share, share if lot.has_certificate else None) if s is not None]
        used[lot.product] = (max(shares) if shares else None, previous_form)
    summary = DoseSummary(
        doses_in_window=count,
        unknown_potency_extract_products=tuple(sorted(unknown)),
        max_seven_oh=best,
        recalled_lots=tuple(recalled[k] for k in sorted(recalled)),
        product_seven_oh=tuple(
            ProductSevenOh(product=product, percent=min(100.0, float(share)))
            for product, (share, _) in sorted(used.items())
            if share is not None
        ),
        forms_used=tuple(sorted(forms)),
    )
    return summary, used


def _assessments(by_instrument: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[Assessment, ...]:
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
    sodium = latest.get("sodium")
    baseline = qtc_first if qtc_first is not None and qtc is not None and qtc_first["id"] != qtc["id"] else None
    return Labs(
        alt=_lab(latest.get("alt")),
        ast=_lab(latest.get("ast")),
        bilirubin=_lab(latest.get("total_bilirubin")),
        qtc_ms=None if qtc is None else float(qtc["value"]),
        qtc_on=None if qtc is None else qtc["taken_at"].date(),
        qtc_baseline_ms=None if baseline is None else float(baseline["value"]),
        qtc_baseline_on=None if baseline is None else baseline["taken_at"].date(),
        alp=_lab(latest.get("alp")),
        sodium_mmol_l=None if sodium is None else float(sodium["value"]),
        sodium_on=None if sodium is None else sodium["taken_at"].date(),
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
