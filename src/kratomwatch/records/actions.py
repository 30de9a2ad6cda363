"""The only write path for the clinical record: writes, and nothing else.

Every function is keyword-only, runs under ``transaction.atomic`` and writes its audit event, so a
failure leaves nothing half-written. Views, API, CLI and importers call these; nothing else writes.
A write that changes an input of an alert rule is declared with ``writes.alert_input_write`` and so
re-evaluates the touched patients' alerts through the one hook (``records/writes.py``). Potency maths is
in ``records/potency.py`` (around ``core.units``), the daily-exposure materialization in ``records/daily.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from kratomwatch.accounts import actions as account_actions
from kratomwatch.accounts import program_settings
from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, record
from kratomwatch.core import exposure, units
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.core.rules import RuleConfig
from kratomwatch.records import validation
from kratomwatch.records.daily import refresh_daily_exposure
from kratomwatch.records.models import (
    AdverseEvent,
    Dose,
    DoseSource,
    LabResult,
    Lot,
    Medication,
    Patient,
    PatientCondition,
    Product,
)
from kratomwatch.records.potency import compute_mg, lot_potency
from kratomwatch.records.validation import future_tolerance
from kratomwatch.records.writes import after_evaluation, alert_input_write, touch


def _apply_mg(dose: Dose, mg: units.DoseMg) -> None:
    for name, value in mg.columns().items():
        setattr(dose, name, value)


# --- programs, patients, products, lots ------------------------------------------------------


@alert_input_write(affects=lambda kwargs, patient: [patient])
def create_patient(
    *,
    actor: Actor,
    program: Program,
    code: str,
    birth_year: int,
    sex: str,
    time_zone: str,
    jurisdiction: str,
    conditions: Sequence[str] = (),
    pregnant: bool = False,
    breastfeeding: bool = False,
    liver_disease: bool = False,
    seizure_disorder: bool = False,
    cardiac_qt: bool = False,
    respiratory_disease: bool = False,
    user: Any = None,
    today: dt.date | None = None,
    enrolled_on: dt.date | None = None,
) -> Patient:
    """A new patient record. ``enrolled_on`` (default: today) is the day they joined the program, for a record
    entered after the fact; it may not be in the future or before the birth year."""
    code = validation.patient_code(code)
    today = today or timezone.localdate()
    if enrolled_on is not None and not (dt.date(birth_year, 1, 1) <= enrolled_on <= today):
        why = "the enrolment day must be after the birth year and not in the future"
        raise InputError("enrolled_on", enrolled_on.isoformat(), why)
    if Patient.objects.filter(code=code).exists():
        raise Conflict("code", code, f"patient code {code!r} is already in use")
    exposure.zone(time_zone)
    patient = Patient.objects.create(
        program=program,
        code=code,
        birth_year=validation.birth_year(birth_year, today),
        sex=validation.sex(sex),
        time_zone=time_zone,
        jurisdiction=validation.jurisdiction(jurisdiction),
        pregnant=pregnant,
        breastfeeding=breastfeeding,
        liver_disease=liver_disease,
        seizure_disorder=seizure_disorder,
        cardiac_qt=cardiac_qt,
        respiratory_disease=respiratory_disease,
        user=user,
        enrolled_on=enrolled_on,
    )
    PatientCondition.objects.bulk_create(
        PatientCondition(patient=patient, code=c) for c in validation.conditions(list(conditions))
    )
    record(
        actor,
        "patient.create",
        object_type="patient",
        object_id=patient.pk,
        program_id=program.pk,
        patient_code=code,
    )
    return patient


@alert_input_write()
def update_patient(*, actor: Actor, patient: Patient, **changes: Any) -> Patient:
    """Update demographic or history fields; ``conditions`` replaces the condition list."""
    allowed = {"time_zone", "jurisdiction", "sex", "birth_year", "conditions", *Patient.HISTORY_FIELDS}
    for key, value in changes.items():
        if key not in allowed:
            raise InputError(key, value, f"field {key!r} cannot be changed")
    if "time_zone" in changes:
        exposure.zone(changes["time_zone"])
    if "jurisdiction" in changes:
        changes["jurisdiction"] = validation.jurisdiction(changes["jurisdiction"])
    if "sex" in changes:
        validation.sex(changes["sex"])
    if "birth_year" in changes:
        validation.birth_year(changes["birth_year"], timezone.localdate())
    conditions = changes.pop("conditions", None)
    for key, value in changes.items():
        setattr(patient, key, value)
    patient.save()
    if conditions is not None:
        PatientCondition.objects.filter(patient=patient).delete()
        PatientCondition.objects.bulk_create(
            PatientCondition(patient=patient, code=c) for c in validation.conditions(list(conditions))
        )
    record(
        actor,
        "patient.update",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"fields": sorted([*changes, *(["conditions"] if conditions else [])])},
    )
    return patient


@transaction.atomic
def create_patient_login(
    *,
    actor: Actor,
    patient: Patient,
    username: str,
    password: str,
    with_token: bool = False,
    check_password: bool = True,
) -> tuple[Any, str | None]:
    """Create the patient's own login and link it to their record (one login per patient)."""
    if patient.user_id is not None:
        raise InputError("patient_code", patient.code, "that patient already has a login")
    user, raw = account_actions.create_account(
        actor=actor,
        username=username,
        password=password,
        role="patient",
        with_token=with_token,
        check_password=check_password,
        program=patient.program,
    )
    patient.user = user
    patient.save(update_fields=["user"])
    record(
        actor,
        "patient.login.link",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"user": user.pk},
    )
    return user, raw


