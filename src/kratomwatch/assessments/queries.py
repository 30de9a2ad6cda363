"""Read selectors for a patient's questionnaire results.

Contract: every function takes a patient already fetched through ``kratomwatch.access`` (or patient ids that
came from an access-scoped queryset); selectors check no permission and write nothing. "Valid" means every
scale of the instrument could be scored (``Assessment.valid``): charts and the dashboard show only those.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import OuterRef, QuerySet, Subquery

from kratomwatch.assessments.models import Assessment, Schedule
from kratomwatch.records.models import Patient


def assessments_of(patient: Patient) -> QuerySet[Assessment]:
    """The patient's assessments, newest first (slice it for a "recent" list)."""
    return Assessment.objects.filter(patient=patient).order_by("-administered_at", "-id")


def assessment_of(patient: Patient, assessment_id: int) -> Assessment | None:
    """One assessment of this patient by id; None when missing or another patient's (the two look the same)."""
    return Assessment.objects.filter(pk=assessment_id, patient=patient).first()


def valid_since(patient: Patient, instrument_ids: Sequence[str], since: dt.datetime) -> dict[str, list[Assessment]]:
    """The patient's valid assessments of ``instrument_ids`` administered from ``since`` on, oldest first,
    grouped by instrument (instruments without one are absent)."""
    out: dict[str, list[Assessment]] = defaultdict(list)
    rows = Assessment.objects.filter(
        patient=patient, instrument_id__in=list(instrument_ids), valid=True, administered_at__gte=since
    ).order_by("administered_at", "id")
    for a in rows:
        out[a.instrument_id].append(a)
    return dict(out)


def latest_valid_scores(patient_ids: Iterable[int], instrument_ids: Sequence[str]) -> dict[int, dict[str, Assessment]]:
    """The latest valid assessment per (patient, instrument), in one query (a correlated subquery).

    ``patient_ids`` must come from an access-scoped patient list."""
    newest = (
        Assessment.objects.filter(patient=OuterRef("patient"), instrument_id=OuterRef("instrument_id"), valid=True)
        .order_by("-administered_at", "-id")
        .values("id")[:1]
    )
    rows = Assessment.objects.filter(
        patient_id__in=list(patient_ids), instrument_id__in=list(instrument_ids), valid=True, id=Subquery(newest)
    )
    out: dict[int, dict[str, Assessment]] = defaultdict(dict)
    for a in rows:
        out[a.patient_id][a.instrument_id] = a
    return dict(out)


def schedules_of(patient: Patient, instrument_ids: Sequence[str]) -> dict[str, Schedule]:
    """The patient's schedules of these instruments, by instrument id (absent: none)."""
    rows = Schedule.objects.filter(patient=patient, instrument_id__in=list(instrument_ids))
    return {row.instrument_id: row for row in rows}
