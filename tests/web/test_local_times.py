"""Times as the patient lives them: a dose typed at 10:00 is confirmed at 10:00 in the patient's zone, across
both daylight-saving changes, in two zones (America/Chicago and Europe/Berlin); the /me/ list shows local time;
the staff alert card names the patient's zone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _enrolled_since(patient: Any, day: dt.date) -> None:
    """Backdate enrolment so doses around this year's clock changes are after the patient joined."""
    from kratomwatch.records.models import Patient

    Patient.objects.filter(pk=patient.pk).update(created_at=dt.datetime.combine(day, dt.time(0), tzinfo=UTC))


@pytest.fixture
def berlin(world: Any, system: Any) -> Any:
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.consent.models import ConsentDocument
    from kratomwatch.records import actions

    patient = actions.create_patient(
        actor=system,
        program=world.program,
        code="P-BER",
        birth_year=1985,
        sex="male",
        time_zone="Europe/Berlin",
        jurisdiction="DE",
    )
    user, _ = actions.create_patient_login(
        actor=system, patient=patient, username="dieter", password="x-horse-battery-9"
    )
    doc = ConsentDocument.objects.filter(program=world.program).latest("pk")
    consent_actions.sign(actor=system, patient=patient, document=doc, scopes=["care"], typed_name="Dieter B")
    return patient, user


def _post_dose(client: Client, lot_id: int, taken_at: str, key: str) -> Any:
    return client.post(
        reverse("patient-dose"),
        {
            "form": "other",
            "idempotency_key": key,
            "lot_id": str(lot_id),
            "amount": "2",
            "unit": "g",
            "taken_at": taken_at,
        },
    )


CHICAGO = [
    # typed, stored instant (UTC), abbreviation shown
    ("2026-11-30T10:00", dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "CST"),
    ("2026-03-07T10:00", dt.datetime(2026, 3, 7, 16, 0, tzinfo=UTC), "CST"),  # the day before spring-forward
    ("2026-03-08T10:00", dt.datetime(2026, 3, 8, 15, 0, tzinfo=UTC), "CDT"),  # spring-forward day, after the change
    ("2026-10-31T10:00", dt.datetime(2026, 10, 31, 15, 0, tzinfo=UTC), "CDT"),  # the day before fall-back
    ("2026-11-01T10:00", dt.datetime(2026, 11, 1, 16, 0, tzinfo=UTC), "CST"),  # fall-back day, after the change
    ("2026-11-01T01:30", dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "CDT"),  # ambiguous: the first 01:30
]

BERLIN = [
    ("2026-11-30T10:00", dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC), "CET"),
    ("2026-03-29T10:00", dt.datetime(2026, 3, 29, 8, 0, tzinfo=UTC), "CEST"),  # EU spring-forward day
    ("2026-10-25T10:00", dt.datetime(2026, 10, 25, 9, 0, tzinfo=UTC), "CET"),  # EU fall-back day
    ("2026-10-25T02:30", dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "CEST"),  # ambiguous: the first 02:30
]


def _check_confirmation(
    client: Client, response: Any, typed: str, stored: dt.datetime, abbr: str, patient: Any
) -> None:
    from kratomwatch.records.models import Dose

    assert response.status_code == 302, response.content.decode()[:2000]
    dose = Dose.objects.get(patient=patient, taken_at=stored)
    page = client.get(response["Location"]).content.decode()
    typed_at = dt.datetime.fromisoformat(typed)
    when = re.search(r'id="dose-when">([^<]*)<', page)
    day = re.search(r'id="dose-day">([^<]*)<', page)
    assert when and when.group(1) == f"{typed_at:%H:%M}", page
    assert day and day.group(1) == f"{typed_at:%a} {typed_at.day} {typed_at:%b %Y}"  # with the year
    assert f"({abbr}, your time zone)" in page
    utc_clock = f"{stored:%H:%M}"
    assert utc_clock == typed[-5:] or utc_clock not in page  # never the UTC clock time
    assert dose.local_date == typed_at.date()


