"""Dose histories: each patient follows one trajectory (stable, escalating, tapering or stopping partway)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np

from kratomwatch.audit.log import Actor
from kratomwatch.demo.catalogue import DemoLot
from kratomwatch.records import actions
from kratomwatch.records.models import Patient

PATTERNS = ["stable", "escalating", "tapering", "stable", "stopping"]
STEP_UP_DAYS = 7  # escalating patients step up over the last week


def _factor(pattern: str, d: int, days: int) -> float:
    """Multiple of the patient's typical amount on day ``d`` of ``days`` (0.0: no doses that day)."""
    frac = d / max(days - 1, 1)
    return {
        "stable": 1.0,
        # Escalating: steady, then a clear step up over the last week.
        "escalating": 1.0 if d < days - STEP_UP_DAYS else 1.9,
        "tapering": 1.0 - 0.6 * frac,
        "stopping": 1.0 if frac < 0.7 else 0.0,
    }[pattern]


def _dose(
    patient: Patient,
    lot: DemoLot,
    *,
    d: int,
    k: int,
    day: dt.date,
    factor: float,
    late: bool,
    rng: np.random.Generator,
) -> actions.DoseIn:
    """The ``k``-th dose of day ``d``; a late escalation also moves the first dose earlier."""
    hour = 7 + int(rng.integers(0, 3)) + k * 5 - (2 if late else 0)
    minute = int(rng.integers(0, 60))
    local = dt.datetime.combine(day, dt.time(hour % 24, minute))
    amount = max(0.25, round(lot.amount * factor * float(rng.uniform(0.8, 1.2)), 2))
    if lot.unit in ("capsule", "tablet"):
        amount = max(1.0, round(amount))
    return actions.DoseIn(
        patient_code=patient.code,
        lot_id=lot.lot.pk,
        taken_at=local.replace(tzinfo=ZoneInfo(patient.time_zone)),
        amount=amount,
        unit=lot.unit,
        source="self_report" if k % 2 == 0 else "clinician",
        idempotency_key=f"demo-{patient.code}-{d}-{k}",
    )


def dose_history(
    patient: Patient, lot: DemoLot, index: int, *, days: int, today: dt.date, rng: np.random.Generator
) -> list[actions.DoseIn]:
    """Patient ``index``'s doses over the ``days`` before ``today``: 1-3 a day, one more when escalating."""
    pattern = PATTERNS[index % len(PATTERNS)]
    per_day = 1 + int(rng.integers(0, 3))
    doses: list[actions.DoseIn] = []
    for d in range(days):
        factor = _factor(pattern, d, days)
        if factor == 0.0:
            continue
        late = pattern == "escalating" and d >= days - STEP_UP_DAYS
        day = today - dt.timedelta(days=days - d)
        doses.extend(
            _dose(patient, lot, d=d, k=k, day=day, factor=factor, late=late, rng=rng)
            for k in range(per_day + (1 if late else 0))
        )
    return doses


def import_demo_doses(actor: Actor, doses: Sequence[actions.DoseIn], now: dt.datetime) -> int:
    """Import every demo dose in one batch (numbered from 1); any rejected dose is a bug in the demo."""
    result = actions.import_doses(actor=actor, rows=list(enumerate(doses, start=1)), now=now)
    if not result.ok:
        line, exc = result.rejected[0]
        raise RuntimeError(f"demo dose {line} rejected: {exc.field}={exc.value!r}: {exc.message}")
    return result.created
