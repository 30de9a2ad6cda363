"""The clinical record. Per-record state and database constraints live here; writes go through
``records.actions`` and reads through ``kratomwatch.access``."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from kratomwatch.accounts.models import Program
from kratomwatch.core import exposure
from kratomwatch.core.units import Basis, ContentUnit, Form, Unit


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown / not stated"


class Condition(models.TextChoices):
    CHRONIC_PAIN = "chronic_pain", "Chronic pain"
    NEUROPATHIC_PAIN = "neuropathic_pain", "Neuropathic pain"
    ADHD = "adhd", "ADHD"
    OPIOID_USE_DISORDER = "opioid_use_disorder", "Opioid use disorder"
    KRATOM_USE_DISORDER = "kratom_use_disorder", "Kratom use disorder"
    DEPRESSION = "depression", "Depression"
    ANXIETY = "anxiety", "Anxiety"
    OTHER = "other", "Other"


class Patient(models.Model):
    HISTORY_FIELDS: tuple[str, ...] = (
        "pregnant",
        "breastfeeding",
        "liver_disease",
        "seizure_disorder",
        "cardiac_qt",
        "respiratory_disease",
    )
    """The yes/no clinical history the safety rules read (one list for actions, snapshots and schemas)."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="patients")
    code = models.CharField(max_length=32, unique=True, help_text="Pseudonymous patient code")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="patient"
    )
    birth_year = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    time_zone = models.CharField(max_length=64)
    jurisdiction = models.CharField(max_length=10, help_text="ISO 3166-1 alpha-2 or ISO 3166-2 code")
    pregnant = models.BooleanField(default=False)
    breastfeeding = models.BooleanField(default=False)
    liver_disease = models.BooleanField(default=False)
    seizure_disorder = models.BooleanField(default=False)
    cardiac_qt = models.BooleanField(default=False, help_text="Cardiac disease or QT prolongation")
    respiratory_disease = models.BooleanField(default=False)
    enrolled_on = models.DateField(
        null=True, blank=True, help_text="Day the patient joined the program (their zone); empty = the day of entry"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(birth_year__gte=1900) & Q(birth_year__lte=2100), name="patient_birth_year_range"
            ),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="patient_sex_valid"),
            models.CheckConstraint(condition=~Q(code=""), name="patient_code_not_empty"),
        ]

    def __str__(self) -> str:
        return self.code

    def local_today(self, now: dt.datetime | None = None) -> dt.date:
        """Today on the patient's own calendar (the day their doses, daily exposure and schedules count on)."""
        return exposure.local_date(now or timezone.now(), exposure.zone(self.time_zone))

    @property
    def condition_codes(self) -> list[str]:
        return sorted(c.code for c in self.conditions.all())


class PatientCondition(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="conditions")
    code = models.CharField(max_length=32, choices=Condition.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "code"], name="patient_condition_unique"),
            models.CheckConstraint(condition=Q(code__in=Condition.values), name="patient_condition_valid"),
        ]


