"""What a trial measured and what the analysis says, from the record: the data handed to the analysis engine
(``core.nof1``), adherence per period (``core.nof1_design.adherence``), the chart's series, the patient's running
view and what the protocol shows.

Data of a trial day (the patient's local calendar):
- outcome: the mean of that day's valid totals of the primary questionnaire (NaN when none: a missing day, which
  the engine drops and counts);
- exposure: that day's materialized daily exposure (``records.DailyExposure``): mitragynine and 7-OH mg, 0 when
  no dose was recorded.

Run-in days are measured and shown but not analysed; washout days are handed to the engine flagged as washout.
Nothing here proposes a target or a dose: a target is only what the clinician entered (``care_plan_target`` reads
back the clinician's care-plan taper, for the clinician to copy if they choose).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from kratomwatch.accounts import program_settings
from kratomwatch.alerts.models import Alert
from kratomwatch.alerts.queries import AlertFilter, apply
from kratomwatch.assessments import queries as assessment_queries
from kratomwatch.assessments.schedules import statuses_for
from kratomwatch.careplans import queries as careplan_queries
from kratomwatch.core import exposure, nof1, nof1_design
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.nof1 import queries
from kratomwatch.nof1.models import CONSENT_SCOPE, Trial, TrialStatus
from kratomwatch.records import queries as record_queries
from kratomwatch.records.models import Patient

__all__ = [
    "MIN_DAYS_PER_CONDITION",
    "TrialResults",
    "analyse_trial",
    "care_plan_target",
    "ended",
    "protocol_context",
    "published_mcid",
    "schedule_hidden",
    "stopping_review",
    "today_view",
    "trial_data",
]

MIN_DAYS_PER_CONDITION = 2
"""Analysed days with an outcome each condition needs before the analysis is run."""
REVIEW_SEVERITIES = ("urgent", "high")
BLINDED_TEXT = (
    "Which condition this period is stays hidden until the trial ends. Follow what you agreed with your clinician "
    "for period {period}."
)


@dataclass(frozen=True)
class TrialResults:
    analysis: nof1.Analysis | None
    adherence: list[nof1_design.Adherence]
    series: list[dict[str, Any]]
    complete: bool
    reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def adherence_tolerance(trial: Trial) -> float:
    """The program's adherence tolerance as a fraction (``nof1_adherence_tolerance_percent``, a program choice)."""
    return program_settings.for_program(trial.patient.program_id).nof1_adherence_tolerance_percent / 100


# --- helpers the design form offers -------------------------------------------------------------------------


def published_mcid(instrument: str) -> tuple[float, str] | None:
    """The published minimal clinically important difference of the instrument's primary score, with its source,
    when the instrument definition carries one (``core/instruments``); None otherwise (kratomwatch never invents
    one: the clinician's value is then labelled a program choice)."""
    try:
        definition = ins.get(instrument)
    except ins.UnknownInstrument:
        return None
    scale = next((s for s in definition.scales if s.id == definition.primary_scale_id), None)
    if scale is None or scale.important_change is None:
        return None
    change = scale.important_change
    citation = change.citation
    where = (citation.doi and f"doi:{citation.doi}") or citation.url or (citation.pmid and f"PMID {citation.pmid}")
    source = citation.label + (f" ({where})" if where else "")
    return float(change.points), source


def care_plan_target(patient: Patient, day: dt.date) -> float | None:
    """The clinician's care-plan taper target (mg mitragynine per day) in force on ``day``, for the clinician to
    copy into a condition if they choose; None without one. Read back as entered: never a proposal."""
    steps = [s for s in careplan_queries.taper_steps(careplan_queries.care_plan(patient)) if s.start <= day]
    return steps[-1].target_mg if steps else None


# --- the days of a trial ----------------------------------------------------------------------------------------


def _through(trial: Trial, last: dt.date) -> dt.date:
    """The last day whose data counts: today (patient's zone) for a running trial, the stop day for a stopped one,
    never after the last period."""
    if trial.status == TrialStatus.COMPLETED:
        return last
    tz = exposure.zone(trial.patient.time_zone)
    if trial.status == TrialStatus.STOPPED and trial.ended_at is not None:
        return min(last, exposure.local_date(trial.ended_at, tz))
    return min(last, trial.patient.local_today())


