"""Schedule status: due/overdue boundaries on the patient's local calendar, grace setting, validity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kratomwatch.assessments import actions
from kratomwatch.assessments.schedules import compute_status, grace_days, statuses_for

D = dt.date


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 11, 15), "upcoming"),  # the day before next due
        (D(2026, 11, 16), "due"),  # last (11-09) + 7
        (D(2026, 11, 19), "due"),  # due + grace (3): still due
        (D(2026, 11, 20), "overdue"),  # more than the grace past due
    ],
)
def test_boundaries_after_an_assessment(today: dt.date, expected: str) -> None:
    next_due, status = compute_status(
        every_days=7, start=D(2026, 11, 1), active=True, last_local_date=D(2026, 11, 9), today=today, grace=3
    )
    assert next_due == D(2026, 11, 16)
    assert status == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [(D(2026, 11, 30), "upcoming"), (D(2026, 12, 1), "due"), (D(2026, 12, 4), "due"), (D(2026, 12, 5), "overdue")],
)
def test_boundaries_without_any_assessment_start_from_the_start_date(today: dt.date, expected: str) -> None:
    next_due, status = compute_status(
        every_days=14, start=D(2026, 12, 1), active=True, last_local_date=None, today=today, grace=3
    )
    assert (next_due, status) == (D(2026, 12, 1), expected)


def test_a_schedule_is_never_due_before_it_starts_and_inactive_is_inactive() -> None:
    assert compute_status(
        every_days=7, start=D(2027, 1, 1), active=True, last_local_date=D(2026, 6, 1), today=D(2026, 12, 1), grace=3
    ) == (D(2027, 1, 1), "upcoming")
    assert compute_status(
        every_days=7, start=D(2026, 1, 1), active=False, last_local_date=None, today=D(2026, 12, 1), grace=3
    )[1] == ("inactive")


def test_zero_grace_makes_the_day_after_due_overdue() -> None:
    args: dict[str, Any] = {"every_days": 7, "start": D(2026, 11, 1), "active": True, "last_local_date": D(2026, 11, 9)}
    assert compute_status(**args, today=D(2026, 11, 16), grace=0)[1] == "due"
    assert compute_status(**args, today=D(2026, 11, 17), grace=0)[1] == "overdue"


@pytest.mark.django_db
def test_grace_is_a_program_setting_shared_with_the_missed_followup_alert(
    world: Any, system: Any, monkeypatch: Any
) -> None:
    """One value: the environment default, overridden per program by the same setting the alert rule reads."""
    from kratomwatch.alerts.actions import set_rule_config

    assert grace_days() == 3 and grace_days(world.patient) == 3
    monkeypatch.setenv("KRATOMWATCH_ASSESSMENT_GRACE_DAYS", "5")
    assert grace_days() == 5 and grace_days(world.patient) == 5
    set_rule_config(actor=system, program=world.program, overrides={"missed_followup_grace_days": 1})
    assert grace_days(world.patient) == 1
    assert grace_days(world.foreign_patient) == 5


@pytest.mark.django_db
def test_status_uses_the_patients_local_date(world: Any, system: Any) -> None:
    """P-001 lives in America/Chicago (UTC-6 in November). An assessment at 03:00 UTC on 11-10 is the
    evening of 11-09 locally, so the next weekly one is due on 11-16 local, not 11-17."""
    actions.set_schedule(actor=system, patient=world.patient, instrument_id="peg", every_days=7, start=D(2026, 11, 1))
    at = dt.datetime(2026, 11, 10, 3, 0, tzinfo=dt.UTC)
    actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="peg",
        answers=[5, 5, 5],
        administered_at=at,
        source="self_report",
        now=at,
    )

    def status_at(now: dt.datetime) -> str:
        (s,) = statuses_for(world.patient, now=now, grace=3)
        assert s.last_local_date == D(2026, 11, 9) and s.next_due == D(2026, 11, 16)
        return s.status

    assert status_at(dt.datetime(2026, 11, 16, 5, 59, tzinfo=dt.UTC)) == "upcoming"  # 11-15 23:59 local
    assert status_at(dt.datetime(2026, 11, 16, 6, 0, tzinfo=dt.UTC)) == "due"  # 11-16 00:00 local
    assert status_at(dt.datetime(2026, 11, 20, 5, 59, tzinfo=dt.UTC)) == "due"  # 11-19 local
    assert status_at(dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)) == "overdue"  # 11-20 local


@pytest.mark.django_db
def test_invalid_assessment_does_not_satisfy_a_schedule(world: Any, system: Any) -> None:
    actions.set_schedule(actor=system, patient=world.patient, instrument_id="phq9", every_days=14, start=D(2026, 11, 1))
    at = dt.datetime(2026, 11, 18, 15, 0, tzinfo=dt.UTC)
    actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=[1, 1, 1, 1, 1, 1, 1, 1, None],
        administered_at=at,
        source="self_report",
        now=at,
    )
    (s,) = statuses_for(world.patient, now=world.now, grace=3)
    assert s.last_at is None and s.next_due == D(2026, 11, 1) and s.status == "overdue" and s.days_overdue == 19
    actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=[1, 1, 1, 1, 1, 1, 1, 1, 0],
        administered_at=at + dt.timedelta(minutes=5),
        source="self_report",
        now=world.now,
    )
    (s,) = statuses_for(world.patient, now=world.now, grace=3)
    assert s.status == "upcoming" and s.next_due == D(2026, 12, 2) and s.days_overdue == 0


@pytest.mark.django_db
def test_statuses_are_sorted_most_urgent_first(world: Any, system: Any) -> None:
    for instrument_id, start in (("gad7", D(2026, 12, 30)), ("peg", D(2026, 10, 1)), ("phq9", D(2026, 11, 20))):
        actions.set_schedule(
            actor=system, patient=world.patient, instrument_id=instrument_id, every_days=7, start=start
        )
    actions.set_schedule(
        actor=system, patient=world.patient, instrument_id="asrs", every_days=7, start=D(2026, 1, 1), active=False
    )
    statuses = statuses_for(world.patient, now=world.now)
    assert [(s.schedule.instrument_id, s.status) for s in statuses] == [
        ("peg", "overdue"),
        ("phq9", "due"),
        ("gad7", "upcoming"),
        ("asrs", "inactive"),
    ]
    assert [s.schedule.instrument_id for s in statuses_for(world.patient, now=world.now, include_inactive=False)] == [
        "peg",
        "phq9",
        "gad7",
    ]
