"""Synthetic assessment histories for the demo program, written through ``record_assessment``.

Deterministic for a given ``numpy.random.Generator``. All data are synthetic; they exist to show
trajectories, bands, flags and schedules, and say nothing about any real patient or any dose.

What the demo contains (by the order of the program's patients, per condition):

* PEG weekly for pain patients (chronic or neuropathic): every other one improves by >= 30% on the
  pain item and the score, the others stay flat; some stopped answering one or two weeks ago (due or
  overdue).
* PHQ-9 every two weeks for everybody; the first patient with depression answers item 9 above 0 in the
  most recent questionnaire, the second one scores >= 20; some stopped two or four weeks ago (due or
  overdue).
* GAD-7 every four weeks for patients with anxiety.
* COWS at visits every four weeks for patients with opioid use disorder (the first one >= 13 at the
  last visit; every other one missed the last visit).
* DSM-5 criteria for kratom use disorder at baseline and recently (the first one meets >= 4).
* DN4 once for neuropathic pain; ASRS once for ADHD.
* Schedules: PEG every 7 days, PHQ-9 every 14 days, COWS every 28 days; the gaps above make some overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from kratomwatch.accounts.models import Program
from kratomwatch.assessments.actions import record_assessment, set_schedule
from kratomwatch.audit.log import Actor
from kratomwatch.core import instruments as ins
from kratomwatch.demo._scope import patients_of
from kratomwatch.records.models import Patient

HISTORY_DAYS = 84
PAIN = {"chronic_pain", "neuropathic_pain"}


def _fill(
    definition: ins.InstrumentDefinition, target: int, rng: np.random.Generator, fixed: Mapping[str, int] | None = None
) -> list[int | None]:
    """Answers of a summed instrument whose total is as close to ``target`` as the answer steps allow."""
    fixed = dict(fixed or {})
    values = {item.id: fixed.get(item.id, item.min_value) for item in definition.items}
    free = [item for item in definition.items if item.id not in fixed]
    total = sum(values.values())
    while total < target:
        steps = []
        for item in free:
            higher = [v for v in item.allowed_values if v > values[item.id]]
            if higher and higher[0] - values[item.id] <= target - total:
                steps.append((item.id, higher[0]))
        if not steps:
            break
        item_id, value = steps[int(rng.integers(len(steps)))]
        total += value - values[item_id]
        values[item_id] = value
    return [values[item.id] for item in definition.items]


def _clip(value: float, low: int = 0, high: int = 10) -> int:
    return int(min(high, max(low, round(value))))


def _asrs(definition: ins.InstrumentDefinition, shaded_a: int, rng: np.random.Generator) -> list[int | None]:
    part_a = definition.scale("part_a_shaded")
    chosen = set(rng.choice(len(part_a.item_ids), size=shaded_a, replace=False).tolist())
    answers: list[int | None] = []
    for item in definition.items:
        if item.id in part_a.item_ids:
            threshold = part_a.threshold_for(item.id)
            if part_a.item_ids.index(item.id) in chosen:
                answers.append(int(rng.integers(threshold, item.max_value + 1)))
            else:
                answers.append(int(rng.integers(item.min_value, threshold)))
        else:
            answers.append(int(rng.integers(1, 4)))
    return answers


class _Writer:
    """Writes the assessments and schedules, and counts them and the patients seen per condition."""

    def __init__(self, actor: Actor, now: dt.datetime, rng: np.random.Generator) -> None:
        self.actor = actor
        self.now = now
        self.rng = rng
        self.count = 0
        self.schedules = 0
        self.seen = {"pain": 0, "depression": 0, "oud": 0, "kud": 0}

    def next(self, condition: str) -> int:
        """How many patients with ``condition`` came before this one."""
        k = self.seen[condition]
        self.seen[condition] += 1
        return k

    def at(self, days_ago: int) -> dt.datetime:
        # Some hours before now, so nothing lands in the future and times never collide.
        return self.now - dt.timedelta(days=days_ago, hours=int(self.rng.integers(1, 10)), minutes=self.count % 60)

    def write(
        self, patient: Patient, instrument_id: str, answers: list[int | None], days_ago: int, source: str
    ) -> None:
        record_assessment(
            actor=self.actor,
            patient=patient,
            instrument_id=instrument_id,
            answers=answers,
            administered_at=self.at(days_ago),
            source=source,
            now=self.now,
        )
        self.count += 1

    def schedule(self, patient: Patient, instrument_id: str, every_days: int, start: dt.date) -> None:
        set_schedule(actor=self.actor, patient=patient, instrument_id=instrument_id, every_days=every_days, start=start)
        self.schedules += 1


def _peg(w: _Writer, patient: Patient, k: int, start: dt.date) -> None:
    """Weekly PEG: the ``k``-th pain patient improves when ``k`` is even; some stopped answering."""
    rng = w.rng
    improving = k % 2 == 0
    last_day = {3: 14, 1: 7}.get(k % 4, 0)  # overdue, due today, or up to date
    baseline = float(rng.uniform(6.0, 8.5))
    final = baseline * (float(rng.uniform(0.35, 0.6)) if improving else float(rng.uniform(1.0, 1.1)))
    last_week = (HISTORY_DAYS - last_day) // 7  # the last questionnaire this patient answered
    for week in range(last_week + 1):
        days_ago = HISTORY_DAYS - 7 * week
        level = baseline + (final - baseline) * week / last_week
        answers: list[int | None] = [_clip(level)] * 3
        if week not in (0, last_week):  # week-to-week noise; first and last stay on the trend
            noisy = level + float(rng.normal(0, 0.5))
            answers = [
                _clip(noisy),
                _clip(noisy + float(rng.normal(0, 0.8))),
                _clip(noisy + float(rng.normal(0, 0.8))),
            ]
        w.write(patient, "peg", answers, days_ago, "self_report")
    w.schedule(patient, "peg", 7, start)


def _phq9(w: _Writer, patient: Patient, index: int, d: int, start: dt.date) -> None:
    """PHQ-9 every two weeks; ``d`` is the patient's rank among those with depression (-1: none)."""
    rng, phq9 = w.rng, ins.get("phq9")
    depressed = d >= 0
    base = int(rng.integers(13, 19)) if depressed else int(rng.integers(3, 9))
    improving = index % 3 == 0
    # The patients with the item-9 answer and the high total stay up to date; others may lapse.
    last_day = 0 if d in (0, 1) else {4: 28, 2: 14}.get(index % 5, 0)  # overdue, due today, up to date
    for step in range(HISTORY_DAYS // 14 + 1):
        days_ago = HISTORY_DAYS - 14 * step
        if days_ago < last_day:
            break
        last = days_ago == 0
        target = base - (step if improving else 0) + int(rng.integers(-1, 2))
        fixed = {"phq9_9": 0}
        if d == 0 and last:
            fixed = {"phq9_9": 1}
        if d == 1 and last:
            target = 21
        w.write(patient, "phq9", _fill(phq9, max(0, target), rng, fixed), days_ago, "self_report")
    w.schedule(patient, "phq9", 14, start)


def _gad7(w: _Writer, patient: Patient) -> None:
    rng, gad7 = w.rng, ins.get("gad7")
    gad_base = int(rng.integers(10, 15))
    for step in range(HISTORY_DAYS // 28 + 1):
        target = max(0, gad_base - step * int(rng.integers(0, 3)))
        w.write(patient, "gad7", _fill(gad7, target, rng), HISTORY_DAYS - 28 * step, "self_report")


def _cows(w: _Writer, patient: Patient, k: int, start: dt.date) -> None:
    """COWS at visits; the first opioid use disorder patient scores >= 13 at the last one."""
    rng, cows = w.rng, ins.get("cows")
    visits = [91, 63, 35] if k % 2 == 1 else [84, 56, 28, 7]
    for v, days_ago in enumerate(visits):
        target = 14 if (k == 0 and v == len(visits) - 1) else int(rng.integers(2, 9))
        w.write(patient, "cows", _fill(cows, target, rng), days_ago, "clinician")
    w.schedule(patient, "cows", 28, start)


def _dsm5(w: _Writer, patient: Patient, k: int) -> None:
    dsm5 = ins.get("dsm5_sud")
    for days_ago, target in ((80, 3), (10, 5 if k == 0 else 2)):
        fixed = {"dsm5_tolerance": 0, "dsm5_withdrawal": 0} if target < 4 else {}
        w.write(patient, "dsm5_sud", _fill(dsm5, target, w.rng, fixed), days_ago, "clinician")


def _patient_histories(w: _Writer, index: int, patient: Patient) -> None:
    """Every instrument that fits the patient's conditions, in a fixed order (the generator is shared)."""
    rng = w.rng
    conditions = set(patient.condition_codes)
    today = patient.local_today(w.now)
    start = today - dt.timedelta(days=HISTORY_DAYS)
    if conditions & PAIN:
        _peg(w, patient, w.next("pain"), start)
    _phq9(w, patient, index, w.next("depression") if "depression" in conditions else -1, start)
    if "anxiety" in conditions:
        _gad7(w, patient)
    if "opioid_use_disorder" in conditions:
        _cows(w, patient, w.next("oud"), start)
    if "kratom_use_disorder" in conditions:
        _dsm5(w, patient, w.next("kud"))
    if "neuropathic_pain" in conditions:
        target = int(rng.integers(4, 8)) if index % 2 == 0 else int(rng.integers(1, 4))
        w.write(patient, "dn4", _fill(ins.get("dn4"), target, rng), 80, "clinician")
    if "adhd" in conditions:
        w.write(patient, "asrs", _asrs(ins.get("asrs"), int(rng.integers(3, 7)), rng), 80, "self_report")


def load_demo_assessments(program: Program, now: dt.datetime, rng: np.random.Generator) -> dict[str, Any]:
    """Write the demo histories and schedules for every patient of ``program``. Returns counts."""
    w = _Writer(Actor.system("demo"), now, rng)
    for index, patient in enumerate(patients_of(program).prefetch_related("conditions")):
        _patient_histories(w, index, patient)
    return {"assessments": w.count, "schedules": w.schedules}
