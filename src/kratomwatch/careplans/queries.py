"""Read selectors for a patient's care plan and the clinician-entered taper.

Contract: functions take a patient already fetched through ``kratomwatch.access`` and check no permission.
kratomwatch never proposes a dose: a taper step is only what a clinician entered, read back as stored.
"""

from __future__ import annotations

from kratomwatch.careplans.models import CarePlan, TaperStep
from kratomwatch.records.models import Patient


def care_plan(patient: Patient) -> CarePlan | None:
    """The patient's care plan (with the user who last changed it), or None when there is none yet."""
    return CarePlan.objects.filter(patient=patient).select_related("updated_by").first()


def taper_steps(plan: CarePlan | None) -> list[TaperStep]:
    """The plan's taper steps, earliest start first (none without a plan)."""
    if plan is None:
        return []
    return list(TaperStep.objects.filter(plan=plan).order_by("start"))