class Product(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="products")
    vendor = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    form = models.CharField(max_length=20, choices=[(f.value, f.value.replace("_", " ")) for f in Form])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor", "name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "vendor", "name"], name="product_unique"),
            models.CheckConstraint(condition=Q(form__in=[f.value for f in Form]), name="product_form_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.name}"


class Lot(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_code = models.CharField(max_length=64)
    # Lab certificate (all four of content unit, mitragynine, 7-OH and lab name, or none).
    cert_content_unit = models.CharField(max_length=8, blank=True, choices=[(c.value, c.value) for c in ContentUnit])
    cert_mitragynine = models.FloatField(null=True, blank=True)
    cert_seven_oh = models.FloatField(null=True, blank=True)
    cert_other_alkaloids = models.JSONField(default=dict, blank=True)
    cert_lab_name = models.CharField(max_length=200, blank=True)
    cert_test_date = models.DateField(null=True, blank=True)
    unit_mass_mg = models.FloatField(null=True, blank=True)
    grams_per_teaspoon = models.FloatField(null=True, blank=True)
    recalled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_code"], name="lot_unique"),
            models.CheckConstraint(
                condition=(
                    Q(cert_content_unit="", cert_mitragynine__isnull=True, cert_seven_oh__isnull=True)
                    | (~Q(cert_content_unit="") & Q(cert_mitragynine__gte=0) & Q(cert_seven_oh__gte=0))
                ),
                name="lot_certificate_complete",
            ),
            models.CheckConstraint(
                condition=Q(unit_mass_mg__isnull=True) | Q(unit_mass_mg__gt=0), name="lot_unit_mass_positive"
            ),
            models.CheckConstraint(
                condition=Q(grams_per_teaspoon__isnull=True) | Q(grams_per_teaspoon__gt=0),
                name="lot_g_per_tsp_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} lot {self.lot_code}"

    @property
    def has_certificate(self) -> bool:
        return bool(self.cert_content_unit)


class Correctable(models.Model):
    """A clinical entry that can be voided or corrected, never silently changed or deleted.

    Voiding sets ``voided_at``, ``voided_by`` and ``void_reason``; the row stays in the record and the audit trail.
    A correction voids the original and creates a new entry whose ``corrects`` points at it. Every read that feeds
    exposure, alerts, pages or exports filters ``voided_at__isnull=True`` (``records.corrections.ACTIVE``)."""

    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    void_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by", db_index=False
    )

    class Meta:
        abstract = True


class DoseSource(models.TextChoices):
    SELF_REPORT = "self_report", "Self-report"
    CLINICIAN = "clinician", "Clinician"
    IMPORT = "import", "Import"


class Dose(Correctable):
    # No single-column FK indexes: (patient, ...) is the prefix of dose_patient_day, dose_patient_time
    # and dose_idempotent, and dose_lot indexes lot. One fewer index write per dose per FK.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="doses", db_index=False)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="doses", db_index=False)
    taken_at = models.DateTimeField()
    # The patient's calendar day and wall-clock minute at the time of the dose, fixed at write time
    # in the patient's time zone then, so that registry-wide daily sums are plain SQL GROUP BYs.
    local_date = models.DateField()
    local_minute = models.PositiveSmallIntegerField()
    amount = models.FloatField()
    unit = models.CharField(max_length=12, choices=[(u.value, u.value) for u in Unit])
    source = models.CharField(max_length=12, choices=DoseSource.choices)
    idempotency_key = models.CharField(max_length=128)
    mitragynine_mg = models.FloatField(null=True, blank=True)
    seven_oh_mg = models.FloatField(null=True, blank=True)
    basis = models.CharField(max_length=12, choices=[(b.value, b.value) for b in Basis])
    mitragynine_low_mg = models.FloatField(null=True, blank=True)
    mitragynine_high_mg = models.FloatField(null=True, blank=True)
    seven_oh_share_percent = models.FloatField(null=True, blank=True)
    enhanced = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["taken_at"]
        indexes = [
            models.Index(fields=["patient", "local_date"], name="dose_patient_day"),
            models.Index(fields=["patient", "taken_at"], name="dose_patient_time"),
            models.Index(fields=["lot"], name="dose_lot"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["patient", "idempotency_key"], name="dose_idempotent"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="dose_amount_positive"),
            models.CheckConstraint(condition=Q(unit__in=[u.value for u in Unit]), name="dose_unit_valid"),
            models.CheckConstraint(condition=Q(basis__in=[b.value for b in Basis]), name="dose_basis_valid"),
            models.CheckConstraint(condition=Q(source__in=DoseSource.values), name="dose_source_valid"),
            models.CheckConstraint(condition=Q(local_minute__lt=1440), name="dose_local_minute_range"),
            models.CheckConstraint(
                condition=Q(basis=Basis.UNKNOWN.value, mitragynine_mg__isnull=True)
                | (~Q(basis=Basis.UNKNOWN.value) & Q(mitragynine_mg__gte=0)),
                name="dose_mg_matches_basis",
            ),
        ]


class DailyExposure(models.Model):
    """Registry-wide daily sums per patient-local day, refreshed set-based from doses.

    Derived data: every row is computed by ``actions.refresh_daily_exposure`` from doses whose
    ``patient_id`` is already FK-checked (``Dose.patient`` is PROTECT), so the database FK is not
    created (``db_constraint=False``): checking it again costs one RI query per daily row, most of
    a full rebuild on PostgreSQL. Deleting a patient still cascades here through the ORM. The
    unique (patient, day) index serves lookups by patient, so there is no separate patient index.
    (A composite primary key without ``id`` would save another ~20% of the rebuild INSERT on
    PostgreSQL, but queries such as ``Count("id")`` in alerts rely on ``id``.)
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="daily_exposure", db_constraint=False, db_index=False
    )
    day = models.DateField()
    mitragynine_mg = models.FloatField()
    seven_oh_mg = models.FloatField()
    doses = models.PositiveIntegerField()
    unknown_doses = models.PositiveIntegerField()
    estimated_doses = models.PositiveIntegerField()
    first_dose_minute = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "day"], name="daily_exposure_unique")]


class Medication(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200, help_text="Ingredient or product name as entered")
    dose_text = models.CharField(max_length=200, blank=True)
    start = models.DateField(null=True, blank=True)
    stop = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stop__isnull=True) | Q(start__isnull=True) | Q(stop__gte=models.F("start")),
                name="medication_stop_after_start",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="medication_name_not_empty"),
        ]


class LabTest(models.TextChoices):
    ALT = "alt", "ALT"
    AST = "ast", "AST"
    ALP = "alp", "ALP"
    TOTAL_BILIRUBIN = "total_bilirubin", "Total bilirubin"
    QTC = "qtc", "QTc"
    SODIUM = "sodium", "Sodium"


#: Accepted units per test. Liver enzymes in U/L (IU/L is the same unit); bilirubin in mg/dL or
#: µmol/L; QTc in milliseconds; serum sodium in mmol/L (mEq/L is numerically the same for a monovalent ion).
LAB_UNITS: dict[str, tuple[str, ...]] = {
    LabTest.ALT: ("U/L",),
    LabTest.AST: ("U/L",),
    LabTest.ALP: ("U/L",),
    LabTest.TOTAL_BILIRUBIN: ("mg/dL", "umol/L"),
    LabTest.QTC: ("ms",),
    LabTest.SODIUM: ("mmol/L", "mEq/L"),
}


class LabResult(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="labs")
    test = models.CharField(max_length=20, choices=LabTest.choices)
    value = models.FloatField()
    unit = models.CharField(max_length=10)
    upper_limit_normal = models.FloatField(null=True, blank=True)
    lower_limit_normal = models.FloatField(null=True, blank=True)
    taken_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["patient", "test", "taken_at"], name="lab_patient_test_time")]
        constraints = [
            models.CheckConstraint(condition=Q(test__in=LabTest.values), name="lab_test_valid"),
            models.CheckConstraint(condition=Q(value__gte=0), name="lab_value_non_negative"),
            models.CheckConstraint(
                condition=Q(upper_limit_normal__isnull=True) | Q(upper_limit_normal__gt=0),
                name="lab_uln_positive",
            ),
        ]


class Seriousness(models.TextChoices):
    """ICH E2A criteria for a serious adverse event."""

    DEATH = "death", "Results in death"
    LIFE_THREATENING = "life_threatening", "Is life-threatening"
    HOSPITALIZATION = "hospitalization", "Requires or prolongs hospitalization"
    DISABILITY = "disability", "Persistent or significant disability or incapacity"
    CONGENITAL_ANOMALY = "congenital_anomaly", "Congenital anomaly or birth defect"
    MEDICALLY_IMPORTANT = "medically_important", "Other medically important event"


class AeOutcome(models.TextChoices):
    RECOVERED = "recovered", "Recovered/resolved"
    RECOVERING = "recovering", "Recovering/resolving"
    NOT_RECOVERED = "not_recovered", "Not recovered/not resolved"
    SEQUELAE = "recovered_with_sequelae", "Recovered with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class Causality(models.TextChoices):
    """WHO-UMC causality categories."""

    CERTAIN = "certain", "Certain"
    PROBABLE = "probable", "Probable/likely"
    POSSIBLE = "possible", "Possible"
    UNLIKELY = "unlikely", "Unlikely"
    CONDITIONAL = "conditional", "Conditional/unclassified"
    UNASSESSABLE = "unassessable", "Unassessable/unclassifiable"


class ActionTaken(models.TextChoices):
    NONE = "none", "No change"
    REDUCED = "kratom_reduced", "Kratom reduced"
    STOPPED = "kratom_stopped", "Kratom stopped"
    INTERRUPTED = "kratom_interrupted", "Kratom interrupted"
    UNKNOWN = "unknown", "Unknown"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class AdverseEvent(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    term = models.CharField(max_length=200)
    onset = models.DateField()
    grade = models.PositiveSmallIntegerField(help_text="CTCAE grade 1-5")
    seriousness = models.JSONField(default=list, blank=True, help_text="ICH E2A criteria met")
    outcome = models.CharField(max_length=30, choices=AeOutcome.choices)
    causality = models.CharField(max_length=20, choices=Causality.choices)
    action_taken = models.CharField(max_length=30, choices=ActionTaken.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-onset"]
        constraints = [
            models.CheckConstraint(condition=Q(grade__gte=1) & Q(grade__lte=5), name="ae_grade_range"),
            models.CheckConstraint(condition=Q(outcome__in=AeOutcome.values), name="ae_outcome_valid"),
            models.CheckConstraint(condition=Q(causality__in=Causality.values), name="ae_causality_valid"),
            models.CheckConstraint(condition=Q(action_taken__in=ActionTaken.values), name="ae_action_valid"),
            models.CheckConstraint(condition=~Q(term=""), name="ae_term_not_empty"),
        ]

    @property
    def serious(self) -> bool:
        return bool(self.seriousness)
