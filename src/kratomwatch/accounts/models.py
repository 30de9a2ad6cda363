"""Programs (clinics or study sites), memberships with roles, and revocable API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


class Program(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    PROGRAM_ADMIN = "program_admin", "Program admin"
    RESEARCHER = "researcher", "Researcher"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "program", "role"], name="membership_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} @ {self.program}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """Only the SHA-256 of a token is stored; the raw token is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def new_raw() -> str:
        return "kw_" + secrets.token_urlsafe(32)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"


class ProgramSettings(models.Model):
    """A program's own values for the settings in :class:`kratomwatch.core.rules.RuleConfig` (name -> value).

    Only the overridden names are stored; the rest come from the deployment's defaults (environment). Read
    through ``accounts/program_settings.py`` only. The table keeps its first name (it began as the alert rules'
    configuration).
    """

    program = models.OneToOneField(Program, on_delete=models.CASCADE, related_name="program_settings")
    overrides = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "alerts_programruleconfig"

    def __str__(self) -> str:
        return f"settings of program {self.program_id}"


class PatientInvite(models.Model):
    """A one-time invitation for a patient to create their own login (``accounts/invites.py``).

    Only the SHA-256 of the token is stored; the token is shown once, to the clinician who made it. An invite
    expires, is used at most once and can be revoked. The patient is referred to by name only: ``accounts`` sits
    below ``records`` and imports nothing from it.
    """

    patient = models.ForeignKey("records.Patient", on_delete=models.CASCADE, related_name="invites")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invite {self.pk} for patient {self.patient_id}"
