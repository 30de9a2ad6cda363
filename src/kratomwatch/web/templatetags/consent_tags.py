"""Template filter for the patient's own pages: may care data be recorded for this patient now?

``{% load consent_tags %}{% if patient|care_allowed %}...{% endif %}``: active care consent or an unexpired
clinician override (``consent.status.care_allowed``, the rule the write path enforces), so a page offers only
actions that will not be refused.
"""

from __future__ import annotations

from django import template

from kratomwatch.consent import status
from kratomwatch.records.models import Patient

register = template.Library()


@register.filter
def care_allowed(patient: Patient) -> bool:
    return status.care_allowed(patient)
