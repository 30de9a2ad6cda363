"""Per-patient exposure summary: loads one patient's doses and applies the pure core."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.db.models import Count

from kratomwatch.core import exposure
from kratomwatch.records.corrections import ACTIVE
from kratomwatch.records.models import Patient

NOTE = (
    "Daily sums are on the patient's local calendar. Doses of unknown potency are counted but never "
    "imputed; estimated doses use a published reference content. kratomwatch reports exposure; it "
    "never recommends a dose."
)


def dose_events(patient: Patient, start: dt.date, end: dt.date) -> list[exposure.DoseEvent]:
    rows = patient.doses.filter(
        ACTIVE, local_date__gte=start - dt.timedelta(days=1), local_date__lte=end + dt.timedelta(days=1)
    )
    return [exposure.DoseEvent(t, m, s) for t, m, s in rows.values_list("taken_at", "mitragynine_mg", "seven_oh_mg")]


def exposure_summary(patient: Patient, as_of: dt.date, days: int = 35) -> dict[str, Any]:
    tz = exposure.zone(patient.time_zone)
    window = max(days, exposure.RECENT_DAYS + exposure.BASELINE_DAYS)
    start = as_of - dt.timedelta(days=window - 1)
    events = dose_events(patient, start, as_of)
    daily = exposure.daily_exposure(events, tz, start=as_of - dt.timedelta(days=days - 1), end=as_of)
    trend = exposure.trend(events, tz, as_of)
    by_basis = dict(patient.doses.filter(ACTIVE).values_list("basis").annotate(n=Count("id")).values_list("basis", "n"))
    return {
        "patient_code": patient.code,
        "time_zone": patient.time_zone,
        "as_of": as_of,
        "days": [asdict(d) | {"day": d.day} for d in daily],
        "trend": asdict(trend),
        "doses_by_basis": by_basis,
        "note": NOTE,
    }