@transaction.atomic
def create_product(*, actor: Actor, program: Program, vendor: str, name: str, form: str) -> Product:
    parsed = units.parse_form(form)
    if not vendor.strip() or not name.strip():
        raise InputError(
            "name" if vendor.strip() else "vendor",
            name if vendor.strip() else vendor,
            "product vendor and name must not be empty",
        )
    if Product.objects.filter(program=program, vendor=vendor.strip(), name=name.strip()).exists():
        raise Conflict("name", name, f"product {vendor} {name} already exists in this program")
    product = Product.objects.create(program=program, vendor=vendor.strip(), name=name.strip(), form=parsed.value)
    record(
        actor,
        "product.create",
        object_type="product",
        object_id=product.pk,
        program_id=program.pk,
        detail={"form": parsed.value},
    )
    return product


@dataclass(frozen=True)
class CertificateIn:
    content_unit: str
    mitragynine: float
    seven_oh: float
    other_alkaloids: dict[str, float] = field(default_factory=dict)
    lab_name: str = ""
    test_date: dt.date | None = None


def _certificate_fields(cert: CertificateIn | None) -> dict[str, Any]:
    if cert is None:
        return {
            "cert_content_unit": "",
            "cert_mitragynine": None,
            "cert_seven_oh": None,
            "cert_other_alkaloids": {},
            "cert_lab_name": "",
            "cert_test_date": None,
        }
    unit = units.parse_content_unit(cert.content_unit)
    # Validates non-negative finite content and a plausible total.
    units.Certificate(cert.mitragynine, cert.seven_oh, unit, dict(cert.other_alkaloids))
    return {
        "cert_content_unit": unit.value,
        "cert_mitragynine": cert.mitragynine,
        "cert_seven_oh": cert.seven_oh,
        "cert_other_alkaloids": dict(cert.other_alkaloids),
        "cert_lab_name": cert.lab_name,
        "cert_test_date": cert.test_date,
    }


