"""The write path: doses standardized and stored, idempotency, certificate correction, transactions, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kratomwatch.audit.guard import triggers_removed
from kratomwatch.audit.log import verify_chain
from kratomwatch.audit.models import AuditEvent
from kratomwatch.core.errors import InputError
from kratomwatch.records import actions
from kratomwatch.records.models import DailyExposure, Dose, LabResult, Patient

pytestmark = pytest.mark.django_db


def dose_in(w: Any, **kw: Any) -> actions.DoseIn:
    base: dict[str, Any] = {
        "patient_code": "P-001",
        "lot_id": w.leaf_cert_lot.pk,
        "taken_at": dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC),
        "amount": 3.0,
        "unit": "g",
    }
    return actions.DoseIn(**(base | kw))


def test_record_dose_standardizes_and_audits(world: Any, system: Any) -> None:
    before = AuditEvent.objects.count()
    dose, created = actions.record_dose(actor=system, patient=world.patient, dose=dose_in(world), now=world.now)
    assert created
    assert dose.mitragynine_mg == pytest.approx(45.0) and dose.seven_oh_mg == pytest.approx(0.6)
    assert dose.basis == "certificate"
    # 08:00 UTC is 02:00 in Chicago (CST, UTC-6) on the same date.
    assert dose.local_date == dt.date(2026, 11, 20) and dose.local_minute == 120
    daily = DailyExposure.objects.get(patient=world.patient, day=dt.date(2026, 11, 20))
    assert daily.mitragynine_mg == pytest.approx(45.0) and daily.doses == 1
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.last().action == "dose.create"


def test_record_dose_is_idempotent(world: Any, system: Any) -> None:
    first, created1 = actions.record_dose(
        actor=system, patient=world.patient, dose=dose_in(world, idempotency_key="k1"), now=world.now
    )
    again, created2 = actions.record_dose(
        actor=system, patient=world.patient, dose=dose_in(world, idempotency_key="k1"), now=world.now
    )
    assert created1 and not created2 and first.pk == again.pk
    assert Dose.objects.count() == 1


def test_reusing_a_key_for_a_different_dose_is_a_conflict(world: Any, system: Any) -> None:
    actions.record_dose(actor=system, patient=world.patient, dose=dose_in(world, idempotency_key="k1"), now=world.now)
    with pytest.raises(actions.Conflict) as info:
        actions.record_dose(
            actor=system, patient=world.patient, dose=dose_in(world, idempotency_key="k1", amount=9.0), now=world.now
        )
    assert info.value.field == "idempotency_key"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit": "handful"}, "unit"),
        ({"amount": -2.0}, "amount"),
        ({"amount": 5000.0}, "amount"),
        ({"unit": "mL"}, "unit"),
        ({"taken_at": dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)}, "taken_at"),
        ({"lot_id": 999999}, "lot_id"),
        ({"source": "rumour"}, "source"),
    ],
)
def test_bad_dose_input_names_the_field_and_writes_nothing(
    world: Any, system: Any, change: dict[str, Any], field: str
) -> None:
    audit_before = AuditEvent.objects.count()
    with pytest.raises(InputError) as info:
        actions.record_dose(actor=system, patient=world.patient, dose=dose_in(world, **change), now=world.now)
    assert info.value.field == field
    assert Dose.objects.count() == 0 and DailyExposure.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_lot_from_another_program_is_rejected(world: Any, system: Any) -> None:
    with pytest.raises(InputError) as info:
        actions.record_dose(
            actor=system, patient=world.foreign_patient, dose=dose_in(world, patient_code="Q-001"), now=world.now
        )
    assert info.value.field == "lot_id"


def test_basis_for_uncertified_and_unknown_products(world: Any, system: Any) -> None:
    est, _ = actions.record_dose(
        actor=system, patient=world.patient, dose=dose_in(world, lot_id=world.leaf_plain_lot.pk), now=world.now
    )
    unk, _ = actions.record_dose(
        actor=system,
        patient=world.patient,
        dose=dose_in(world, lot_id=world.shot_lot.pk, unit="mL", amount=10.0),
        now=world.now,
    )
    assert est.basis == "estimated" and est.mitragynine_low_mg == pytest.approx(39.9)
    assert unk.basis == "unknown" and unk.mitragynine_mg is None
    daily = DailyExposure.objects.get(patient=world.patient)
    assert daily.doses == 2 and daily.unknown_doses == 1 and daily.estimated_doses == 1


def test_correcting_a_certificate_recomputes_that_lots_doses(world: Any, system: Any) -> None:
    for hour in (8, 14):
        actions.record_dose(
            actor=system,
            patient=world.patient,
            now=world.now,
            dose=dose_in(
                world, lot_id=world.leaf_plain_lot.pk, taken_at=dt.datetime(2026, 11, 20, hour, tzinfo=dt.UTC)
            ),
        )
    lot, count = actions.update_lot(
        actor=system, lot=world.leaf_plain_lot, certificate=actions.CertificateIn("mg/g", 10.0, 0.5)
    )
    assert count == 2
    doses = list(Dose.objects.filter(lot=lot))
    assert all(d.basis == "certificate" and d.mitragynine_mg == pytest.approx(30.0) for d in doses)
    assert all(d.enhanced is True for d in doses)  # 0.5 / 10.5 = 4.8% > 2%
    daily = DailyExposure.objects.get(patient=world.patient)
    assert daily.mitragynine_mg == pytest.approx(60.0) and daily.estimated_doses == 0


def test_import_is_idempotent_and_all_or_nothing(world: Any, system: Any) -> None:
    rows = [(i + 2, dose_in(world, taken_at=dt.datetime(2026, 11, 1 + i, 12, tzinfo=dt.UTC))) for i in range(5)]
    result = actions.import_doses(actor=system, rows=rows, now=world.now)
    assert (result.created, result.skipped, result.rejected) == (5, 0, [])
    again = actions.import_doses(actor=system, rows=rows, now=world.now)
    assert (again.created, again.skipped) == (0, 5)
    bad = [*rows, (99, dose_in(world, unit="bucket"))]
    partial = actions.import_doses(actor=system, rows=[(50, dose_in(world, amount=1.0)), *bad[5:]], now=world.now)
    assert partial.created == 0 and partial.rejected[0][0] == 99 and partial.rejected[0][1].field == "unit"
    assert Dose.objects.count() == 5
    assert DailyExposure.objects.filter(patient=world.patient).count() == 5


def test_registry_refresh_matches_incremental_updates(world: Any, system: Any) -> None:
    for day in range(1, 4):
        for hour in (3, 15, 23):
            actions.record_dose(
                actor=system,
                patient=world.patient,
                now=world.now,
                dose=dose_in(world, taken_at=dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC), amount=1.0 + hour / 10),
            )
    incremental = sorted(DailyExposure.objects.values_list("day", "mitragynine_mg", "doses", "first_dose_minute"))
    written = actions.refresh_daily_exposure()
    assert written == len(incremental)
    rebuilt = sorted(DailyExposure.objects.values_list("day", "mitragynine_mg", "doses", "first_dose_minute"))
    assert rebuilt == incremental
    assert incremental[0][0] == dt.date(2026, 10, 31)  # 03:00 UTC on 1 Nov is 31 Oct evening in Chicago


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"time_zone": "Mars/Base"}, "time_zone"),
        ({"jurisdiction": "US-ZZ"}, "jurisdiction"),
        ({"jurisdiction": "Texas"}, "jurisdiction"),
        ({"birth_year": 1850}, "birth_year"),
        ({"sex": "robot"}, "sex"),
        ({"conditions": ["hangnail"]}, "conditions"),
        ({"code": "P 001!"}, "code"),
    ],
)
def test_bad_patient_input(world: Any, system: Any, kwargs: dict[str, Any], field: str) -> None:
    base = {
        "code": "P-777",
        "birth_year": 1990,
        "sex": "female",
        "time_zone": "America/Chicago",
        "jurisdiction": "US-TX",
    }
    with pytest.raises(InputError) as info:
        actions.create_patient(actor=system, program=world.program, **(base | kwargs))
    assert info.value.field == field
    assert not Patient.objects.filter(code="P-777").exists()


def test_jurisdiction_codes_are_normalized(world: Any, system: Any) -> None:
    patient = actions.create_patient(
        actor=system,
        program=world.program,
        code="P-778",
        birth_year=1990,
        sex="male",
        time_zone="Asia/Bangkok",
        jurisdiction="th",
    )
    assert patient.jurisdiction == "TH"


def test_lab_units_and_plausibility(world: Any, system: Any) -> None:
    when = dt.datetime(2026, 11, 19, tzinfo=dt.UTC)
    lab = actions.record_lab(
        actor=system,
        patient=world.patient,
        test="alt",
        value=130,
        unit="IU/L",
        upper_limit_normal=40,
        taken_at=when,
        now=world.now,
    )
    assert lab.unit == "U/L"
    for kwargs, field in [
        ({"test": "alt", "unit": "ms"}, "unit"),
        ({"test": "qtc", "value": 1500, "unit": "ms"}, "value"),
        ({"test": "alt", "upper_limit_normal": None}, "upper_limit_normal"),
        ({"test": "tsh"}, "test"),
    ]:
        base = {"test": "alt", "value": 50, "unit": "U/L", "upper_limit_normal": 40, "taken_at": when}
        with pytest.raises(InputError) as info:
            actions.record_lab(actor=system, patient=world.patient, now=world.now, **(base | kwargs))
        assert info.value.field == field
    assert LabResult.objects.count() == 1


def test_sodium_needs_no_upper_limit_reads_meq_as_mmol_and_a_low_value_raises_the_alert(
    world: Any, system: Any
) -> None:
    from kratomwatch.alerts.models import Alert

    when = world.now - dt.timedelta(days=1)
    lab = actions.record_lab(
        actor=system, patient=world.patient, test="sodium", value=122, unit="mEq/L", upper_limit_normal=None,
        taken_at=when, now=world.now,
    )  # fmt: skip
    assert lab.unit == "mmol/L"
    assert {a.subject_key: a.severity for a in Alert.objects.filter(patient=world.patient, rule_id="sodium")} == {
        "lab:sodium": "high"
    }
    with pytest.raises(InputError) as info:
        actions.record_lab(
            actor=system, patient=world.patient, test="sodium", value=12.2, unit="mmol/L", upper_limit_normal=None,
            taken_at=when, now=world.now,
        )  # fmt: skip
    assert (info.value.field, "80-200 mmol/L" in info.value.message) == ("value", True)
    assert LabResult.objects.filter(test="sodium").count() == 1


def test_alp_is_a_lab_test_and_a_cholestatic_pair_raises_a_liver_alert(world: Any, system: Any) -> None:
    from kratomwatch.alerts.models import Alert

    when = world.now - dt.timedelta(days=1)
    for test, value, unit, uln in [("alt", 60, "IU/L", 40), ("alp", 360, "U/L", 120)]:
        actions.record_lab(
            actor=system,
            patient=world.patient,
            test=test,
            value=value,
            unit=unit,
            upper_limit_normal=uln,
            taken_at=when,
            now=world.now,
        )
    assert LabResult.objects.get(test="alp").unit == "U/L"
    with pytest.raises(InputError) as info:
        actions.record_lab(
            actor=system, patient=world.patient, test="alp", value=360, unit="mg/dL", upper_limit_normal=120,
            taken_at=when, now=world.now,
        )  # fmt: skip
    assert info.value.field == "unit"
    liver = {a.subject_key: a.severity for a in Alert.objects.filter(patient=world.patient, rule_id="liver")}
    assert liver == {"lab:cholestatic": "high"}  # ALP 3x ULN, R = 1.5 / 3 = 0.5


def test_kratom_case_with_high_bilirubin_and_mild_enzymes_raises_a_liver_alert(world: Any, system: Any) -> None:
    """Fernandes 2019 (PMID 30920318): bilirubin 28.9 mg/dL, mild ALT, AST and ALP rises."""
    from kratomwatch.alerts.models import Alert

    when = world.now - dt.timedelta(days=1)
    for test, value, unit, uln in [
        ("alt", 80, "U/L", 40),
        ("ast", 70, "U/L", 40),
        ("alp", 170, "U/L", 120),
        ("total_bilirubin", 28.9, "mg/dL", 1.2),
    ]:
        actions.record_lab(
            actor=system,
            patient=world.patient,
            test=test,
            value=value,
            unit=unit,
            upper_limit_normal=uln,
            taken_at=when,
            now=world.now,
        )
    liver = {a.subject_key: a.severity for a in Alert.objects.filter(patient=world.patient, rule_id="liver")}
    assert liver == {"lab:bilirubin": "high"}


def test_adverse_event_grade_5_implies_death(world: Any, system: Any) -> None:
    ae = actions.record_adverse_event(
        actor=system,
        patient=world.patient,
        term="Respiratory arrest",
        onset=dt.date(2026, 11, 1),
        grade=5,
        outcome="fatal",
        causality="possible",
        today=dt.date(2026, 11, 20),
    )
    assert ae.serious and "death" in ae.seriousness
    with pytest.raises(InputError) as info:
        actions.record_adverse_event(
            actor=system, patient=world.patient, term="Nausea", onset=dt.date(2026, 11, 1), grade=6
        )
    assert info.value.field == "grade"


def test_audit_chain_verifies_and_detects_tampering(world: Any, system: Any) -> None:
    actions.record_dose(actor=system, patient=world.patient, dose=dose_in(world), now=world.now)
    report = verify_chain()
    assert report.ok and report.events >= 10
    victim = AuditEvent.objects.order_by("id")[3]
    with triggers_removed():  # the database refuses the edit; play someone who can drop its triggers
        AuditEvent.objects.filter(pk=victim.pk).update(action="tampered")
    broken = verify_chain()
    assert not broken.ok and broken.first_bad_id == victim.pk


def test_audit_events_are_append_only(world: Any) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_enrolment_day_can_be_given_and_is_the_patients_own_date_floor(world: Any, system: Any) -> None:
    from kratomwatch.records import validation

    kwargs = {"actor": system, "program": world.program, "birth_year": 1980, "sex": "female",
              "time_zone": "America/Chicago", "jurisdiction": "US-TX", "today": dt.date(2026, 12, 1)}  # fmt: skip
    patient = actions.create_patient(code="KW-900", enrolled_on=dt.date(2026, 9, 1), **kwargs)
    assert validation.enrolment_date(patient) == dt.date(2026, 9, 1)
    for bad in (dt.date(2026, 12, 2), dt.date(1979, 12, 31)):
        with pytest.raises(InputError) as info:
            actions.create_patient(code="KW-901", enrolled_on=bad, **kwargs)
        assert info.value.field == "enrolled_on"
    assert not Patient.objects.filter(code="KW-901").exists()
