"""Versioned consent documents per program, signatures per scope, withdrawals, and clinician overrides.

A signature is never edited: withdrawing sets ``withdrawn_at`` once; re-consenting to a new version
creates a new record. The signed text is frozen as a PDF (with its SHA-256) at signing time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from kratomwatch.accounts.models import Program
from kratomwatch.records.models import Patient


class Scope(models.TextChoices):
    CARE = "care", "Care: record and review my kratom use and health data"
    RESEARCH = "research", "Research: include my de-identified data in research exports"
    DATA_SHARING = "data_sharing", "Data sharing: share my data with partners named in the document"


class ConsentDocument(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="consent_documents")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    scopes = models.JSONField(help_text="Scopes this document asks for")
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["program", "-version"]
        constraints = [models.UniqueConstraint(fields=["program", "version"], name="consent_document_version")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class ConsentRecord(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="records")
    scope = models.CharField(max_length=20, choices=Scope.choices)
    signed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-signed_at"]
        indexes = [models.Index(fields=["patient", "scope", "withdrawn_at"], name="consent_active")]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=Scope.values), name="consent_scope_valid"),
            models.UniqueConstraint(
                fields=["patient", "document", "scope"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_document_scope",
            ),
            models.CheckConstraint(condition=~Q(signed_name=""), name="consent_signed_name_not_empty"),
        ]


class OverrideGrounds(models.TextChoices):
    """Why the care team may record care data without the patient's care consent (one is required)."""

    CLINICAL_SAFETY = "clinical_safety", "Clinical safety: monitoring an active risk"
    VITAL_INTEREST = "vital_interest", "Emergency: the patient cannot consent now and recording protects them"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation: a court order, statute or mandatory report"
    AWAITING_SIGNATURE = "awaiting_signature", "Consent pending: enrolled, not yet able to sign"
    UNSTATED = "unstated", "Not stated (an override recorded before grounds were required)"


GROUNDS_AFTER_WITHDRAWAL = (
    OverrideGrounds.CLINICAL_SAFETY,
    OverrideGrounds.VITAL_INTEREST,
    OverrideGrounds.LEGAL_OBLIGATION,
)
"""The grounds a clinician may give for an override after the patient withdrew care consent."""

GROUNDS_BEFORE_FIRST_SIGNATURE = (*GROUNDS_AFTER_WITHDRAWAL, OverrideGrounds.AWAITING_SIGNATURE)
"""The grounds a clinician may give while the patient has never consented."""


class CareOverride(models.Model):
    """A clinician's documented decision that the care team records care data without active care consent.

    It covers care-team recording only (never the patient's own self-reports, never research), lasts the program's
    override hours, and belongs to one gap in consent: ``withdrawal`` is the withdrawn care signature it follows
    (None: the patient never consented). It ends when it expires or when the patient signs again (``ended_at``).
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_overrides")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    clinician_role = models.CharField(max_length=20, default="clinician")
    grounds = models.CharField(max_length=30, choices=OverrideGrounds.choices, default=OverrideGrounds.UNSTATED)
    reason = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    withdrawal = models.ForeignKey(
        ConsentRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="care_overrides"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["patient", "expires_at"], name="care_override_patient")]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="care_override_reason"),
            models.CheckConstraint(condition=Q(grounds__in=OverrideGrounds.values), name="care_override_grounds"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="care_override_expiry"),
        ]