@transaction.atomic
def create_lot(
    *,
    actor: Actor,
    product: Product,
    lot_code: str,
    certificate: CertificateIn | None = None,
    unit_mass_mg: float | None = None,
    grams_per_teaspoon: float | None = None,
    recalled: bool = False,
) -> Lot:
    if not lot_code.strip():
        raise InputError("lot_code", lot_code, "lot code must not be empty")
    if Lot.objects.filter(product=product, lot_code=lot_code.strip()).exists():
        raise Conflict("lot_code", lot_code, f"lot {lot_code!r} already exists for this product")
    units.Potency(units.Form(product.form), None, unit_mass_mg, grams_per_teaspoon)
    lot = Lot.objects.create(
        product=product,
        lot_code=lot_code.strip(),
        unit_mass_mg=unit_mass_mg,
        grams_per_teaspoon=grams_per_teaspoon,
        recalled=recalled,
        **_certificate_fields(certificate),
    )
    record(
        actor,
        "lot.create",
        object_type="lot",
        object_id=lot.pk,
        program_id=product.program_id,
        detail={"certificate": certificate is not None},
    )
    return lot


@alert_input_write(affects=lambda kwargs, result: [])
def update_lot(
    *,
    actor: Actor,
    lot: Lot,
    certificate: CertificateIn | None,
    unit_mass_mg: float | None = None,
    grams_per_teaspoon: float | None = None,
    recalled: bool | None = None,
) -> tuple[Lot, int]:
    """Correct a lot's certificate or calibration and recompute every dose of that lot.

    Returns the lot and the number of doses recomputed; daily exposure of the affected patients is
    refreshed in the same transaction.
    """
    units.Potency(units.Form(lot.product.form), None, unit_mass_mg, grams_per_teaspoon)
    for key, value in _certificate_fields(certificate).items():
        setattr(lot, key, value)
    lot.unit_mass_mg = unit_mass_mg
    lot.grams_per_teaspoon = grams_per_teaspoon
    if recalled is not None:
        lot.recalled = recalled
    lot.save()
    doses = _recompute_doses(Dose.objects.filter(lot=lot), lot, program_settings.for_program(lot.product.program_id))
    touch({d.patient_id for d in doses})  # a recall or a corrected certificate reaches every patient of the lot
    record(
        actor,
        "lot.update",
        object_type="lot",
        object_id=lot.pk,
        program_id=lot.product.program_id,
        detail={"certificate": certificate is not None, "doses_recomputed": len(doses)},
    )
    return lot, len(doses)


def _recompute_doses(doses: Any, lot: Lot, config: RuleConfig) -> list[Dose]:
    """Recompute the stored mg of ``doses`` (all of one lot) and refresh their patients' daily exposure."""
    potency = lot_potency(lot)
    rows = list(doses.only("id", "amount", "unit", "patient_id"))
    for dose in rows:
        _apply_mg(dose, compute_mg(dose.amount, units.Unit(dose.unit), potency, config))
    Dose.objects.bulk_update(rows, units.MG_COLUMNS, batch_size=2000)
    refresh_daily_exposure(patient_ids=sorted({d.patient_id for d in rows}))
    return rows


@transaction.atomic
def reapply_program_settings(*, actor: Actor, program: Program, changed: Iterable[str]) -> int:
    """Recompute what the record stores from the program's settings after ``changed`` settings changed.

    Doses store their ``enhanced`` flag (7-OH share above the cap) and, for uncalibrated teaspoons, mg from the
    grams-per-teaspoon default: both follow the program's current settings. Returns the doses recomputed; the
    caller re-evaluates the program's alerts.
    """
    changed = set(changed) & program_settings.DOSE_SETTINGS
    if not changed:
        return 0
    config = program_settings.for_program(program.pk)
    total = 0
    if "seven_oh_cap_percent" in changed:
        # Set-based: the share is stored per dose, so the flag is one comparison (SQL NULL stays NULL).
        total += Dose.objects.filter(patient__program=program, seven_oh_share_percent__isnull=False).update(
            enhanced=Case(
                When(seven_oh_share_percent__gt=config.seven_oh_cap_percent, then=Value(True)), default=Value(False)
            )
        )
    if changed & {"grams_per_teaspoon", "grams_per_teaspoon_low", "grams_per_teaspoon_high"}:
        volumetric = Dose.objects.filter(
            patient__program=program, unit__in=[units.Unit.TEASPOON.value, units.Unit.TABLESPOON.value]
        )
        lots = Lot.objects.select_related("product").filter(
            pk__in=volumetric.filter(lot__grams_per_teaspoon__isnull=True).values("lot_id")
        )
        for lot in lots:  # one recomputation per lot (a program has few products), not per dose
            total += len(_recompute_doses(volumetric.filter(lot=lot), lot, config))
    record(
        actor,
        "program.settings.reapply",
        object_type="program",
        object_id=program.pk,
        program_id=program.pk,
        detail={"changed": sorted(changed), "doses_recomputed": total},
    )
    return total


