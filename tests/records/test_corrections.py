"""Corrections, never silent: void and correct each kind of entry, with a reason, the original kept.

Each test checks the original stays (marked), the replacement links it, the audit trail has both with the reason,
and what the entry fed (daily exposure, alerts) follows. Then who may, and bad input.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kratomwatch.accounts.actions import create_user
from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.audit.log import Actor
from kratomwatch.audit.models import AuditEvent
from kratomwatch.core.errors import Conflict, Forbidden, InputError, NotFound
from kratomwatch.records import actions, corrections, queries
from kratomwatch.records.models import AdverseEvent, DailyExposure, Dose, LabResult, Medication, Patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _enrolled_last_month(world: Any) -> None:
    """The patient joined a month ago, so doses of earlier days can be recorded."""
    Patient.objects.filter(pk=world.patient.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    world.patient.refresh_from_db()


def _dose(
    w: Any, actor: Any, *, hours_ago: float = 2, amount: float = 3.0, key: str = "k1", taken: dt.datetime | None = None
) -> Dose:
    taken = taken or timezone.now() - dt.timedelta(hours=hours_ago)
    dose, _ = actions.record_dose(
        actor=actor,
        patient=w.patient,
        dose=actions.DoseIn(w.patient.code, w.leaf_cert_lot.pk, taken, amount, "g", idempotency_key=key),
    )
    return dose


def _events(action: str, object_id: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(object_id)))


def _open(patient: Any, rule_id: str) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient, rule_id=rule_id).exclude(status=AlertStatus.RESOLVED))


def _daily_mg(patient: Any, day: dt.date) -> float | None:
    row = DailyExposure.objects.filter(patient=patient, day=day).first()
    return row.mitragynine_mg if row else None


# --- each kind ---------------------------------------------------------------------------------------------------


def test_voiding_a_dose_keeps_it_marked_and_lowers_the_daily_mg(world: Any, system: Any) -> None:
    # Both doses on the same local day at any hour the test runs: yesterday morning in the patient's zone.
    zone = ZoneInfo(world.patient.time_zone)
    morning = dt.datetime.combine(timezone.now().astimezone(zone).date() - dt.timedelta(days=1), dt.time(9), zone)
    first = _dose(world, system, key="a", taken=morning)
    second = _dose(world, system, key="b", taken=morning + dt.timedelta(hours=1))
    day = first.local_date
    before = _daily_mg(world.patient, day)
    assert before == pytest.approx(90.0)  # 2 x 3 g x 15 mg/g
    alice = Actor.of(world.alice)
    corrections.void_entry(actor=alice, patient=world.patient, kind="dose", pk=second.pk, reason="Logged twice")
    second.refresh_from_db()
    assert second.voided_at is not None and second.voided_by == "alice" and second.void_reason == "Logged twice"
    assert Dose.objects.filter(pk=second.pk).exists(), "the original stays in the record"
    assert _daily_mg(world.patient, day) == pytest.approx(45.0)
    assert DailyExposure.objects.get(patient=world.patient, day=day).doses == 1
    (event,) = _events("dose.void", second.pk)
    assert event.detail["reason"] == "Logged twice" and event.actor_label == "alice"
    assert [d.pk for d in queries.doses_of(world.patient)] == [first.pk]
    assert {d.pk for d in queries.doses_of(world.patient, include_voided=True)} == {first.pk, second.pk}
    assert queries.last_dose(world.patient) == first


def test_correcting_a_dose_rederives_mg_and_refreshes_both_days(world: Any, system: Any) -> None:
    dose = _dose(world, system, hours_ago=30)
    old_day = dose.local_date
    new_when = timezone.now() - dt.timedelta(hours=1)
    fixed = corrections.correct_dose(
        actor=Actor.of(world.alice),
        patient=world.patient,
        pk=dose.pk,
        reason="Wrong day and amount",
        amount=2.0,
        taken_at=new_when,
    )
    dose.refresh_from_db()
    assert dose.voided_at is not None and dose.void_reason == "Wrong day and amount"
    assert fixed.corrects_id == dose.pk and fixed.voided_at is None
    assert fixed.mitragynine_mg == pytest.approx(30.0), "mg through the same record_dose maths"
    assert fixed.source == dose.source and fixed.lot_id == dose.lot_id
    new_day = fixed.local_date
    assert new_day != old_day
    assert _daily_mg(world.patient, old_day) is None
    assert _daily_mg(world.patient, new_day) == pytest.approx(30.0)
    (correct,) = _events("dose.correct", dose.pk)
    assert correct.detail == {"reason": "Wrong day and amount", "replacement": fixed.pk}
    assert _events("dose.create", fixed.pk), "the replacement has its own create event"
    assert corrections.replacement_of(dose) == fixed


def test_voiding_the_lab_that_raised_the_liver_alert_resolves_it_on_reevaluation(world: Any, system: Any) -> None:
    _dose(world, system)
    lab = actions.record_lab(
        actor=system,
        patient=world.patient,
        test="alt",
        value=400.0,
        unit="U/L",
        upper_limit_normal=40.0,
        taken_at=timezone.now() - dt.timedelta(hours=1),
    )
    raised = _open(world.patient, "liver")
    assert raised, "the lab raises the liver alert"
    corrections.void_entry(
        actor=Actor.of(world.alice), patient=world.patient, kind="lab", pk=lab.pk, reason="Another patient's result"
    )
    for alert in raised:
        alert.refresh_from_db()
        assert alert.condition_cleared_at is not None, "the machine marks it cleared once the lab is voided"
    assert queries.labs(world.patient) == []
    assert queries.labs(world.patient, include_voided=True) == [lab]


def test_correcting_a_lab_links_the_original(world: Any, system: Any) -> None:
    lab = actions.record_lab(
        actor=system,
        patient=world.patient,
        test="alt",
        value=400.0,
        unit="U/L",
        upper_limit_normal=40.0,
        taken_at=timezone.now() - dt.timedelta(hours=1),
    )
    fixed = corrections.correct_lab(
        actor=Actor.of(world.alice), patient=world.patient, pk=lab.pk, reason="Typo: 40 not 400", value=40.0
    )
    assert fixed.corrects_id == lab.pk and fixed.value == 40.0 and fixed.test == "alt"
    assert fixed.upper_limit_normal == 40.0 and fixed.taken_at == lab.taken_at
    assert [x.pk for x in queries.labs(world.patient)] == [fixed.pk]
    assert _events("lab.correct", lab.pk)[0].detail["reason"] == "Typo: 40 not 400"


def test_voiding_a_medication_clears_its_interaction_alert(world: Any, system: Any) -> None:
    _dose(world, system)
    med = actions.record_medication(actor=system, patient=world.patient, name="Xanax")
    fixed = corrections.correct_medication(
        actor=Actor.of(world.alice), patient=world.patient, pk=med.pk, reason="Brand misspelled", dose_text="0.5 mg"
    )
    med.refresh_from_db()
    assert med.voided_at is not None and fixed.corrects_id == med.pk
    assert fixed.name == "Xanax" and fixed.dose_text == "0.5 mg"
    assert [m.pk for m in queries.medications(world.patient)] == [fixed.pk]
    corrections.void_entry(
        actor=Actor.of(world.alice), patient=world.patient, kind="medication", pk=fixed.pk, reason="Never taken"
    )
    assert queries.medications(world.patient) == []
    assert len(queries.medications(world.patient, include_voided=True)) == 2
    assert Medication.objects.filter(patient=world.patient).count() == 2
    assert _events("medication.void", fixed.pk)[0].detail["reason"] == "Never taken"


def test_correcting_an_adverse_event(world: Any, system: Any) -> None:
    ae = actions.record_adverse_event(
        actor=system, patient=world.patient, term="Nausea", onset=timezone.localdate(), grade=1
    )
    fixed = corrections.correct_adverse_event(
        actor=Actor.of(world.admin), patient=world.patient, pk=ae.pk, reason="Grade was 2", grade=2
    )
    assert fixed.corrects_id == ae.pk and fixed.grade == 2 and fixed.term == "Nausea"
    assert [a.pk for a in queries.adverse_events(world.patient)] == [fixed.pk]
    assert AdverseEvent.objects.get(pk=ae.pk).void_reason == "Grade was 2"


# --- who may -----------------------------------------------------------------------------------------------------


def test_researchers_may_never_correct(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    researcher, _ = create_user(
        actor=system, username="res", password="correct-horse-battery-9", role="researcher", program_slug="pain"
    )
    with pytest.raises(Forbidden):
        corrections.void_entry(actor=Actor.of(researcher), patient=world.patient, kind="dose", pk=dose.pk, reason="x")
    with pytest.raises(Forbidden):
        corrections.void_entry(actor=Actor.of(world.bob), patient=world.patient, kind="dose", pk=dose.pk, reason="x")
    assert Dose.objects.get(pk=dose.pk).voided_at is None


def test_a_patient_may_undo_their_own_dose_within_the_window_only(world: Any, system: Any) -> None:
    carol = Actor.of(world.carol)
    dose = _dose(world, carol, key="mine")
    corrections.void_entry(actor=carol, patient=world.patient, kind="dose", pk=dose.pk, reason="Tapped by mistake")
    assert Dose.objects.get(pk=dose.pk).voided_by == "carol"
    late = _dose(world, carol, key="late")
    with pytest.raises(Forbidden, match="within 30 minutes"):
        corrections.void_entry(
            actor=carol,
            patient=world.patient,
            kind="dose",
            pk=late.pk,
            reason="Wrong",
            now=timezone.now() + corrections.PATIENT_UNDO_WINDOW + dt.timedelta(minutes=1),
        )
    assert Dose.objects.get(pk=late.pk).voided_at is None


def test_a_patient_may_not_correct_or_undo_what_the_clinic_entered(world: Any, system: Any) -> None:
    carol = Actor.of(world.carol)
    clinic_dose = _dose(world, Actor.of(world.alice), key="clinic")
    with pytest.raises(Forbidden, match="logged yourself"):
        corrections.void_entry(actor=carol, patient=world.patient, kind="dose", pk=clinic_dose.pk, reason="no")
    own = _dose(world, carol, key="own")
    with pytest.raises(Forbidden, match="care team"):
        corrections.correct_dose(actor=carol, patient=world.patient, pk=own.pk, reason="amount", amount=1.0)
    med = actions.record_medication(actor=system, patient=world.patient, name="Sertraline")
    with pytest.raises(Forbidden, match="care team"):
        corrections.void_entry(actor=carol, patient=world.patient, kind="medication", pk=med.pk, reason="no")


def test_a_patient_may_undo_their_own_side_effect(world: Any) -> None:
    carol = Actor.of(world.carol)
    ae = actions.record_adverse_event(
        actor=carol, patient=world.patient, term="Headache", onset=timezone.localdate(), grade=1
    )
    corrections.void_entry(actor=carol, patient=world.patient, kind="adverse-event", pk=ae.pk, reason="Wrong day")
    assert AdverseEvent.objects.get(pk=ae.pk).voided_at is not None


# --- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(world: Any, system: Any, reason: str) -> None:
    dose = _dose(world, system)
    with pytest.raises(InputError, match="Give a reason for the correction") as err:
        corrections.void_entry(
            actor=Actor.of(world.alice), patient=world.patient, kind="dose", pk=dose.pk, reason=reason
        )
    assert err.value.field == "reason"
    with pytest.raises(InputError, match="Give a reason"):
        corrections.correct_dose(
            actor=Actor.of(world.alice), patient=world.patient, pk=dose.pk, reason=reason, amount=1.0
        )
    assert Dose.objects.filter(patient=world.patient).count() == 1
    assert Dose.objects.get(pk=dose.pk).voided_at is None


def test_a_reason_longer_than_500_characters_is_refused(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    with pytest.raises(InputError, match="at most 500"):
        corrections.void_entry(
            actor=Actor.of(world.alice), patient=world.patient, kind="dose", pk=dose.pk, reason="x" * 501
        )
    assert Dose.objects.get(pk=dose.pk).voided_at is None


def test_unknown_id_wrong_kind_and_another_patients_entry_are_not_found(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    alice = Actor.of(world.alice)
    with pytest.raises(NotFound):
        corrections.void_entry(actor=alice, patient=world.patient, kind="dose", pk=999999, reason="x")
    with pytest.raises(NotFound):
        corrections.void_entry(actor=alice, patient=world.patient, kind="lab", pk=dose.pk, reason="x")
    with pytest.raises(NotFound):
        corrections.void_entry(actor=alice, patient=world.patient, kind="prescription", pk=dose.pk, reason="x")
    with pytest.raises(NotFound):
        corrections.void_entry(actor=alice, patient=world.foreign_patient, kind="dose", pk=dose.pk, reason="x")


def test_a_bad_replacement_saves_nothing_and_a_voided_entry_cannot_be_voided_again(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    alice = Actor.of(world.alice)
    with pytest.raises(InputError):
        corrections.correct_dose(actor=alice, patient=world.patient, pk=dose.pk, reason="amount", amount=-1.0)
    assert Dose.objects.get(pk=dose.pk).voided_at is None, "the void rolled back with the failed replacement"
    assert Dose.objects.filter(patient=world.patient).count() == 1
    assert not _events("dose.correct", dose.pk)
    corrections.void_entry(actor=alice, patient=world.patient, kind="dose", pk=dose.pk, reason="dup")
    with pytest.raises(Conflict):
        corrections.void_entry(actor=alice, patient=world.patient, kind="dose", pk=dose.pk, reason="dup")
    with pytest.raises(Conflict):
        corrections.correct_dose(actor=alice, patient=world.patient, pk=dose.pk, reason="dup", amount=1.0)
    lab = actions.record_lab(
        actor=system,
        patient=world.patient,
        test="qtc",
        value=450.0,
        unit="ms",
        upper_limit_normal=None,
        taken_at=timezone.now() - dt.timedelta(hours=1),
    )
    with pytest.raises(InputError):
        corrections.correct_lab(actor=alice, patient=world.patient, pk=lab.pk, reason="r", colour="red")
    assert LabResult.objects.get(pk=lab.pk).voided_at is None


def test_record_changes_lists_create_void_and_correct_newest_first(world: Any, system: Any) -> None:
    from kratomwatch.audit import queries as audit_queries

    dose = _dose(world, system)
    corrections.correct_dose(actor=Actor.of(world.alice), patient=world.patient, pk=dose.pk, reason="r", amount=1.0)
    actions_seen = [e.action for e in audit_queries.record_changes(world.patient.code)]
    assert actions_seen[:3] == ["dose.correct", "dose.create", "dose.create"]
    assert "patient.create" not in actions_seen
