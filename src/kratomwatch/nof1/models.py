"""N-of-1 trials: one patient, two or more clinician-described conditions in randomized periods.

The clinician describes the conditions (and may copy a daily mg target from the care plan); kratomwatch randomizes,
schedules, measures, checks adherence and analyses. It never proposes a condition or a dose.

Lifecycle: ``draft`` (design editable) -> ``signed`` (protocol frozen as a PDF, signed by the clinician and the
patient: consent scope "n-of-1") -> ``active`` (started: the seeded schedule is dated and stored) -> ``completed``
(the last period ended) or ``stopped`` (a stopping rule, the clinician, or the patient's withdrawal, with a reason).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from kratomwatch.records.models import Patient

CONSENT_SCOPE = "n-of-1"
"""The consent scope the trial protocol's signatures stand for (recorded in the audit trail of each signature)."""


class TrialStatus(models.TextChoices):
    DRAFT = "draft", "Draft: being designed"
    SIGNED = "signed", "Protocol signed: ready to start"
    ACTIVE = "active", "Running"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped early"


class Trial(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="nof1_trials")
    title = models.CharField(max_length=200)
    question = models.TextField(blank=True, help_text="The question the patient and clinician want answered")
    status = models.CharField(max_length=12, choices=TrialStatus.choices, default=TrialStatus.DRAFT)
    # Outcomes: the primary is a scored instrument already in the system (its valid total per local day).
    primary_instrument = models.CharField(max_length=32)
    lower_is_better = models.BooleanField(default=True)
    measure_every_days = models.PositiveIntegerField(default=1, help_text="Primary outcome schedule, in days")
    secondary_instruments = models.JSONField(default=list, blank=True, help_text="[{instrument_id, every_days}]")
    mcid = models.FloatField(null=True, blank=True, help_text="Minimal clinically important difference")
    mcid_source = models.CharField(max_length=300, blank=True, help_text="Citation, or the program's label")
    mcid_program_choice = models.BooleanField(default=False)
    # Design.
    period_days = models.PositiveIntegerField()
    blocks = models.PositiveIntegerField()
    washout_days = models.PositiveIntegerField(default=0)
    run_in_days = models.PositiveIntegerField(default=0)
    blinded = models.BooleanField(default=False, help_text="The schedule is shown to no one until the trial ends")
    stopping_rules = models.JSONField(default=list, blank=True, help_text="The clinician's stopping rules (text)")
    seed = models.BigIntegerField(help_text="Randomization seed (numpy PCG64), recorded so the order is reproducible")
    # Protocol and signatures (consent scope "n-of-1").
    protocol_pdf = models.BinaryField(null=True, blank=True)
    protocol_sha256 = models.CharField(max_length=64, blank=True)
    clinician_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clinician_signed_at = models.DateTimeField(null=True, blank=True)
    patient_signed_name = models.CharField(max_length=200, blank=True)
    patient_signed_at = models.DateTimeField(null=True, blank=True)
    # Running.
    start_date = models.DateField(null=True, blank=True, help_text="First day of the run-in (patient's local date)")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.TextField(blank=True)
    withdrawn = models.BooleanField(default=False, help_text="Stopped because the patient withdrew (consent n-of-1)")
    prior_schedules = models.JSONField(
        default=dict,
        blank=True,
        help_text="The patient's questionnaire schedules the start replaced ({instrument: {every_days, start, active}"
        " or null}), restored when the trial ends",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TrialStatus.values), name="nof1_status_valid"),
            models.CheckConstraint(condition=Q(blocks__gte=2), name="nof1_at_least_two_blocks"),
            models.CheckConstraint(
                condition=Q(washout_days__lt=models.F("period_days")), name="nof1_washout_lt_period"
            ),
            # One running trial per patient: two would confound each other.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="nof1_one_active_trial_per_patient"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Condition(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="conditions")
    code = models.CharField(max_length=8, help_text="Short code: A, B, ...")
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True, help_text="What the patient does in this condition, in their words")
    is_reference = models.BooleanField(default=False)
    target_mitragynine_mg = models.FloatField(null=True, blank=True, help_text="Daily target (clinician's)")
    target_seven_oh_mg = models.FloatField(null=True, blank=True, help_text="Daily target (clinician's)")

    class Meta:
        ordering = ["trial", "code"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "code"], name="nof1_condition_code_unique"),
            models.UniqueConstraint(
                fields=["trial"], condition=Q(is_reference=True), name="nof1_one_reference_per_trial"
            ),
            models.CheckConstraint(
                condition=Q(target_mitragynine_mg__isnull=True) | Q(target_mitragynine_mg__gte=0),
                name="nof1_target_mit_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(target_seven_oh_mg__isnull=True) | Q(target_seven_oh_mg__gte=0),
                name="nof1_target_7oh_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.label}"


class Period(models.Model):
    """A dated period of the randomized schedule (stored when the trial starts)."""

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="periods")
    position = models.PositiveIntegerField(help_text="1 = the first period of the trial")
    block = models.PositiveIntegerField()
    condition = models.ForeignKey(Condition, on_delete=models.PROTECT, related_name="periods")
    start = models.DateField()
    end = models.DateField(help_text="Inclusive")
    analysed_from = models.DateField(help_text="First day after the washout")

    class Meta:
        ordering = ["trial", "position"]
        constraints = [models.UniqueConstraint(fields=["trial", "position"], name="nof1_period_position_unique")]