# --- doses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseIn:
    """One dose as received from any adapter, before validation."""

    patient_code: str
    lot_id: int
    taken_at: dt.datetime
    amount: float
    unit: str
    source: str = DoseSource.SELF_REPORT.value
    idempotency_key: str | None = None


def default_idempotency_key(d: DoseIn) -> str:
    raw = f"{d.patient_code}|{d.lot_id}|{d.taken_at.astimezone(dt.UTC).isoformat()}|{d.amount!r}|{d.unit}"
    return "auto:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def lot_not_in_catalogue(lot_id: Any) -> InputError:
    """The one answer for a lot a dose cannot use: another program's lot and an id that does not exist read the
    same, so the message never reveals another program's catalogue (D12)."""
    return InputError("lot_id", lot_id, f"lot {lot_id!r} is not in the catalogue of the patient's program")


def _build_dose(d: DoseIn, patient: Patient, lot: Lot, now: dt.datetime, config: RuleConfig) -> Dose:
    unit = units.parse_unit(d.unit)
    tz = exposure.zone(patient.time_zone)
    try:  # year 1 with a positive offset (or 9999 with a negative one) is before/after what a datetime holds in UTC
        d.taken_at.astimezone(dt.UTC)
    except OverflowError:
        raise InputError(
            "taken_at", d.taken_at.isoformat(), f"taken_at {d.taken_at.isoformat()} is not a date that can be recorded"
        ) from None
    exposure.check_not_future(d.taken_at, now, tolerance=future_tolerance())
    if d.source not in DoseSource.values:
        raise InputError("source", d.source, f"source {d.source!r} is not one of: {', '.join(DoseSource.values)}")
    if lot.product.program_id != patient.program_id:
        raise lot_not_in_catalogue(d.lot_id)
    mg = compute_mg(float(d.amount), unit, lot_potency(lot), config)
    local = d.taken_at.astimezone(tz)
    key = (d.idempotency_key or "").strip() or default_idempotency_key(d)
    if len(key) > 128:
        raise InputError("idempotency_key", key, "idempotency_key must be at most 128 characters")
    dose = Dose(
        patient=patient,
        lot=lot,
        taken_at=d.taken_at,
        local_date=local.date(),
        local_minute=local.hour * 60 + local.minute,
        amount=float(d.amount),
        unit=unit.value,
        source=d.source,
        idempotency_key=key,
    )
    _apply_mg(dose, mg)
    return dose