@pytest.mark.parametrize(("typed", "stored", "abbr"), CHICAGO)
def test_chicago_dose_typed_at_local_time_is_confirmed_at_that_time(
    world: Any, typed: str, stored: dt.datetime, abbr: str
) -> None:
    _enrolled_since(world.patient, dt.date(2026, 1, 1))
    client = _client(world.carol)
    response = _post_dose(client, world.leaf_cert_lot.pk, typed, f"k-{typed}")
    _check_confirmation(client, response, typed, stored, abbr, world.patient)


@pytest.mark.parametrize(("typed", "stored", "abbr"), BERLIN)
def test_berlin_dose_typed_at_local_time_is_confirmed_at_that_time(
    world: Any, berlin: Any, typed: str, stored: dt.datetime, abbr: str
) -> None:
    patient, user = berlin
    _enrolled_since(patient, dt.date(2026, 1, 1))
    client = _client(user)
    response = _post_dose(client, world.leaf_cert_lot.pk, typed, f"k-{typed}")
    _check_confirmation(client, response, typed, stored, abbr, patient)


@pytest.mark.parametrize(
    ("who", "typed", "day"),
    [("chicago", "2026-03-08T02:30", "8 Mar 2026"), ("berlin", "2026-03-29T02:30", "29 Mar 2026")],
)
def test_a_time_the_clocks_skip_is_refused_in_plain_words(
    world: Any, berlin: Any, who: str, typed: str, day: str
) -> None:
    from kratomwatch.records.models import Dose

    patient, user = (world.patient, world.carol) if who == "chicago" else berlin
    _enrolled_since(patient, dt.date(2026, 1, 1))
    before = Dose.objects.count()
    response = _post_dose(_client(user), world.leaf_cert_lot.pk, typed, "k-gap")
    html = response.content.decode()
    assert response.status_code == 400
    assert f"02:30 did not exist on {day} in your time zone" in html
    errors = html.split('id="form-errors"', 1)[1].split("</div>", 1)[0]
    assert "taken_at" not in errors.replace('href="#f-taken_at"', "") and "T02:30" not in errors
    assert Dose.objects.count() == before


def test_home_today_list_shows_the_patients_local_time(world: Any, system: Any) -> None:
    from django.utils import timezone

    from kratomwatch.records import actions

    now = timezone.now().replace(second=0, microsecond=0)
    local = now.astimezone(ZoneInfo("America/Chicago"))
    # A minute ago, but never before the patient's local midnight, so the dose is on today's list at any hour.
    midnight = local.replace(hour=0, minute=0)
    taken = max(now - dt.timedelta(minutes=1), midnight.astimezone(dt.UTC))
    actions.record_dose(
        actor=system,
        patient=world.patient,
        dose=actions.DoseIn("P-001", world.leaf_cert_lot.pk, taken, 2.0, "g", idempotency_key="home-1"),
    )
    html = _client(world.carol).get(reverse("patient-home")).content.decode()
    today_list = html.split('class="pt-doses"', 1)[1].split("</ul>", 1)[0]
    assert f"{taken.astimezone(ZoneInfo('America/Chicago')):%H:%M}" in today_list
    assert f"{taken:%H:%M}" not in today_list  # the UTC clock (Chicago is 5-6 hours behind)


def test_staff_alert_card_names_the_patients_zone(world: Any, system: Any) -> None:
    from kratomwatch.alerts.models import Alert
    from kratomwatch.records import actions
    from kratomwatch.web.templatetags.kwtime import local

    actions.record_adverse_event(
        actor=system,
        patient=world.patient,
        term="seizure",
        onset=world.patient.local_today(),
        grade=3,
        seriousness=["hospitalization"],
    )
    alert = Alert.objects.filter(patient=world.patient).latest("pk")
    client = _client(world.alice)
    for url in (reverse("clinic-patient", args=["P-001"]), reverse("clinic-alerts")):
        html = client.get(url).content.decode()
        card = html.split(f'id="alert-{alert.pk}"', 1)[1].split("</article>", 1)[0]
        shown = local(alert.last_seen_at, "America/Chicago")
        assert shown in card, card
        assert shown.endswith((" CST", " CDT"))
