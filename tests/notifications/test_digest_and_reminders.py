"""The daily digest (counts only) and the patients' own questionnaire reminders (opt-in only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.alerts.models import Alert
from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.audit.models import AuditEvent
from kratomwatch.jobs import tasks as jobs
from kratomwatch.notifications import actions, queries
from kratomwatch.notifications.models import Notification, ReminderPreference
from tests.helpers import add_patient

pytestmark = pytest.mark.django_db


def make_alert(patient: Any, severity: str, n: int, status: str = "open") -> None:
    now = timezone.now()
    rank = {"urgent": 4, "high": 3, "moderate": 2, "info": 1}[severity]
    Alert.objects.create(
        patient=patient,
        rule_id=f"test_{severity}",
        subject_key=f"{severity}:{n}:{status}",
        severity=severity,
        severity_rank=rank,
        title=f"Secret clinical title {n}",
        reason="secret clinical reason",
        status=status,
        first_seen_at=now,
        last_seen_at=now,
        evaluated_as_of=now.date(),
        **({"resolved_at": now, "resolution_note": "done"} if status == "resolved" else {}),
    )


def test_one_digest_per_clinician_per_day_with_counts_by_severity_and_a_link_only(addressed: Any) -> None:
    w = addressed
    for n in range(3):
        make_alert(w.patient, "high", n)
    make_alert(w.patient, "moderate", 0)
    make_alert(w.patient, "urgent", 0)  # urgent ones are sent at once, not in the digest
    make_alert(w.patient, "info", 0, status="resolved")
    make_alert(w.foreign_patient, "high", 9)  # bob's program
    day = dt.date(2026, 12, 1)
    notes = actions.queue_digests(day=day)
    by_recipient = {n.recipient: n for n in notes}
    assert set(by_recipient) == {"alice@clinic.example", "pa@clinic.example", "bob@other.example"}
    alice = by_recipient["alice@clinic.example"]
    assert alice.subject == "kratomwatch: open alerts waiting on 2026-12-01"
    assert "  high: 3\n  moderate: 1\n  info: 0\n" in alice.body
    assert "http://127.0.0.1:8000/clinic/alerts/" in alice.body
    assert "  high: 1\n  moderate: 0\n" in by_recipient["bob@other.example"].body
    for note in notes:
        for secret in ("P-001", "Q-001", "Secret clinical", "secret clinical reason"):
            assert secret not in note.body and secret not in note.subject
    assert actions.queue_digests(day=day) == []  # once a day
    assert len(actions.queue_digests(day=day + dt.timedelta(days=1))) == 3


def test_no_digest_for_a_clinician_with_nothing_open(addressed: Any) -> None:
    assert actions.queue_digests(day=dt.date(2026, 12, 1)) == []
    assert jobs.alert_digest.call(local_date="2026-12-01") == {"local_date": "2026-12-01", "digests_queued": 0}


def overdue_schedule(w: Any, system: Any, patient: Any) -> None:
    assessment_actions.set_schedule(
        actor=system,
        patient=patient,
        instrument_id="phq9",
        every_days=7,
        start=patient.local_today() - dt.timedelta(days=20),
    )


def test_reminders_go_only_to_patients_who_opted_in_once_per_due_date(addressed: Any, system: Any) -> None:
    w = addressed
    other = add_patient(w, "P-002")
    from kratomwatch.records import actions as records

    dave, _ = records.create_patient_login(actor=system, patient=other, username="dave", password="x-horse-battery-9")
    actions.set_contact_email(actor=system, user=dave, email="dave@home.example")
    overdue_schedule(w, system, w.patient)
    overdue_schedule(w, system, other)
    actions.set_questionnaire_reminders(actor=system, patient=w.patient, enabled=True)  # carol opts in; dave does not

    result = jobs.questionnaire_reminders.call(local_date="2026-12-01")
    assert result == {"local_date": "2026-12-01", "overdue": 1, "reminders_queued": 1}
    [note] = Notification.objects.filter(kind="reminder.questionnaire")
    assert note.recipient == "carol@home.example" and note.user_id == w.carol.pk
    assert note.subject == "kratomwatch: a questionnaire is waiting for you"
    assert "http://127.0.0.1:8000/me/" in note.body
    for secret in ("phq", "PHQ", "depress", "P-001"):
        assert secret not in note.body
    # The next day the same overdue questionnaire is not reminded again.
    assert jobs.questionnaire_reminders.call()["reminders_queued"] == 0
    # Turned off: nothing more is found for her.
    actions.set_questionnaire_reminders(actor=system, patient=w.patient, enabled=False)
    assert jobs.questionnaire_reminders.call()["overdue"] == 0


def test_the_patient_turns_reminders_on_and_off_on_their_own_page(addressed: Any) -> None:
    client = Client()
    client.force_login(addressed.carol)
    response = client.post("/me/reminders/", {"questionnaires": "on"})
    assert response.status_code == 302 and response["Location"] == "/me/"
    assert queries.reminders_on(addressed.patient)
    event = AuditEvent.objects.filter(action="notification.reminders").latest("id")
    assert event.patient_code == "P-001" and event.detail == {"questionnaires": True}
    client.post("/me/reminders/", {"questionnaires": "off"})
    assert not queries.reminders_on(addressed.patient)


def test_a_bad_reminder_choice_is_refused_in_words_and_nothing_changes(addressed: Any) -> None:
    client = Client()
    client.force_login(addressed.carol)
    response = client.post("/me/reminders/", {"questionnaires": "maybe"})
    assert response.status_code == 400
    assert "choose on or off" in response.content.decode() and "questionnaires" not in response.content.decode()
    assert not ReminderPreference.objects.exists()
    assert client.get("/me/reminders/").status_code == 405


def test_a_clinician_has_no_reminder_page_of_their_own(addressed: Any) -> None:
    client = Client()
    client.force_login(addressed.alice)
    assert client.post("/me/reminders/", {"questionnaires": "on"}).status_code == 404
    assert not ReminderPreference.objects.exists()
    anonymous = Client().post("/me/reminders/", {"questionnaires": "on"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