@alert_input_write(affects=lambda kwargs, result: [kwargs["patient"]] if result[1] else [], kind="dose")
def record_dose(
    *, actor: Actor, patient: Patient, dose: DoseIn, now: dt.datetime | None = None, since_enrolment: bool = False
) -> tuple[Dose, bool]:
    """Record one dose. Idempotent on (patient, idempotency_key): a repeat returns the stored dose.

    A dose more than a year old is refused; with ``since_enrolment`` (the patient's own entry) so is one dated
    before the patient joined the program (``validation.check_not_too_old``).

    A repeat of the same key with a different payload is a conflict, never a silent overwrite.
    """
    try:
        # Another program's lot is refused here, with an unknown id, before any other check (D12).
        lot = Lot.objects.select_related("product").get(pk=dose.lot_id, product__program_id=patient.program_id)
    except (Lot.DoesNotExist, ValueError, TypeError):
        raise lot_not_in_catalogue(dose.lot_id) from None
    now = now or timezone.now()
    new = _build_dose(dose, patient, lot, now, program_settings.for_program(patient.program_id))
    validation.check_not_too_old(
        "taken_at", new.local_date, patient, patient.local_today(now), since_enrolment=since_enrolment
    )
    existing = None
    try:  # insert first: a new dose costs one statement, only a repeat of the key reads what was stored
        with transaction.atomic():
            new.save()
    except IntegrityError:
        # The key was stored before, or by a concurrent request (PostgreSQL makes this insert wait for it to
        # commit): judge the repeat against what it stored, exactly as if it had come first.
        existing = Dose.objects.filter(patient=patient, idempotency_key=new.idempotency_key).first()
        if existing is None:
            raise
    if existing is not None:
        differ = validation.dose_differences(validation.dose_content(existing), validation.dose_content(new))
        if differ:
            raise Conflict(
                "idempotency_key",
                new.idempotency_key,
                f"this idempotency_key was already used for a different dose ({validation.differ_text(differ)})",
            )
        return existing, False
    refresh_daily_exposure(patient_ids=[patient.pk], days=[new.local_date])
    # Appended after the alert re-evaluation, in the same transaction: the chain's lock is held only to commit.
    after_evaluation(
        lambda: record(
            actor,
            "dose.create",
            object_type="dose",
            object_id=new.pk,
            program_id=patient.program_id,
            patient_code=patient.code,
            detail={"basis": new.basis, "source": new.source},
        )
    )
    return new, True


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0
    rejected: list[tuple[int, InputError]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def _repeat_conflict(key: str, differ: list[str], earlier: str) -> Conflict:
    return Conflict(
        "idempotency_key",
        key,
        f"idempotency key {key!r} was already used for a different dose ({earlier}): "
        f"{validation.differ_text(differ)}; a repeat must match it exactly",
    )


@alert_input_write(affects=lambda kwargs, result: [])
def import_doses(
    *,
    actor: Actor,
    rows: Sequence[tuple[int, DoseIn]],
    patients: dict[str, Patient] | None = None,
    now: dt.datetime | None = None,
    rejected: Sequence[tuple[int, InputError]] = (),
    allow_partial: bool = False,
    without_care_consent: Collection[str] = (),
) -> ImportResult:
    """Validate and bulk-insert doses. Idempotent: a row repeating a stored dose (same key, same content) is skipped.

    ``rows`` pairs each dose with its source line number for error reports. By default the import is
    all-or-nothing: any rejected row means nothing is written. With ``allow_partial`` the valid rows
    are written and the rejects reported. ``rejected`` carries rows the caller's parser already refused.

    A row reusing an idempotency key with a different dose (``validation.dose_differences``, the rule of the API's
    409), earlier in the file or already stored for the patient, is a rejected ``Conflict`` naming what differs.
    ``without_care_consent``: codes of patients whose care consent is not active (historical imports are not gated
    by consent); how many rows concern them is recorded in the audit detail.
    """
    now = now or timezone.now()
    result = ImportResult(rejected=list(rejected))
    no_consent = set(without_care_consent)
    codes = {d.patient_code for _, d in rows}
    if patients is None:
        patients = {p.code: p for p in Patient.objects.filter(code__in=codes)}
    lots = {
        lot.pk: lot
        for lot in Lot.objects.select_related("product").filter(
            pk__in={d.lot_id for _, d in rows if isinstance(d.lot_id, int)}
        )
    }
    configs = program_settings.for_programs({p.program_id for p in patients.values()})
    built: list[tuple[int, Dose]] = []
    seen: dict[tuple[int, str], tuple[int, tuple[Any, ...]]] = {}
    for line, d in rows:
        try:
            patient = patients.get(d.patient_code)
            if patient is None:
                raise InputError("patient_code", d.patient_code, f"unknown patient code {d.patient_code!r}")
            lot = lots.get(d.lot_id)
            if lot is None or lot.product.program_id != patient.program_id:
                raise lot_not_in_catalogue(d.lot_id)
            dose = _build_dose(d, patient, lot, now, configs[patient.program_id])
            validation.check_not_before_birth("taken_at", dose.local_date, patient)
        except InputError as err:
            result.rejected.append((line, err))
            continue
        key = (patient.pk, dose.idempotency_key)
        content = validation.dose_content(dose)
        if key in seen:
            first, first_content = seen[key]
            differ = validation.dose_differences(first_content, content)
            if differ:
                result.rejected.append((line, _repeat_conflict(dose.idempotency_key, differ, f"line {first}")))
            else:
                result.skipped += 1
            continue
        seen[key] = (line, content)
        built.append((line, dose))
    with transaction.atomic():
        # Set-based: one query per chunk of keys reads the stored doses' content (no query per row).
        stored: dict[tuple[int, str], tuple[Any, ...]] = {}
        keys = [d.idempotency_key for _, d in built]
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            found = Dose.objects.filter(idempotency_key__in=chunk).values_list(
                "patient_id", "idempotency_key", *validation.DOSE_CONTENT
            )
            stored.update(((row[0], row[1]), tuple(row[2:])) for row in found)
        fresh: list[Dose] = []
        for line, dose in built:
            prior = stored.get((dose.patient_id, dose.idempotency_key))
            if prior is None:
                fresh.append(dose)
                continue
            differ = validation.dose_differences(prior, validation.dose_content(dose))
            if differ:
                where = f"the dose already stored for {dose.patient.code}"
                result.rejected.append((line, _repeat_conflict(dose.idempotency_key, differ, where)))
            else:
                result.skipped += 1
        if result.rejected and not allow_partial:
            result.skipped = 0
            return result
        Dose.objects.bulk_create(fresh, batch_size=2000)
        result.created = len(fresh)
        if fresh:
            refresh_daily_exposure(patient_ids=sorted({d.patient_id for d in fresh}))
        record(
            actor,
            "dose.import",
            object_type="dose",
            detail={
                "created": result.created,
                "skipped": result.skipped,
                "rejected": len(result.rejected),
                "patients": sorted({d.patient.code for d in fresh})[:200],
                "rows_without_care_consent": sum(1 for _, d in rows if d.patient_code in no_consent),
                "patients_without_care_consent": sorted(no_consent)[:200],
            },
        )
        touch({d.patient_id for d in fresh})
    return result


# --- medications, labs, adverse events ------------------------------------------------------


@alert_input_write()
def record_medication(
    *,
    actor: Actor,
    patient: Patient,
    name: str,
    dose_text: str = "",
    start: dt.date | None = None,
    stop: dt.date | None = None,
) -> Medication:
    if not name.strip():
        raise InputError("name", name, "medication name must not be empty")
    if len(name) > 200:
        raise InputError("name", name[:40] + "...", "medication name must be at most 200 characters")
    if start and stop and stop < start:
        raise InputError("stop", stop.isoformat(), f"stop {stop} is before start {start}")
    today = patient.local_today()
    if start:
        validation.check_plausible_date("start", start, patient, today)
    if stop:
        validation.check_plausible_date("stop", stop, patient, today, ahead=validation.PLAN_AHEAD)
    med = Medication.objects.create(
        patient=patient, name=name.strip(), dose_text=dose_text.strip(), start=start, stop=stop
    )
    record(
        actor,
        "medication.create",
        object_type="medication",
        object_id=med.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
    )
    return med


ABSOLUTE_LAB_TESTS = frozenset({"qtc", "sodium"})
"""Tests judged on absolute cut-offs, so the laboratory's upper limit of normal is optional."""


@alert_input_write()
def record_lab(
    *,
    actor: Actor,
    patient: Patient,
    test: str,
    value: float,
    unit: str,
    upper_limit_normal: float | None,
    taken_at: dt.datetime,
    now: dt.datetime | None = None,
    lower_limit_normal: float | None = None,
) -> LabResult:
    unit = validation.lab_unit(test, unit)
    validation.check_not_before_birth("taken_at", taken_at.date(), patient)
    exposure.check_not_future(taken_at, now or timezone.now(), field="taken_at")
    if not isinstance(value, int | float) or value < 0 or value > 100_000:
        raise InputError("value", value, f"lab value {value!r} must be a number between 0 and 100000")
    if test not in ABSOLUTE_LAB_TESTS and upper_limit_normal is None:
        raise InputError("upper_limit_normal", None, f"{test} needs the laboratory's upper limit of normal")
    if upper_limit_normal is not None and upper_limit_normal <= 0:
        raise InputError("upper_limit_normal", upper_limit_normal, "upper_limit_normal must be greater than zero")
    if lower_limit_normal is not None and lower_limit_normal < 0:
        raise InputError("lower_limit_normal", lower_limit_normal, "lower_limit_normal must not be negative")
    if lower_limit_normal is not None and upper_limit_normal is not None and lower_limit_normal >= upper_limit_normal:
        raise InputError(
            "lower_limit_normal",
            lower_limit_normal,
            f"lower_limit_normal {lower_limit_normal} must be below upper_limit_normal {upper_limit_normal}",
        )
    if test == "qtc" and not (200 <= value <= 800):
        raise InputError("value", value, f"QTc {value} ms is outside the plausible 200-800 ms range")
    if test == "sodium" and not (80 <= value <= 200):
        raise InputError("value", value, f"sodium {value} mmol/L is outside the plausible 80-200 mmol/L range")
    lab = LabResult.objects.create(
        patient=patient,
        test=test,
        value=value,
        unit=unit,
        upper_limit_normal=upper_limit_normal,
        lower_limit_normal=lower_limit_normal,
        taken_at=taken_at,
    )
    record(
        actor,
        "lab.create",
        object_type="lab",
        object_id=lab.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"test": test},
    )
    return lab


