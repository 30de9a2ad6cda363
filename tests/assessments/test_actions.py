"""record_assessment / set_schedule: storage equals the core's scoring, errors name the item and write nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kratomwatch.assessments import actions
from kratomwatch.assessments.models import Assessment, Schedule
from kratomwatch.audit.models import AuditEvent
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.records.actions import Conflict
from tests.assessments.conftest import sample_answers

pytestmark = pytest.mark.django_db


def _record(w: Any, system: Any, instrument_id: str, answers: Any, **kw: Any) -> Assessment:
    args: dict[str, Any] = {
        "actor": system,
        "patient": w.patient,
        "instrument_id": instrument_id,
        "answers": answers,
        "administered_at": w.now - dt.timedelta(hours=1),
        "source": "clinician",
        "now": w.now,
    }
    args.update(kw)
    return actions.record_assessment(**args)


@pytest.mark.parametrize("instrument_id", ins.instrument_ids())
def test_every_instrument_stores_exactly_what_the_core_scores(world: Any, system: Any, instrument_id: str) -> None:
    definition = ins.get(instrument_id)
    for shift in (0, 3, 5):
        _check_round_trip(world, system, definition, shift)
    assert Assessment.objects.filter(instrument_id=instrument_id).count() == 3


def _check_round_trip(world: Any, system: Any, definition: ins.InstrumentDefinition, shift: int) -> None:
    answers = sample_answers(definition, shift)
    expected = ins.score(definition, answers)
    stored = _record(world, system, definition.id, answers, administered_at=world.now - dt.timedelta(hours=shift + 1))
    stored.refresh_from_db()  # through the database's JSON and float columns
    assert stored.answers == answers
    assert stored.instrument_version == definition.version
    assert stored.scores == {s.scale_id: s.value for s in expected.scales}
    for scale_id, value in stored.scores.items():
        assert type(value) is type(expected.scale(scale_id).value)  # ints stay ints, means stay floats
    assert stored.total == expected.total
    assert stored.band_id == (expected.band.id if expected.band else "")
    assert stored.band_label == (expected.band.label if expected.band else "")
    assert stored.flags == list(expected.flag_ids)
    assert stored.valid is expected.valid is True
    assert stored.missing_policy == definition.default_missing_policy.value


def test_blank_answer_is_stored_as_invalid_with_the_reason(world: Any, system: Any) -> None:
    phq9 = ins.get("phq9")
    answers: list[int | None] = [1, 1, 1, 1, None, 1, 1, 1, 0]
    stored = _record(world, system, "phq9", answers)
    stored.refresh_from_db()
    assert stored.answers == answers
    assert stored.valid is False and stored.total is None and stored.band_id == ""
    assert stored.scores == {"total": None}
    assert any("phq9_5" in reason for reason in stored.reasons)
    assert stored.flags == list(ins.score(phq9, answers).flag_ids)


def test_phq9_item_9_raises_suicidality_whatever_the_total(world: Any, system: Any) -> None:
    stored = _record(world, system, "phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert stored.total == 1 and stored.band_id == "minimal"
    assert "suicidality" in stored.flags


def test_supervised_dsm5_drops_tolerance_and_withdrawal(world: Any, system: Any) -> None:
    answers = [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    plain = _record(world, system, "dsm5_sud", answers)
    supervised = _record(
        world, system, "dsm5_sud", answers, supervised=True, administered_at=world.now - dt.timedelta(hours=2)
    )
    assert plain.total == 4 and plain.band_id == "moderate"
    assert supervised.total == 2 and supervised.band_id == "mild" and supervised.supervised is True


@pytest.mark.parametrize(
    ("instrument_id", "answers", "field", "needle"),
    [
        ("phq9", [0] * 8, "answers", "expected 9 answers"),
        ("phq9", [0, 0, 0, 4, 0, 0, 0, 0, 0], "answers", "item phq9_4 (position 4) got 4"),
        ("cows", [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "answers", "item cows_pulse (position 1) got 3"),
        ("gad7", [0, 0, 0, 0, 0, True, 0], "answers", "item gad7_6 (position 6) got True"),
        ("peg", [1, 2.5, 3], "answers", "item peg_enjoyment (position 2) got 2.5"),
        ("peg", "1 2 3", "answers", "answers must be a list"),
        ("nope", [1], "instrument", "unknown instrument 'nope'"),
    ],
)
def test_bad_input_names_field_item_and_value_and_writes_nothing(
    world: Any, system: Any, instrument_id: str, answers: Any, field: str, needle: str
) -> None:
    audit_before = AuditEvent.objects.count()
    with pytest.raises(InputError) as err:
        _record(world, system, instrument_id, answers)
    assert err.value.field == field
    assert needle in err.value.message
    assert Assessment.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_time_must_be_aware_and_not_in_the_future(world: Any, system: Any) -> None:
    answers = sample_answers(ins.get("peg"))
    with pytest.raises(InputError) as err:
        _record(world, system, "peg", answers, administered_at=world.now + dt.timedelta(hours=1))
    assert err.value.field == "administered_at" and "future" in err.value.message
    with pytest.raises(InputError) as err:
        _record(world, system, "peg", answers, administered_at=dt.datetime(2026, 11, 20, 8, 0))
    assert err.value.field == "administered_at"
    assert Assessment.objects.count() == 0
    # Within the tolerance (clock skew) is accepted.
    assert _record(world, system, "peg", answers, administered_at=world.now + dt.timedelta(minutes=5)).pk


def test_clinician_administered_instruments_are_not_self_reports(world: Any, system: Any) -> None:
    answers = sample_answers(ins.get("cows"))
    with pytest.raises(InputError) as err:
        _record(world, system, "cows", answers, source="self_report")
    assert err.value.field == "instrument" and err.value.code == "clinician_administered"
    assert Assessment.objects.count() == 0
    assert _record(world, system, "dn4_interview", sample_answers(ins.get("dn4_interview")), source="self_report").pk


def test_unknown_source_is_refused(world: Any, system: Any) -> None:
    with pytest.raises(InputError) as err:
        _record(world, system, "peg", [1, 1, 1], source="email")
    assert err.value.field == "source"


def test_same_instrument_at_the_same_instant_is_a_conflict(world: Any, system: Any) -> None:
    _record(world, system, "peg", [1, 1, 1])
    with pytest.raises(Conflict):
        _record(world, system, "peg", [2, 2, 2])
    assert list(Assessment.objects.values_list("answers", flat=True)) == [[1, 1, 1]]


def test_record_writes_one_audit_event_without_clinical_content(world: Any, system: Any) -> None:
    before = AuditEvent.objects.count()
    a = _record(world, system, "phq9", [0, 0, 0, 0, 0, 0, 0, 0, 2])
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [e.action for e in events] == ["assessment.create"]
    assert events[0].object_id == str(a.pk) and events[0].patient_code == "P-001"
    assert "suicidality" not in str(events[0].detail)


def test_set_schedule_creates_then_updates_and_validates(world: Any, system: Any) -> None:
    start = dt.date(2026, 11, 1)
    s, created = actions.set_schedule(
        actor=system, patient=world.patient, instrument_id="peg", every_days=7, start=start
    )
    assert created and s.every_days == 7 and s.active
    s2, created2 = actions.set_schedule(
        actor=system, patient=world.patient, instrument_id="peg", every_days=14, start=start
    )
    assert not created2 and s2.pk == s.pk and Schedule.objects.get().every_days == 14
    for bad in (0, -7, 400, True):
        with pytest.raises(InputError) as err:
            actions.set_schedule(actor=system, patient=world.patient, instrument_id="peg", every_days=bad, start=start)
        assert err.value.field == "every_days"
    with pytest.raises(InputError) as err:
        actions.set_schedule(actor=system, patient=world.patient, instrument_id="xyz", every_days=7, start=start)
    assert err.value.field == "instrument"
    off = actions.deactivate_schedule(actor=system, patient=world.patient, instrument_id="peg")
    assert off.active is False and Schedule.objects.get().active is False
    with pytest.raises(InputError):
        actions.deactivate_schedule(actor=system, patient=world.patient, instrument_id="phq9")
