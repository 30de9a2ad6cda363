"""The demo's synthetic research cohort. SYNTHETIC DATA: these patients, doses, scores and events are invented.

120 extra patients of the demo program, coded ``KW-R001`` to ``KW-R120`` (the ``R`` marks the synthetic research
cohort), so that the cohort analyses of the researcher's workspace (trajectories, IMMPACT responder rates, the
mixed-effects model of exposure and outcome, time to event, adverse-event incidence) have about a year of history
to work on. The numbers are drawn from a seeded generator to look like a monitoring program's data; they say
nothing about kratom, about any person or about any dose, and kratomwatch never recommends a dose.

What the cohort holds (deterministic for :data:`SEED`):

* patients spread over the demo's places and condition sets, aged 25 to 75 at enrolment, enrolled over the past
  12 months (follow-up from about 1 to 12 months, ending today in each patient's zone); care consent for all,
  research consent for all but every 20th (6);
* daily doses of the demo's certified lots (so mg of mitragynine and 7-OH are computed), loaded set-based through
  ``records.bulk.load_dose_columns``: stable, slowly escalating, tapering along a clinician's taper plan
  (``save_care_plan``; some complete it, some stall, some are still tapering) and a few stopping;
* PEG and pain NRS for patients with a pain condition, weekly to week 12 and then every 4 weeks (some improve
  by 30% or 50%, others do not; pain is weakly associated with exposure), PHQ-9 and GAD-7 every 4 weeks, the
  DSM-5 checklist at months 0, 3 and 6 (a few reach 4 or more criteria later), COWS during tapers (below the
  moderate band);
* adverse events at a few percent per patient-month, terms of ``data.AES`` (grades 1 to 3, some serious);
* a completed n-of-1 trial of the demo's one design (``demo.nof1.DESIGN``: usual routine A against a reduced one
  B) for :data:`TRIAL_PATIENTS` research-consented pain patients on a stable or escalating pattern, so that the
  researcher's workspace pools them (``research.nof1_pool``): their doses are halved on B days, a pain rating is
  made up for most trial days (each patient's own difference, drawn around ``demo.nof1.TRUE_EFFECT``), and the
  trial is designed, signed, started and completed through ``nof1.actions`` (only once the demo's clinician login
  exists).

Everything else is written through the action functions inside one ``records.writes.batch`` (the alerts of the
cohort are evaluated once, set-based, at its end). Idempotent: a program that already has ``KW-R001`` is left
as it is.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from kratomwatch.accounts.models import Program
from kratomwatch.assessments.actions import record_assessment
from kratomwatch.audit.log import Actor
from kratomwatch.careplans.actions import save_care_plan
from kratomwatch.consent import actions as consent_actions
from kratomwatch.consent.status import latest_document
from kratomwatch.core import instruments as ins
from kratomwatch.demo import nof1 as demo_nof1
from kratomwatch.demo._scope import patients_of
from kratomwatch.demo.assessments import _fill
from kratomwatch.demo.catalogue import DemoLot
from kratomwatch.demo.data import (
    AES,
    CONDITION_SETS,
    PLACES,
    RESEARCH_AE_WEIGHTS,
    RESEARCH_CARE_ONLY_EVERY,
    RESEARCH_CODE_PREFIX,
    RESEARCH_COHORT_SIZE,
    RESEARCH_CONDITION_WEIGHTS,
    RESEARCH_PLACE_WEIGHTS,
    RESEARCH_PLAN_GOALS,
)
from kratomwatch.records import actions, bulk, writes
from kratomwatch.records.models import Patient

SEED = 20261202
"""The cohort's own generator, so the rest of the demo draws exactly what it drew before the cohort existed."""
CERTIFIED_LOTS = ("GMD-2411", "CAP-77", "CL-33")
"""Lots with a certificate of analysis: every dose gets mg of mitragynine and 7-OH, and no product alert."""
PATTERNS = ("stable", "escalating", "tapering", "stopping")
PATTERN_WEIGHTS = (0.40, 0.20, 0.30, 0.10)
PAIN = frozenset({"chronic_pain", "neuropathic_pain"})
SUBSTANCE = frozenset({"opioid_use_disorder", "kratom_use_disorder"})
PROFILES = 20
"""Quasi-identifier profiles (place, conditions, sex, age band), each shared by RESEARCH_COHORT_SIZE / 20 patients."""
STEP_DAYS = 14
WEEKLY_UNTIL = 12
"""Pain is rated weekly up to week 12 (the usual responder week), then every 4 weeks."""
"""Days between taper steps."""
TRIAL_PATIENTS = 12
"""Cohort patients with a completed n-of-1 trial of ``demo.nof1.DESIGN``."""
TRIAL_EFFECT_SD = 0.6
"""Spread of the made-up per-patient differences (B minus A, pain points) around ``demo.nof1.TRUE_EFFECT``."""
AE_RATE = 0.04
"""Adverse events per patient-month (escalating patients: one and a half times that)."""
#: Pain response (fraction of the baseline pain gone after about 12 weeks): (weight, low, high).
RESPONSES = ((0.30, 0.50, 0.70), (0.30, 0.30, 0.48), (0.20, 0.10, 0.25), (0.20, -0.10, 0.05))
PHQ9_CAP = 17  # below the severe band (20): the cohort is mostly unremarkable in the alert queue
GAD7_CAP = 13  # below the severe band (15)
COWS_CAP = 11  # below the moderate band (13)


