"""The clinic alert queue at clinic scale: pages of 25, filters that combine, sort orders, bulk acknowledge,
and actions that return to the same page and card. Alerts are raised by the rules through the record actions
(a PHQ-9 with item 9 endorsed: urgent; tramadol or quetiapine on file: a high interaction alert)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.assessments.actions import record_assessment
from kratomwatch.audit.models import AuditEvent
from kratomwatch.records import actions, writes
from tests.helpers import add_patient

pytestmark = pytest.mark.django_db

QUEUE = "/clinic/alerts/"


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def raise_alerts(w: Any, system: Any, count: int, *, prefix: str = "A") -> None:
    """``count`` patients: even ones with an urgent PHQ-9 item 9 alert, odd ones with a high interaction alert."""
    with writes.batch():
        for i in range(count):
            p = add_patient(w, f"{prefix}-{i:03d}")
            if i % 2 == 0:
                record_assessment(
                    actor=system,
                    patient=p,
                    instrument_id="phq9",
                    answers=[1] * 8 + [1],
                    administered_at=timezone.now() - dt.timedelta(days=1),
                    source="self_report",
                )
            else:
                actions.record_medication(actor=system, patient=p, name="tramadol 50 mg")


def foreign_alert(w: Any, system: Any) -> Alert:
    record_assessment(
        actor=system,
        patient=w.foreign_patient,
        instrument_id="phq9",
        answers=[1] * 8 + [2],
        administered_at=timezone.now() - dt.timedelta(days=1),
        source="self_report",
    )
    return Alert.objects.get(patient=w.foreign_patient, rule_id="suicidality")


def cards(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="alert[^"]*" id="alert-(\d+)"', html)]


@pytest.fixture
def big(world: Any, system: Any) -> Any:
    raise_alerts(world, system, 130)
    assert Alert.objects.filter(patient__program=world.program).count() == 130
    return world


def test_130_alerts_paginate_by_25_and_filters_combine(big: Any) -> None:
    alice = login(big.alice)
    first = alice.get(QUEUE).content.decode()
    assert "Showing 1-25 of 130 alerts" in first
    assert len(cards(first)) == 25
    page2 = alice.get(QUEUE, {"page": "2"}).content.decode()
    assert "Showing 26-50 of 130 alerts" in page2
    assert len(cards(page2)) == 25 and not set(cards(page2)) & set(cards(first))
    last = alice.get(QUEUE, {"page": "6"}).content.decode()
    assert "Showing 126-130 of 130 alerts" in last and len(cards(last)) == 5
    assert alice.get(QUEUE, {"page": "nonsense"}).status_code == 200  # a bad page number shows page 1

    # Most severe first: the 65 urgent alerts fill pages 1 and 2 before any high one.
    assert set(Alert.objects.filter(pk__in=cards(first) + cards(page2)).values_list("severity", flat=True)) == {
        "urgent"
    }

    high = alice.get(QUEUE, {"severity": "high"}).content.decode()
    assert "Showing 1-25 of 65 alerts" in high
    assert 'href="?severity=high&amp;page=2"' in high  # page links keep the filters
    both = alice.get(QUEUE, {"severity": "high", "rule": "interaction"}).content.decode()
    assert "of 65 alerts" in both
    none = alice.get(QUEUE, {"severity": "urgent", "rule": "interaction"}).content.decode()
    assert "No alerts match these filters." in none and cards(none) == []
    one = alice.get(QUEUE, {"severity": "high", "patient": "a-001"}).content.decode()
    assert "Showing 1-1 of 1 alert." in one
    assert cards(one) == [Alert.objects.get(patient__code="A-001").pk]
    wrong = alice.get(QUEUE, {"severity": "urgent", "patient": "A-001"}).content.decode()
    assert cards(wrong) == []

    by_patient = alice.get(QUEUE, {"sort": "patient"}).content.decode()
    assert cards(by_patient)[:2] == [Alert.objects.get(patient__code=c).pk for c in ("A-000", "A-001")]
    oldest = alice.get(QUEUE, {"sort": "oldest"}).content.decode()
    newest = alice.get(QUEUE, {"sort": "newest"}).content.decode()
    assert cards(oldest)[0] != cards(newest)[0]


def test_bulk_acknowledge_changes_exactly_the_selected_alerts(big: Any, system: Any) -> None:
    alice = login(big.alice)
    picked = list(Alert.objects.filter(severity="high").order_by("pk").values_list("pk", flat=True)[:3])
    back = "/clinic/alerts/?severity=high&page=2"
    response = alice.post("/clinic/alerts/bulk/", {"ids": [str(i) for i in picked], "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert set(Alert.objects.filter(status=AlertStatus.ACKNOWLEDGED).values_list("pk", flat=True)) == set(picked)
    assert Alert.objects.filter(status=AlertStatus.OPEN).count() == 127
    events = AuditEvent.objects.filter(action="alert.acknowledge")
    assert sorted(int(e.object_id) for e in events) == sorted(picked)
    assert "Acknowledged 3 alerts." in alice.get(back).content.decode()

    # A forged id of another clinic's alert: not found, and nothing changes (not even the alice's own ids).
    foreign = foreign_alert(big, system)
    mine = Alert.objects.filter(status=AlertStatus.OPEN, patient__program=big.program).first()
    assert mine is not None
    forged = alice.post("/clinic/alerts/bulk/", {"ids": [str(mine.pk), str(foreign.pk)], "next": back})
    assert forged.status_code == 404
    foreign.refresh_from_db()
    mine.refresh_from_db()
    assert foreign.status == AlertStatus.OPEN and mine.status == AlertStatus.OPEN
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 3
    assert login(big.bob).post("/clinic/alerts/bulk/", {"ids": [str(picked[0])]}).status_code == 404

    nothing = alice.post("/clinic/alerts/bulk/", {"next": back})
    assert nothing.status_code == 400 and "Choose at least one alert" in nothing.content.decode()
    assert alice.post("/clinic/alerts/bulk/", {"ids": ["1; drop"]}).status_code == 404


@pytest.fixture
def small(world: Any, system: Any) -> Any:
    raise_alerts(world, system, 4)
    return world


def test_acknowledge_and_resolve_return_to_the_same_page_and_card(small: Any) -> None:
    alice = login(small.alice)
    alert = Alert.objects.filter(severity="urgent").order_by("pk").first()
    assert alert is not None
    back = "/clinic/alerts/?severity=urgent&page=1"
    ack = alice.post(f"/clinic/alerts/{alert.pk}/acknowledge/", {"next": back})
    assert ack.status_code == 302 and ack["Location"] == f"{back}#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == small.alice

    blank = alice.post(f"/clinic/alerts/{alert.pk}/resolve/", {"note": "  ", "next": back})
    html = blank.content.decode()
    assert blank.status_code == 400
    assert "<h1>Alert queue</h1>" in html  # the queue again, not a separate page
    assert f'aria-describedby="note-{alert.pk}-error"' in html and 'aria-invalid="true"' in html
    assert f'id="note-{alert.pk}-error"' in html and "Write a resolution note before resolving." in html
    assert re.search(rf'id="alert-{alert.pk}".*?<details class="resolve" open>', html, re.S)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED

    done = alice.post(f"/clinic/alerts/{alert.pk}/resolve/", {"note": "Safety plan reviewed", "next": back})
    assert done.status_code == 302 and done["Location"] == f"{back}#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolution_note == "Safety plan reviewed"

    offsite = alice.post(f"/clinic/alerts/{alert.pk}/resolve/", {"note": "x", "next": "https://evil.example/"})
    assert offsite.status_code == 400  # already resolved: shown on the queue, never redirected off site
    assert "already resolved" in offsite.content.decode()


def test_cards_are_compact_labelled_and_in_heading_order(small: Any) -> None:
    alice = login(small.alice)
    html = alice.get(QUEUE).content.decode()
    headings = re.findall(r"<h([1-6])", html.split("<main", 1)[-1])
    assert headings[0] == "1" and set(headings[1:]) == {"2"}
    assert html.count("<summary>Resolve with a note</summary>") == 4
    assert "(patient's time)" in html and re.search(r"last seen \w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d C[SD]T", html)
    assert 'name="ids"' in html and 'form="bulk-form"' in html
    assert 'id="f-program"' not in html  # one program: no program menu
    staff = login(small.staff).get(QUEUE).content.decode()
    assert 'id="f-program"' in staff


def test_patient_and_researcher_cannot_open_the_queue(small: Any) -> None:
    assert login(small.carol).get(QUEUE).status_code == 403
    assert login(small.carol).post("/clinic/alerts/bulk/", {"ids": ["1"]}).status_code == 403
    assert Client().get(QUEUE).status_code == 302