def _daily_outcomes(trial: Trial, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    """Mean of each local day's valid primary totals from ``start`` to ``end``."""
    tz = exposure.zone(trial.patient.time_zone)
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    found = assessment_queries.valid_since(trial.patient, [trial.primary_instrument], since)
    by_day: dict[dt.date, list[float]] = defaultdict(list)
    for a in found.get(trial.primary_instrument, []):
        day = exposure.local_date(a.administered_at, tz)
        if day <= end and a.total is not None and math.isfinite(a.total):
            by_day[day].append(float(a.total))
    return {day: sum(values) / len(values) for day, values in by_day.items()}


def _daily_mg(trial: Trial, start: dt.date, end: dt.date) -> dict[dt.date, tuple[float, float]]:
    return {
        row.day: (row.mitragynine_mg, row.seven_oh_mg) for row in record_queries.daily_rows(trial.patient, start, end)
    }


def _days(trial: Trial) -> tuple[list[nof1_design.DayRole], dt.date | None]:
    slots = queries.slots_of(trial)
    if not slots or trial.start_date is None:
        return [], None
    roles = nof1_design.day_roles(queries.design_of(trial), trial.start_date, slots)
    through = _through(trial, slots[-1].end)
    return [r for r in roles if r.day <= through], through


def trial_data(trial: Trial) -> nof1.Trial:
    """The analysis engine's input: one row per washout or analysed day so far (run-in days excluded), day 0 = the
    first period's first day. ``InputError`` when the trial has no such day yet."""
    roles, through = _days(trial)
    rows = [r for r in roles if r.role != "run-in"]
    if not rows or through is None:
        raise InputError("trial", trial.pk, "the trial has no period day yet")
    first = rows[0].day
    outcomes = _daily_outcomes(trial, first, through)
    mg = _daily_mg(trial, first, through)
    return nof1.Trial.of(
        [(r.day - first).days for r in rows],
        [r.condition or "" for r in rows],
        [outcomes.get(r.day, math.nan) for r in rows],
        block=[r.block or 0 for r in rows],
        washout=[r.role == "washout" for r in rows],
        exposure_mg=[mg.get(r.day, (0.0, 0.0))[0] for r in rows],
    )


def trial_series(trial: Trial) -> list[dict[str, Any]]:
    """Every day of the trial so far (date, role, condition, block, outcome, mg): the one definition of a trial day,
    shared by the chart, the analysis input and the research export. Empty before the start."""
    roles, through = _days(trial)
    return _series(trial, roles, through) if through is not None else []


def _series(trial: Trial, roles: list[nof1_design.DayRole], through: dt.date) -> list[dict[str, Any]]:
    if not roles:
        return []
    outcomes = _daily_outcomes(trial, roles[0].day, through)
    mg = _daily_mg(trial, roles[0].day, through)
    return [
        {
            "date": r.day,
            "role": r.role,
            "condition": r.condition,
            "block": r.block,
            "outcome": outcomes.get(r.day),
            "mitragynine_mg": mg.get(r.day, (0.0, 0.0))[0],
            "seven_oh_mg": mg.get(r.day, (0.0, 0.0))[1],
        }
        for r in roles
    ]


def _not_enough(series: list[dict[str, Any]], codes: list[str]) -> tuple[str | None, dict[str, int]]:
    counts = dict.fromkeys(codes, 0)
    for row in series:
        if row["role"] == "analysed" and row["outcome"] is not None and row["condition"] in counts:
            counts[row["condition"]] += 1
    short = [code for code, n in counts.items() if n < MIN_DAYS_PER_CONDITION]
    if not short:
        return None, counts
    told = ", ".join(f"{code}: {n}" for code, n in counts.items())
    return (
        f"not enough measured days yet to compare the conditions (days with an outcome, {told}; each condition "
        f"needs at least {MIN_DAYS_PER_CONDITION})",
        counts,
    )


def analyse_trial(trial: Trial, *, draws: int = 20_000) -> TrialResults:
    """The trial's analysis through ``core.nof1.analyse`` (Bayesian AR(1) with block effects, GLS beside it,
    washout sensitivity, exposure-adjusted), adherence per period and the chart's series, so far."""
    complete = trial.status == TrialStatus.COMPLETED
    roles, through = _days(trial)
    if through is None:
        return TrialResults(None, [], [], complete, "the trial has not started")
    series = _series(trial, roles, through)
    conditions = queries.conditions_of(trial)
    targets = {c.code: (c.target_mitragynine_mg, c.target_seven_oh_mg) for c in conditions}
    first = roles[0].day
    rows = nof1_design.adherence(
        queries.slots_of(trial),
        _daily_mg(trial, first, through),
        targets,
        through=through,
        tolerance=adherence_tolerance(trial),
    )
    reference = next(c.code for c in conditions if c.is_reference)
    reason, counts = _not_enough(series, [c.code for c in conditions])
    if reason is not None:
        return TrialResults(None, rows, series, complete, reason, counts)
    try:
        analysis = nof1.analyse(
            trial_data(trial), reference, mcid=trial.mcid, lower_is_better=trial.lower_is_better, draws=draws
        )
    except InputError as problem:
        return TrialResults(None, rows, series, complete, f"not enough data to analyse yet: {problem.message}", counts)
    return TrialResults(analysis, rows, series, complete, None, counts)


# --- what may be shown --------------------------------------------------------------------------------------


def ended(trial: Trial) -> bool:
    """Completed or stopped (a running trial past its last period is completed by ``actions.complete_if_ended``)."""
    return trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED)