def research_code(index: int) -> str:
    return f"{RESEARCH_CODE_PREFIX}{index + 1:03d}"


@dataclass
class _Plan:
    """One synthetic patient's draws."""

    index: int
    time_zone: str
    jurisdiction: str
    conditions: list[str]
    sex: str
    age: int
    follow_up: int
    pattern: str
    lot: DemoLot
    per_day: int
    scale: float
    rise: float
    taper_start: int
    taper_steps: int
    hold_step: int
    stop_day: int
    response: float
    dependence_rise: bool

    @property
    def code(self) -> str:
        return research_code(self.index)

    @property
    def pain(self) -> bool:
        return bool(PAIN & set(self.conditions))


class _Profile(NamedTuple):
    """What a release may show of a patient (place, conditions, sex, a 5-year age band): shared by a few patients."""

    place: int
    conditions: list[str]
    sex: str
    age_low: int


def _profiles(rng: np.random.Generator) -> list[_Profile]:
    """The cohort's :data:`PROFILES` quasi-identifier profiles. Patients share them (six each), as in a program
    where most people resemble several others, so the de-identified release keeps them in classes of at least k."""
    return [
        _Profile(
            place=int(rng.choice(len(PLACES), p=_weights(RESEARCH_PLACE_WEIGHTS))),
            conditions=CONDITION_SETS[int(rng.choice(len(CONDITION_SETS), p=_weights(RESEARCH_CONDITION_WEIGHTS)))],
            sex=("female", "male")[q % 2],
            age_low=int(rng.choice(np.arange(25, 75, 5))),
        )
        for q in range(PROFILES)
    ]