#: The highest CTCAE grade a patient may report about themself (3, severe); 4-5 are the care team's to record.
SELF_REPORT_MAX_GRADE = 3


@alert_input_write()
def record_adverse_event(
    *,
    actor: Actor,
    patient: Patient,
    term: str,
    onset: dt.date,
    grade: int,
    seriousness: Sequence[str] = (),
    outcome: str = "unknown",
    causality: str = "unassessable",
    action_taken: str = "unknown",
    today: dt.date | None = None,
    since_enrolment: bool = False,
    self_report: bool = False,
) -> AdverseEvent:
    """Record an adverse event. An onset more than a year old is refused; with ``since_enrolment`` (the patient's
    own report) so is one before the patient joined the program. A ``self_report`` (the patient's own entry, web
    or API) is limited to CTCAE grades 1-3: grades 4-5 are recorded by the care team."""
    if not term.strip():
        raise InputError("term", term, "adverse event term must not be empty")
    validation.ae_fields(outcome, causality, action_taken, grade)
    if self_report and grade > SELF_REPORT_MAX_GRADE:
        raise InputError(
            "grade",
            grade,
            f"you can report grades 1 to {SELF_REPORT_MAX_GRADE} (mild, moderate, severe); "
            "a life-threatening event or a death is recorded by the care team: contact them or emergency services",
        )
    criteria = validation.seriousness(list(seriousness))
    if onset > (today or timezone.localdate()) + dt.timedelta(days=1):
        raise InputError("onset", onset.isoformat(), f"onset {onset} is in the future")
    validation.check_not_too_old(
        "onset", onset, patient, today or patient.local_today(), since_enrolment=since_enrolment
    )
    if grade == 5 and "death" not in criteria:
        criteria = sorted({*criteria, "death"})
    ae = AdverseEvent.objects.create(
        patient=patient,
        term=term.strip(),
        onset=onset,
        grade=grade,
        seriousness=criteria,
        outcome=outcome,
        causality=causality,
        action_taken=action_taken,
    )
    record(
        actor,
        "adverse_event.create",
        object_type="adverse_event",
        object_id=ae.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"grade": grade, "serious": bool(criteria)},
    )
    return ae