def schedule_hidden(trial: Trial) -> bool:
    """A blinded trial's order (and its seed, and results by condition) is shown to no one until it ends."""
    return trial.blinded and not ended(trial)


def stopping_review(trial: Trial) -> list[dict[str, Any]]:
    """Open urgent or high alerts of the patient during a running trial: each is shown as "review the stopping
    rules" beside the clinician's rules. The alerts themselves follow their own path, unchanged."""
    if trial.status != TrialStatus.ACTIVE:
        return []
    qs = apply(Alert.objects.filter(patient=trial.patient), AlertFilter(status="active"))
    return [
        {
            "alert_id": a.pk,
            "severity": a.severity,
            "title": a.title,
            "message": "Review the stopping rules of this n-of-1 trial: the patient has an open "
            f"{a.severity} alert ({a.title}).",
        }
        for a in qs.filter(severity__in=REVIEW_SEVERITIES)
    ]


def _title(instrument: str) -> str:
    try:
        return ins.get(instrument).title
    except ins.UnknownInstrument:
        return instrument


def today_view(trial: Trial, today: dt.date) -> dict[str, Any]:
    """The patient's running view on ``today`` (their local date): period n of m, day k of the period, the current
    condition (or the blinded text), washout or run-in, today's due questionnaires and the days left."""
    slots = queries.slots_of(trial)
    view: dict[str, Any] = {
        "trial_id": trial.pk,
        "title": trial.title,
        "status": trial.status,
        "blinded": trial.blinded,
        "state": "not_started",
        "period": None,
        "periods": len(slots) or trial.blocks * len(queries.conditions_of(trial)),
        "day_of_period": None,
        "period_days": trial.period_days,
        "condition": None,
        "blinded_text": None,
        "washout": False,
        "run_in": False,
        "measures": [],
        "days_left": None,
    }
    if not slots or trial.start_date is None:
        return view
    if ended(trial) or today > slots[-1].end:
        view.update(state="ended", days_left=0)
        return view
    view["days_left"] = (slots[-1].end - today).days + 1
    if today < trial.start_date:
        view["state"] = "before_start"
        return view
    view["measures"] = _due(trial, today)
    if today < slots[0].start:
        view.update(state="run-in", run_in=True)
        return view
    slot = next(s for s in slots if s.start <= today <= s.end)
    washout = today < slot.analysed_from
    view.update(
        state="washout" if washout else "analysed",
        washout=washout,
        period=slot.position,
        day_of_period=(today - slot.start).days + 1,
    )
    if trial.blinded:
        view["blinded_text"] = BLINDED_TEXT.format(period=slot.position)
    else:
        condition = next(c for c in queries.conditions_of(trial) if c.code == slot.condition)
        view["condition"] = {"code": condition.code, "label": condition.label, "description": condition.description}
    return view