def _plan(index: int, profile: _Profile, lot: DemoLot, rng: np.random.Generator) -> _Plan:
    place, conditions = profile.place, profile.conditions
    # Staggered enrolment: follow-up from about 1 to 12 months, evenly spread, with a little jitter.
    follow_up = int(np.clip(30 + index * 334 / (RESEARCH_COHORT_SIZE - 1) + rng.integers(-5, 6), 30, 364))
    pattern = str(rng.choice(PATTERNS, p=PATTERN_WEIGHTS))
    taper_start = int(rng.integers(14, 36))
    if pattern == "tapering" and follow_up < taper_start + 2 * STEP_DAYS:
        pattern = "stable"
    steps = int(rng.integers(4, 7))
    weight, low, high = zip(*RESPONSES, strict=True)
    kind = int(rng.choice(len(RESPONSES), p=_weights(weight)))
    substance = bool(SUBSTANCE & set(conditions))
    return _Plan(
        index=index,
        time_zone=PLACES[place][0],
        jurisdiction=PLACES[place][1],
        conditions=list(conditions),
        sex=profile.sex,
        # Inside the profile's 5-year band whichever the enrolment year (age = enrolment year - birth year).
        age=profile.age_low + int(rng.integers(1, 4)),
        follow_up=follow_up,
        pattern=pattern,
        lot=lot,
        per_day=int(rng.choice([1, 2, 2, 3, 3, 4])),
        scale=float(rng.uniform(0.6, 1.6)),
        rise=float(rng.uniform(1.3, 1.8)),
        taper_start=taper_start,
        taper_steps=steps,
        # A tapering patient either follows every step (0: completes, or is still tapering) or stalls at a step.
        hold_step=0 if rng.random() < 0.6 else int(rng.integers(1, steps - 1)),
        stop_day=int(follow_up * rng.uniform(0.5, 0.85)),
        response=float(rng.uniform(low[kind], high[kind])),
        dependence_rise=bool(rng.random() < (0.25 if pattern == "escalating" else 0.05 if substance else 0.0)),
    )


def _weights(values: list[int] | tuple[float, ...]) -> npt.NDArray[np.float64]:
    w = np.asarray(values, dtype=np.float64)
    return np.asarray(w / w.sum(), dtype=np.float64)


# --- exposure --------------------------------------------------------------------------------------------------


def _levels(p: _Plan) -> npt.NDArray[np.float64]:
    """The patient's usual amount on each day of follow-up, as a multiple of their own starting amount."""
    days = np.arange(p.follow_up + 1, dtype=np.float64)
    level = np.ones_like(days)
    if p.pattern == "escalating":
        level = 1.0 + (p.rise - 1.0) * days / max(p.follow_up, 1)
    elif p.pattern == "stopping":
        level[days >= p.stop_day] = 0.0
    elif p.pattern == "tapering":
        n = p.taper_steps
        for j in range(n):
            held = p.hold_step and j >= p.hold_step
            target = (n - 1 - min(j, p.hold_step if held else j)) / n
            level[days >= p.taper_start + STEP_DAYS * j] = target
    return level


def _daily_mg(p: _Plan) -> float:
    """The patient's starting mg of mitragynine per day (their usual amount of their lot, times doses a day)."""
    amount = _amount(p.lot, np.array([p.lot.amount * p.scale]))
    mg = bulk.lot_mg_columns(p.lot.lot, amount, p.lot.unit)["mitragynine_mg"]
    return float(mg[0]) * p.per_day


