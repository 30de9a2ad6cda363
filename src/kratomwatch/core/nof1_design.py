"""N-of-1 trial design: validation, the randomized schedule of periods, each day's role, and adherence per period.

Pure (numpy only; no clock: every date is given). The clinician chooses the conditions, the period length, the
number of blocks, the run-in and the washout; this module never proposes a dose or a target.

Schedule
--------
A trial is ``blocks`` blocks; each block has one period of every condition, in an order drawn at random within
the block (a random permutation per block: the randomized multiple-crossover design described in Kravitz, Duan et
al., *Design and Implementation of N-of-1 Trials: A User's Guide*, AHRQ, February 2014,
https://effectivehealthcare.ahrq.gov/products/n-1-trials/research-2014-5). The permutations come from numpy's
PCG64 generator seeded with the trial's recorded seed, so the same seed and design give the same schedule on any
machine (numpy's ``Generator.permutation`` stream is stable for a given bit generator and seed).

Days: ``run_in_days`` before the first period (measured, not analysed); each period is ``period_days`` long and its
first ``washout_days`` are washout (measured, excluded from the analysis, as the carry-over of the previous
condition may still act).

Adherence
---------
For each period, over the analysed days: the mean of the measured daily mg (mitragynine and 7-OH, from the dose
log), the days with a dose record, and the target the clinician set for the condition. A period deviates when the
relative difference ``|actual - target| / target`` exceeds the tolerance (a program choice, default 0.2), or when
the target is 0 and any mg was taken.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kratomwatch.core.errors import InputError

__all__ = [
    "DEFAULT_ADHERENCE_TOLERANCE",
    "Adherence",
    "DayRole",
    "Design",
    "PeriodSlot",
    "adherence",
    "day_roles",
    "deviates",
    "randomize",
    "schedule",
    "validate",
]

MAX_CONDITIONS = 6
MAX_BLOCKS = 12
MAX_PERIOD_DAYS = 90
MAX_RUN_IN_DAYS = 60
MAX_TOTAL_DAYS = 730
DEFAULT_ADHERENCE_TOLERANCE = 0.2
"""Relative deviation of the measured mg from a period's target that is shown as a deviation (a program choice:
``nof1_adherence_tolerance_percent`` in the program settings)."""


@dataclass(frozen=True)
class Design:
    """What the clinician chose. ``conditions`` are short codes (e.g. "A", "B"); ``reference`` is one of them."""

    conditions: tuple[str, ...]
    reference: str
    period_days: int
    blocks: int
    washout_days: int = 0
    run_in_days: int = 0

    @property
    def total_days(self) -> int:
        return self.run_in_days + self.blocks * len(self.conditions) * self.period_days


@dataclass(frozen=True)
class PeriodSlot:
    """One period of the schedule: ``position`` counts from 1 over the whole trial, ``block`` from 1."""

    position: int
    block: int
    condition: str
    start: dt.date
    end: dt.date  # inclusive
    analysed_from: dt.date  # the first day after the washout


@dataclass(frozen=True)
class DayRole:
    day: dt.date
    role: str  # "run-in" | "washout" | "analysed"
    condition: str | None
    block: int | None
    position: int | None


def _int(field: str, value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, value, f"{what} must be a whole number")
    if not low <= value <= high:
        raise InputError(field, value, f"{what} must be between {low} and {high}; got {value}")
    return value


def validate(design: Design) -> Design:
    """Raise :class:`InputError` naming the field for a design that cannot be run; return it unchanged otherwise."""
    codes = design.conditions
    if len(codes) < 2:
        raise InputError("conditions", list(codes), "an n-of-1 trial compares at least two conditions")
    if len(codes) > MAX_CONDITIONS:
        raise InputError("conditions", len(codes), f"at most {MAX_CONDITIONS} conditions")
    for index, code in enumerate(codes):
        if not isinstance(code, str) or not code.strip():
            raise InputError(f"conditions.{index}", code, "each condition needs a short code, such as A or B")
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise InputError("conditions", duplicates[0], f"condition {duplicates[0]!r} is named twice")
    if not design.reference:
        raise InputError("reference", design.reference, "choose the reference condition the others are compared to")
    if design.reference not in codes:
        raise InputError(
            "reference", design.reference, f"the reference must be one of the conditions ({', '.join(codes)})"
        )
    _int("blocks", design.blocks, 2, MAX_BLOCKS, "the number of blocks")
    _int("period_days", design.period_days, 1, MAX_PERIOD_DAYS, "the period length in days")
    _int("washout_days", design.washout_days, 0, MAX_PERIOD_DAYS, "the washout in days")
    _int("run_in_days", design.run_in_days, 0, MAX_RUN_IN_DAYS, "the run-in in days")
    if design.washout_days >= design.period_days:
        raise InputError(
            "washout_days",
            design.washout_days,
            f"the washout ({design.washout_days} days) must be shorter than the period ({design.period_days} days),"
            " or no day of the period would be analysed",
        )
    if design.total_days > MAX_TOTAL_DAYS:
        raise InputError(
            "period_days",
            design.period_days,
            f"the trial would last {design.total_days} days; at most {MAX_TOTAL_DAYS} (fewer blocks or shorter"
            " periods)",
        )
    return design


def randomize(design: Design, seed: int) -> list[tuple[int, str]]:
    """(block, condition) in trial order: every condition once per block, in a seeded random order within it."""
    validate(design)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise InputError("seed", seed, "the randomization seed must be a whole number from 0 to 2^63 - 1")
    rng = np.random.Generator(np.random.PCG64(seed))
    order: list[tuple[int, str]] = []
    for block in range(1, design.blocks + 1):
        order.extend((block, design.conditions[int(i)]) for i in rng.permutation(len(design.conditions)))
    return order


def schedule(design: Design, seed: int, start: dt.date) -> list[PeriodSlot]:
    """The dated periods of a trial whose run-in begins on ``start``."""
    slots: list[PeriodSlot] = []
    first = start + dt.timedelta(days=design.run_in_days)
    for position, (block, condition) in enumerate(randomize(design, seed), start=1):
        begin = first + dt.timedelta(days=(position - 1) * design.period_days)
        slots.append(
            PeriodSlot(
                position=position,
                block=block,
                condition=condition,
                start=begin,
                end=begin + dt.timedelta(days=design.period_days - 1),
                analysed_from=begin + dt.timedelta(days=design.washout_days),
            )
        )
    return slots


def day_roles(design: Design, start: dt.date, slots: Sequence[PeriodSlot]) -> list[DayRole]:
    """Every day of the trial from the run-in's first day to the last period's last day, with its role."""
    roles = [DayRole(start + dt.timedelta(days=i), "run-in", None, None, None) for i in range(design.run_in_days)]
    for slot in slots:
        day = slot.start
        while day <= slot.end:
            role = "washout" if day < slot.analysed_from else "analysed"
            roles.append(DayRole(day, role, slot.condition, slot.block, slot.position))
            day += dt.timedelta(days=1)
    return roles


@dataclass(frozen=True)
class Adherence:
    position: int
    condition: str
    days: int  # analysed days in the period so far
    days_with_doses: int
    mitragynine_mg: float | None  # mean per analysed day (days without a dose count as 0 mg)
    seven_oh_mg: float | None
    target_mitragynine_mg: float | None
    target_seven_oh_mg: float | None
    deviation: str | None  # a sentence when the measured mg differs from the target beyond the tolerance


def deviates(actual: float, target: float | None, tolerance: float) -> bool:
    """True when ``actual`` mg/day differs from ``target`` by more than ``tolerance`` of it (a target of 0: anything
    taken). No target: never."""
    if target is None:
        return False
    if target == 0:
        return actual > 0
    return abs(actual - target) / target > tolerance


def adherence(
    slots: Sequence[PeriodSlot],
    daily_mg: Mapping[dt.date, tuple[float, float]],
    targets: Mapping[str, tuple[float | None, float | None]],
    *,
    through: dt.date,
    tolerance: float = DEFAULT_ADHERENCE_TOLERANCE,
) -> list[Adherence]:
    """Adherence of each period that has begun by ``through`` (inclusive), over its analysed days up to then.

    ``daily_mg`` maps a local date to (mitragynine mg, 7-OH mg) taken that day (absent: no dose recorded, 0 mg).
    ``targets`` maps a condition to its (mitragynine, 7-OH) daily target, None where the clinician set none.
    """
    if not (isinstance(tolerance, int | float) and math.isfinite(tolerance) and 0 < tolerance < 10):
        raise InputError("tolerance", tolerance, "the adherence tolerance must be a fraction above 0, such as 0.2")
    rows: list[Adherence] = []
    for slot in slots:
        last = min(slot.end, through)
        if last < slot.analysed_from:
            continue
        n = (last - slot.analysed_from).days + 1
        days = [slot.analysed_from + dt.timedelta(days=i) for i in range(n)]
        mit = np.array([daily_mg.get(d, (0.0, 0.0))[0] for d in days], dtype=float)
        oh = np.array([daily_mg.get(d, (0.0, 0.0))[1] for d in days], dtype=float)
        t_mit, t_oh = targets.get(slot.condition, (None, None))
        mean_mit, mean_oh = float(mit.mean()), float(oh.mean())
        problems = []
        if deviates(mean_mit, t_mit, tolerance):
            problems.append(f"mitragynine {mean_mit:.1f} mg/day against a target of {t_mit:g}")
        if deviates(mean_oh, t_oh, tolerance):
            problems.append(f"7-OH {mean_oh:.1f} mg/day against a target of {t_oh:g}")
        rows.append(
            Adherence(
                position=slot.position,
                condition=slot.condition,
                days=n,
                days_with_doses=sum(1 for d in days if d in daily_mg),
                mitragynine_mg=mean_mit,
                seven_oh_mg=mean_oh,
                target_mitragynine_mg=t_mit,
                target_seven_oh_mg=t_oh,
                deviation="; ".join(problems) or None,
            )
        )
    return rows
