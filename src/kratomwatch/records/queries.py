"""Read selectors for one patient's record: doses, daily exposure, medications, labs and adverse events.

Contract: every function takes a patient already fetched through ``kratomwatch.access`` (or patient ids that
came from an access-scoped queryset) and reads only rows anchored to it. Selectors check no permission and
write nothing; scoping is ``kratomwatch.access``'s job, so a view never writes ``Dose.objects`` itself.
Orders are the ones the pages show (oldest dose of a day first, newest adverse event and lab first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from kratomwatch.records.corrections import ACTIVE
from kratomwatch.records.models import AdverseEvent, DailyExposure, Dose, LabResult, Medication, Patient


def _shown(include_voided: bool) -> Q:
    return Q() if include_voided else ACTIVE


# --- doses -----------------------------------------------------------------------------------------------


def doses_on(patient: Patient, day: dt.date) -> QuerySet[Dose]:
    """The patient's doses of one local calendar day, in the order they were taken (with lot and product)."""
    return (
        Dose.objects.filter(patient=patient, local_date=day).select_related("lot__product").order_by("taken_at", "id")
    )


def last_dose(patient: Patient) -> Dose | None:
    """The patient's most recent dose not voided (the one a patient may repeat in two taps), or None."""
    doses = Dose.objects.filter(ACTIVE, patient=patient).select_related("lot__product")
    return doses.order_by("-taken_at", "-id").first()


def dose_by_key(patient: Patient, idempotency_key: str) -> Dose | None:
    """The dose this patient already recorded under ``idempotency_key`` (a repeated submit), or None."""
    return Dose.objects.filter(patient=patient, idempotency_key=idempotency_key).first()


def dose_of(patient: Patient, dose_id: int) -> Dose | None:
    """One dose of this patient by id; None when it is missing or another patient's (the two look the same)."""
    return Dose.objects.filter(pk=dose_id, patient=patient).select_related("lot__product").first()


# --- daily exposure --------------------------------------------------------------------------------------


def daily_rows(patient: Patient, start: dt.date, end: dt.date) -> QuerySet[DailyExposure]:
    """The patient's materialized daily exposure rows from ``start`` to ``end`` inclusive, oldest first.

    Days without a recorded dose have no row (a gap, not zero)."""
    return DailyExposure.objects.filter(patient=patient, day__gte=start, day__lte=end).order_by("day")


def daily_on(patient: Patient, day: dt.date) -> DailyExposure | None:
    """The patient's daily exposure row for one local day, or None when nothing was recorded that day."""
    return DailyExposure.objects.filter(patient=patient, day=day).first()


def daily_mg_rows(patient_ids: Iterable[int], start: dt.date, end: dt.date) -> list[tuple[int, dt.date, float]]:
    """``(patient_id, day, mg mitragynine)`` for many patients in one query (the dashboard sparklines).

    ``patient_ids`` must come from an access-scoped patient list."""
    rows = DailyExposure.objects.filter(patient_id__in=list(patient_ids), day__gte=start, day__lte=end)
    return list(rows.values_list("patient_id", "day", "mitragynine_mg"))


def daily_exposure_values(
    patient_ids: Iterable[int], start: dt.date, end: dt.date
) -> list[tuple[int, dt.date, float, float]]:
    """``(patient_id, day, mg mitragynine, mg 7-OH)`` for many patients in one query (the dashboard columns).

    ``patient_ids`` must come from an access-scoped patient list."""
    rows = DailyExposure.objects.filter(patient_id__in=list(patient_ids), day__gte=start, day__lte=end)
    return list(rows.values_list("patient_id", "day", "mitragynine_mg", "seven_oh_mg"))


def daily_estimate_ranges(
    patient_ids: Iterable[int], start: dt.date, end: dt.date
) -> list[tuple[int, dt.date, float, float]]:
    """``(patient_id, day, low mg, high mg)`` of mitragynine for the days that hold an estimated dose with a range
    (an uncalibrated teaspoon): a ranged dose counts its low and high, any other counted dose its mg on both sides.
    Voided doses and doses of unknown potency are left out. ``patient_ids`` must come from an access-scoped list."""
    rows = (
        Dose.objects.filter(
            patient_id__in=list(patient_ids),
            local_date__gte=start,
            local_date__lte=end,
            voided_at__isnull=True,
            mitragynine_mg__isnull=False,
        )
        .values("patient_id", "local_date")
        .annotate(
            low=Sum(Coalesce("mitragynine_low_mg", "mitragynine_mg")),
            high=Sum(Coalesce("mitragynine_high_mg", "mitragynine_mg")),
            ranged=Count("id", filter=Q(mitragynine_low_mg__isnull=False)),
        )
        .filter(ranged__gt=0)
        .order_by()
    )
    return [(r["patient_id"], r["local_date"], float(r["low"]), float(r["high"])) for r in rows]


# --- clinical record -------------------------------------------------------------------------------------


def medications(
    patient: Patient, *, current_on: dt.date | None = None, include_voided: bool = False
) -> list[Medication]:
    """The patient's medications (latest start first); with ``current_on``, only those not stopped before that
    day. Voided entries only with ``include_voided`` (the record as entered, for the pages that mark them)."""
    meds = list(Medication.objects.filter(patient=patient).filter(_shown(include_voided)).order_by("-start", "name"))
    if current_on is None:
        return meds
    return [m for m in meds if m.stop is None or m.stop >= current_on]


def labs(patient: Patient, *, include_voided: bool = False) -> list[LabResult]:
    """The patient's lab results, newest first (voided ones only with ``include_voided``)."""
    return list(LabResult.objects.filter(patient=patient).filter(_shown(include_voided)).order_by("-taken_at"))


def adverse_events(patient: Patient, *, include_voided: bool = False) -> list[AdverseEvent]:
    """The patient's adverse events, newest onset first (voided ones only with ``include_voided``)."""
    return list(AdverseEvent.objects.filter(patient=patient).filter(_shown(include_voided)).order_by("-onset"))


def adverse_event_of(patient: Patient, event_id: int) -> AdverseEvent | None:
    """One adverse event of this patient by id; None when missing or another patient's."""
    return AdverseEvent.objects.filter(pk=event_id, patient=patient).first()


# --- dose lists (the API's dose list, the CLI export) --------------------------------------------------


def doses_of(patient: Patient, *, since: dt.date | None = None, include_voided: bool = False) -> QuerySet[Dose]:
    """The patient's doses, newest first; with ``since``, only those of that local day or later; voided ones only
    with ``include_voided``."""
    qs = Dose.objects.filter(patient=patient).filter(_shown(include_voided)).order_by("-taken_at")
    return qs.filter(local_date__gte=since) if since is not None else qs


def doses_of_patients(patients: QuerySet[Patient]) -> QuerySet[Dose]:
    """The doses of ``patients`` (an access-scoped queryset), by patient code then time taken (the export order);
    voided doses are left out."""
    return Dose.objects.filter(ACTIVE, patient__in=patients).order_by("patient__code", "taken_at")