def _amount(lot: DemoLot, raw: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if lot.unit in ("capsule", "tablet"):
        return np.maximum(1.0, np.round(raw))
    return np.maximum(0.25, np.round(raw, 2))


def _local_us(days: npt.NDArray[np.int64], minutes: npt.NDArray[np.int64], zone: str) -> npt.NDArray[np.int64]:
    """UTC epoch microseconds of local (day since 1970, minute of the day) in ``zone`` (daytime: no DST gap)."""
    naive = pl.Series("t", (days * 1440 + minutes) * 60_000_000, dtype=pl.Int64).cast(pl.Datetime("us"))
    aware = naive.dt.replace_time_zone(zone, ambiguous="earliest").dt.convert_time_zone("UTC")
    return aware.cast(pl.Int64).to_numpy()


def _doses(
    p: _Plan, enrolled_on: dt.date, now_us: int, rng: np.random.Generator, reduced: set[dt.date] | None = None
) -> dict[str, Any]:
    """Columns of the patient's doses from enrolment to now (``records.bulk`` layout, without the derived ones);
    on the ``reduced`` days (an n-of-1 trial's B days) the usual amount is halved (``demo.nof1.REDUCED``)."""
    level = _levels(p)
    if reduced:
        days = [(d - enrolled_on).days for d in reduced if 0 <= (d - enrolled_on).days <= p.follow_up]
        level = level.copy()
        level[days] *= demo_nof1.REDUCED
    active = np.flatnonzero(level > 0)
    day = np.repeat(active, p.per_day)
    k = np.tile(np.arange(p.per_day), active.size)
    minute = 8 * 60 + k * (780 // p.per_day) + rng.integers(-40, 41, size=day.size)
    raw = p.lot.amount * p.scale * level[day] * rng.uniform(0.85, 1.15, size=day.size)
    epoch_day = (enrolled_on - dt.date(1970, 1, 1)).days + day
    taken = _local_us(epoch_day.astype(np.int64), minute.astype(np.int64), p.time_zone)
    keep = taken <= now_us - 10 * 60_000_000  # nothing later than ten minutes ago
    keys = [f"demo-research-{p.code}-{d}-{j}" for d, j in zip(day[keep].tolist(), k[keep].tolist(), strict=True)]
    return {
        "code": p.code,
        "lot": p.lot,
        "taken_at": taken[keep],
        "amount": _amount(p.lot, raw[keep]),
        "idempotency_key": keys,
    }


def _load_doses(actor: Actor, parts: list[dict[str, Any]], ids: dict[str, int], now: dt.datetime) -> int:
    """Every cohort dose in one set-based, audited load; mg and local days by ``records.bulk``'s own code."""
    columns: dict[str, list[Any]] = {name: [] for name in bulk.DOSE_COLUMNS}
    for part in parts:
        n = part["taken_at"].size
        if n == 0:
            continue
        lot: DemoLot = part["lot"]
        local_date, local_minute = bulk.local_columns(part["taken_at"], part["zone"])
        mg = bulk.lot_mg_columns(lot.lot, part["amount"], lot.unit)
        values: dict[str, Any] = {
            "patient_id": np.full(n, ids[part["code"]], dtype=np.int64),
            "lot_id": np.full(n, lot.lot.pk, dtype=np.int64),
            "taken_at": part["taken_at"],
            "local_date": local_date,
            "local_minute": local_minute,
            "amount": part["amount"],
            "unit": np.full(n, lot.unit, dtype=object),
            "source": np.full(n, "self_report", dtype=object),
            "idempotency_key": np.asarray(part["idempotency_key"], dtype=object),
            **mg,
        }
        for name in bulk.DOSE_COLUMNS:
            columns[name].append(values[name])
    if not columns["patient_id"]:
        return 0
    joined = {name: np.concatenate(chunks) for name, chunks in columns.items()}
    return bulk.load_dose_columns(actor=actor, columns=joined, now=now)


# --- assessments -----------------------------------------------------------------------------------------------


class _Scores:
    """Writes one patient's assessments through ``record_assessment`` at times in the patient's zone."""

    def __init__(self, actor: Actor, patient: Patient, enrolled_on: dt.date, now: dt.datetime) -> None:
        self.actor = actor
        self.patient = patient
        self.enrolled_on = enrolled_on
        self.zone = ZoneInfo(patient.time_zone)
        self.now = now
        self.count = 0

    def at(self, day: int, minute: int) -> dt.datetime:
        local = dt.datetime.combine(self.enrolled_on + dt.timedelta(days=day), dt.time(), tzinfo=self.zone)
        when = (local + dt.timedelta(minutes=minute)).astimezone(dt.UTC)
        # Today's questionnaire is answered before now (in the evening of a zone ahead of UTC it is already done).
        return min(when, self.now - dt.timedelta(minutes=30 + minute % 60))

    def write(self, instrument_id: str, answers: list[int | None], day: int, minute: int, source: str) -> None:
        record_assessment(
            actor=self.actor,
            patient=self.patient,
            instrument_id=instrument_id,
            answers=answers,
            administered_at=self.at(day, minute),
            source=source,
            now=self.now,
        )
        self.count += 1


def _clip(value: float, high: int = 10) -> int:
    return int(min(high, max(0, round(value))))


def _pain(s: _Scores, p: _Plan, level: npt.NDArray[np.float64], baseline_mg: float, rng: np.random.Generator) -> None:
    """Pain NRS and PEG weekly to week 12, then every 4 weeks: a per-patient response reached over about 12 weeks,
    noise, a few missed weeks, and a weak association with the day's usual exposure (0.06 points more pain per 10 mg
    mitragynine a day, within and between patients: an invented association, not an effect of anything)."""
    base = float(np.clip(rng.normal(6.3, 0.9), 3.5, 9.0))
    last = p.follow_up // 7
    for week in [*range(min(WEEKLY_UNTIL, last) + 1), *range(WEEKLY_UNTIL + 4, last + 1, 4)]:
        day = 7 * week
        if week and rng.random() < 0.08:
            continue  # a missed week
        mg_now = baseline_mg * float(level[day])
        expected = base * (1.0 - p.response * (1.0 - math.exp(-week / 4.0))) + 0.06 * (mg_now - 100.0) / 10.0
        nrs = _clip(expected + rng.normal(0, 0.7))
        minute = 18 * 60 + int(rng.integers(0, 180))
        s.write("pain_nrs", [nrs], day, minute, "self_report")
        items: list[int | None] = [nrs, _clip(expected + rng.normal(0.3, 0.9)), _clip(expected + rng.normal(0.2, 0.9))]
        s.write("peg", items, day, minute + 1, "self_report")


def _mood(p: _Plan, w: _Scores, rng: np.random.Generator) -> None:
    """PHQ-9 and GAD-7 every 4 weeks; item 9 of the PHQ-9 always 0, totals below the severe bands."""
    phq9, gad7 = ins.get("phq9"), ins.get("gad7")
    conditions = set(p.conditions)
    phq_base = int(rng.integers(11, 16)) if "depression" in conditions else int(rng.integers(3, 9))
    gad_base = int(rng.integers(9, 13)) if "anxiety" in conditions else int(rng.integers(2, 7))
    gain = max(0.0, p.response)
    for month in range(p.follow_up // 28 + 1):
        progress = 1.0 - math.exp(-month / 3.0)
        phq = _clip(phq_base - 4.0 * gain * progress + rng.normal(0, 1.5), PHQ9_CAP)
        gad = _clip(gad_base - 3.0 * gain * progress + rng.normal(0, 1.2), GAD7_CAP)
        minute = 17 * 60 + int(rng.integers(0, 60))
        w.write("phq9", _fill(phq9, phq, rng, {"phq9_9": 0}), 28 * month, minute, "self_report")
        w.write("gad7", _fill(gad7, gad, rng), 28 * month, minute + 5, "self_report")


def _dsm5(p: _Plan, w: _Scores, rng: np.random.Generator) -> None:
    """The DSM-5 checklist at months 0, 3 and 6 (when follow-up reaches them); a few rise to 4 or more."""
    dsm5 = ins.get("dsm5_sud")
    substance = bool(SUBSTANCE & set(p.conditions))
    count = int(rng.integers(2, 4)) if substance or p.dependence_rise else int(rng.integers(0, 3))
    for visit, day in enumerate((0, 91, 182)):
        if day > p.follow_up:
            break
        if visit:
            if p.dependence_rise:
                count = max(count + 1, 4) if visit == 2 or rng.random() < 0.4 else count + 1
            elif p.pattern == "tapering":
                count = max(0, count - int(rng.integers(0, 2)))
            else:
                count = int(np.clip(count + rng.integers(-1, 2), 0, 3))
        fixed = {"dsm5_tolerance": 0, "dsm5_withdrawal": 0} if count < 4 else {}
        w.write("dsm5_sud", _fill(dsm5, count, rng, fixed), day, 10 * 60 + int(rng.integers(0, 120)), "clinician")


def _cows(p: _Plan, w: _Scores, rng: np.random.Generator) -> None:
    """COWS at clinic visits 3 and 10 days into each taper step (below the moderate band)."""
    cows = ins.get("cows")
    for j in range(p.taper_steps):
        for offset, peak in ((3, 4), (10, 0)):
            day = p.taper_start + STEP_DAYS * j + offset
            if day > p.follow_up:
                return
            target = min(COWS_CAP, int(rng.integers(2, 6)) + peak * int(p.hold_step == 0 or j < p.hold_step))
            w.write("cows", _fill(cows, target, rng), day, 11 * 60 + int(rng.integers(0, 120)), "clinician")


# --- adverse events, care plans --------------------------------------------------------------------------------


def _adverse_events(
    actor: Actor, patient: Patient, p: _Plan, enrolled_on: dt.date, *, today: dt.date, rng: np.random.Generator
) -> int:
    rate = AE_RATE * (1.5 if p.pattern == "escalating" else 1.0)
    months = max(1, p.follow_up // 30)
    count = 0
    for month in np.flatnonzero(rng.random(months) < rate).tolist():
        term, grade, serious, outcome = AES[int(rng.choice(len(AES), p=_weights(RESEARCH_AE_WEIGHTS)))]
        onset = min(today, enrolled_on + dt.timedelta(days=30 * month + int(rng.integers(0, 30))))
        if (today - onset).days < 14 and outcome == "recovered":
            outcome = "recovering"
        actions.record_adverse_event(
            actor=actor,
            patient=patient,
            term=term,
            onset=onset,
            grade=grade,
            seriousness=serious,
            outcome=outcome,
            causality=str(rng.choice(["possible", "unlikely", "probable"])),
            action_taken="none" if grade == 1 else str(rng.choice(["none", "kratom_reduced"])),
            today=today,
        )
        count += 1
    return count


def _taper_plan(actor: Actor, patient: Patient, p: _Plan, enrolled_on: dt.date, baseline_mg: float) -> None:
    """The clinician's taper steps (synthetic): equal steps down to 0 mg, every two weeks; some lie ahead."""
    n = p.taper_steps
    start = enrolled_on + dt.timedelta(days=p.taper_start)
    steps = [
        (start + dt.timedelta(days=STEP_DAYS * j), float(5 * round(baseline_mg * (n - 1 - j) / n / 5)))
        for j in range(n)
    ]
    save_care_plan(
        actor=actor,
        patient=patient,
        goals=RESEARCH_PLAN_GOALS,
        modalities=["counselling"],
        notes="Synthetic research-cohort taper: steps entered by the clinician with the patient.",
        taper=steps,
    )


# --- the cohort ------------------------------------------------------------------------------------------------


def _certified(lots: list[DemoLot]) -> list[DemoLot]:
    return [lot for lot in lots if lot.lot.lot_code in CERTIFIED_LOTS]


def _trial_plans(plans: list[_Plan]) -> list[_Plan]:
    """The first :data:`TRIAL_PATIENTS` research-consented pain patients on a stable or escalating pattern whose
    follow-up holds the whole trial and a fortnight before it."""
    needed = demo_nof1.DESIGN.total_days + demo_nof1.ENDED_DAYS_AGO + 14
    chosen = [
        p
        for p in plans
        if p.pain
        and p.pattern in ("stable", "escalating")
        and p.follow_up >= needed
        and p.index % RESEARCH_CARE_ONLY_EVERY != RESEARCH_CARE_ONLY_EVERY - 1
    ]
    return chosen[:TRIAL_PATIENTS]


def _trials(actor: Actor, program: Program, clinician: Any, plans: list[_Plan], now: dt.datetime) -> int:
    """The completed n-of-1 trials of ``plans`` (their doses already follow them), each with its own seed."""
    patients = {p.code: p for p in patients_of(program).filter(code__in=[p.code for p in plans])}
    for p in plans:
        rng = np.random.default_rng(SEED + p.index)  # its own generator: the cohort's draws stay as they were
        effect = demo_nof1.TRUE_EFFECT + float(rng.normal(0.0, TRIAL_EFFECT_SD))
        demo_nof1.create_trial(
            actor,
            patients[p.code],
            clinician,
            now,
            rng,
            signed_name=f"Synthetic patient {p.code}",
            seed=SEED + p.index,
            effect=effect,
        )
    return len(plans)


def load_research_cohort(actor: Actor, program: Program, lots: list[DemoLot], now: dt.datetime) -> dict[str, int]:
    """Add the synthetic research cohort to the demo ``program`` (once). Returns counts (zero when already there)."""
    counts = dict.fromkeys(
        ("patients", "doses", "assessments", "adverse_events", "care_plans", "research_consent", "nof1_trials"), 0
    )
    if patients_of(program).filter(code=research_code(0)).exists():
        return counts
    rng = np.random.default_rng(SEED)
    usable = _certified(lots)
    profiles = _profiles(rng)
    # Patient i has profile (i + i // 20) % 20: six patients each, the six care-only patients in six profiles.
    plans = [
        _plan(i, profiles[(i + i // PROFILES) % PROFILES], usable[i % len(usable)], rng)
        for i in range(RESEARCH_COHORT_SIZE)
    ]
    clinician = demo_nof1.trial_clinician()
    trial_plans = _trial_plans(plans) if clinician is not None else []
    on_trial = {p.code for p in trial_plans}
    document = latest_document(program.pk)
    now_us = int(now.timestamp() * 1_000_000)
    parts: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    with writes.batch():
        for p in plans:
            zone = ZoneInfo(p.time_zone)
            today = now.astimezone(zone).date()
            enrolled_on = today - dt.timedelta(days=p.follow_up)
            patient = actions.create_patient(
                actor=actor,
                program=program,
                code=p.code,
                birth_year=enrolled_on.year - p.age,
                sex=p.sex,
                time_zone=p.time_zone,
                jurisdiction=p.jurisdiction,
                conditions=p.conditions,
                today=today,
                enrolled_on=enrolled_on,
            )
            ids[p.code] = patient.pk
            counts["patients"] += 1
            if document is not None:
                research = p.index % RESEARCH_CARE_ONLY_EVERY != RESEARCH_CARE_ONLY_EVERY - 1
                consent_actions.sign(
                    actor=actor,
                    patient=patient,
                    document=document,
                    scopes=["care", "research"] if research else ["care"],
                    typed_name=f"Synthetic patient {p.code}",
                    now=now,
                )
                counts["research_consent"] += int(research)
            reduced = demo_nof1.b_days(today, SEED + p.index) if p.code in on_trial else None
            part = _doses(p, enrolled_on, now_us, rng, reduced)
            part["zone"] = p.time_zone
            parts.append(part)
            baseline_mg = _daily_mg(p)
            if p.pattern == "tapering":
                _taper_plan(actor, patient, p, enrolled_on, baseline_mg)
                counts["care_plans"] += 1
            scores = _Scores(actor, patient, enrolled_on, now)
            if p.pain:
                _pain(scores, p, _levels(p), baseline_mg, rng)
            _mood(p, scores, rng)
            _dsm5(p, scores, rng)
            if p.pattern == "tapering":
                _cows(p, scores, rng)
            counts["assessments"] += scores.count
            counts["adverse_events"] += _adverse_events(actor, patient, p, enrolled_on, today=today, rng=rng)
        counts["doses"] = _load_doses(actor, parts, ids, now)
    with writes.batch():
        counts["nof1_trials"] = _trials(actor, program, clinician, trial_plans, now)
    return counts
