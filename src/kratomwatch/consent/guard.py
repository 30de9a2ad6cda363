"""Care data may be recorded only with active care consent, or, by the care team only, under an unexpired,
documented clinician override.

Called by the people-facing adapters (API, web pages) before they record care data. The default is the strict
rule of a patient's own self-report, which an override never covers; the care team's paths pass
``care_team=True``. System jobs (imports of historical data, the synthetic demo, alert sweeps) do not pass through
it.
"""

from __future__ import annotations

import datetime as dt

from kratomwatch.consent.status import care_allowed
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient


class ConsentRequired(InputError):
    code = "consent_required"


def require_care_consent(patient: Patient, now: dt.datetime | None = None, *, care_team: bool = False) -> None:
    if care_allowed(patient, now, care_team=care_team):
        return
    if care_team:
        message = (
            f"{patient.code} has no active care consent: the patient must sign it, or a clinician must document "
            "an override, before care data can be recorded"
        )
    else:
        message = (
            f"{patient.code} has no active care consent: the patient must sign it before care data can be "
            "recorded (a clinician's override covers only the care team's recording, never self-reports)"
        )
    raise ConsentRequired("consent", "care", message)
