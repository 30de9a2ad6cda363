"""Care data may be recorded only with active care consent or an unexpired, documented clinician override.

Called by the people-facing adapters (API, web pages) before they record care data. System jobs
(imports of historical data, the synthetic demo, alert sweeps) do not pass through it.
"""

from __future__ import annotations

import datetime as dt

from kratomwatch.consent.status import care_allowed
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient


class ConsentRequired(InputError):
    code = "consent_required"


def require_care_consent(patient: Patient, now: dt.datetime | None = None) -> None:
    if not care_allowed(patient, now):
        raise ConsentRequired(
            "consent",
            "care",
            f"{patient.code} has no active care consent: the patient must sign it, or a clinician must document "
            "an override, before care data can be recorded",
        )