def _due(trial: Trial, today: dt.date) -> list[dict[str, Any]]:
    """The trial's questionnaires due (or overdue) on ``today``."""
    wanted = {trial.primary_instrument} | {s["instrument_id"] for s in trial.secondary_instruments}
    tz = exposure.zone(trial.patient.time_zone)
    noon = dt.datetime.combine(today, dt.time(12), tzinfo=tz)
    return [
        {
            "instrument_id": s.schedule.instrument_id,
            "title": _title(s.schedule.instrument_id),
            "status": s.status,
            "next_due": s.next_due,
        }
        for s in statuses_for(trial.patient, now=noon, include_inactive=False)
        if s.schedule.instrument_id in wanted and s.is_due
    ]


def protocol_context(trial: Trial) -> dict[str, Any]:
    """What the protocol (PDF and page) shows. A blinded trial's order is not shown before it ends; its seed is
    committed to by its sha256, so the order can be checked afterwards and not guessed beforehand."""
    design = queries.design_of(trial)
    conditions = queries.conditions_of(trial)
    published = published_mcid(trial.primary_instrument)
    hidden = schedule_hidden(trial)
    order = nof1_design.randomize(design, trial.seed)
    return {
        "title": trial.title,
        "question": trial.question,
        "patient_code": trial.patient.code,
        "status": trial.get_status_display(),
        "conditions": [
            {
                "code": c.code,
                "label": c.label,
                "description": c.description,
                "is_reference": c.is_reference,
                "target_mitragynine_mg": c.target_mitragynine_mg,
                "target_seven_oh_mg": c.target_seven_oh_mg,
            }
            for c in conditions
        ],
        "reference": design.reference,
        "primary": {
            "instrument_id": trial.primary_instrument,
            "title": _title(trial.primary_instrument),
            "every_days": trial.measure_every_days,
            "direction": "lower is better" if trial.lower_is_better else "higher is better",
        },
        "secondary": [
            {"instrument_id": s["instrument_id"], "title": _title(s["instrument_id"]), "every_days": s["every_days"]}
            for s in trial.secondary_instruments
        ],
        "mcid": trial.mcid,
        "mcid_source": trial.mcid_source,
        "mcid_label": (
            None
            if trial.mcid is None
            else "a program choice, not a published value"
            if trial.mcid_program_choice
            else f"published: {trial.mcid_source}"
        ),
        "published_mcid": None if published is None else {"value": published[0], "source": published[1]},
        "period_days": trial.period_days,
        "blocks": trial.blocks,
        "washout_days": trial.washout_days,
        "run_in_days": trial.run_in_days,
        "total_days": design.total_days,
        "analysed_days_per_period": trial.period_days - trial.washout_days,
        "blinded": trial.blinded,
        "randomization": (
            f"Each of the {trial.blocks} blocks has one period of every condition, in an order drawn at random within "
            "the block (numpy PCG64 generator, seeded; the seed is recorded so the order can be reproduced)."
        ),
        "order": None if hidden else [{"block": b, "condition": c} for b, c in order],
        "seed": None if hidden else trial.seed,
        "seed_sha256": hashlib.sha256(str(trial.seed).encode()).hexdigest(),
        "stopping_rules": list(trial.stopping_rules),
        "safety": "Safety alerts go on as always during the trial; an urgent or high alert asks the clinician to "
        "review the stopping rules. The patient may withdraw at any time without giving a reason.",
        "analysis": nof1.model_formula(blocks=True, exposure=False),
        "caveat": nof1.CAVEAT,
        "consent_scope": CONSENT_SCOPE,
        "clinician_signed_by": (trial.clinician_signed_by.get_username() if trial.clinician_signed_by else None),
        "clinician_signed_at": trial.clinician_signed_at,
        "patient_signed_name": trial.patient_signed_name or None,
        "patient_signed_at": trial.patient_signed_at,
        "protocol_sha256": trial.protocol_sha256 or None,
        "start_date": trial.start_date,
        "time_zone": trial.patient.time_zone,
    }
