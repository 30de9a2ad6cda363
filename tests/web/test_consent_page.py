"""The consent page: withdrawing is a two-step choice that says what it changes; afterwards the patient's page
shows the state and "Sign again" instead of actions that would be refused; sign errors are inline (HTTP 400)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.consent import actions as consent_actions
from kratomwatch.consent.models import ConsentRecord
from kratomwatch.consent.status import has_active
from kratomwatch.records.models import Dose

pytestmark = pytest.mark.django_db

PAGE = "/consent/P-001/"


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_withdrawing_asks_first_and_says_what_it_changes(world: Any) -> None:
    carol = login(world.carol)
    page = carol.get(PAGE).content.decode()
    assert 'name="withdraw"' in page and "Withdraw" in page

    ask = carol.get(PAGE, {"withdraw": "care"})
    html = ask.content.decode()
    assert ask.status_code == 200
    assert "Withdraw your consent for care?" in html
    assert "care team can no longer record new data for you" in html
    assert "cannot log doses" in html
    assert "Yes, withdraw" in html and "Keep my consent" in html
    assert has_active(world.patient, "care")  # asking changed nothing

    research = carol.get(PAGE, {"withdraw": "research"}).content.decode()
    assert "de-identified data is left out of future research exports" in research

    # A POST without the confirmation only shows the question again.
    unconfirmed = carol.post(PAGE, {"action": "withdraw", "scope": "care"})
    assert unconfirmed.status_code == 200 and "Yes, withdraw" in unconfirmed.content.decode()
    assert has_active(world.patient, "care")

    done = carol.post(PAGE, {"action": "withdraw", "scope": "care", "confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == "/me/"
    assert not has_active(world.patient, "care") and has_active(world.patient, "research")


def test_home_after_withdrawal_offers_sign_again_not_refused_actions(world: Any) -> None:
    carol = login(world.carol)
    before = carol.get("/me/").content.decode()
    assert 'id="log-dose"' in before and 'id="consent-banner"' not in before
    assert "Review and sign the new consent" not in before

    carol.post(PAGE, {"action": "withdraw", "scope": "care", "confirm": "yes"})
    home = carol.get("/me/").content.decode()
    assert 'id="consent-banner"' in home and 'id="sign-again"' in home
    assert 'id="log-dose"' not in home and "Report a side effect</a>" not in home
    assert "Review and sign the new consent" not in home  # the version did not change

    # The dose form explains in the patient's words, with the date in the patient's zone.
    form = carol.get("/me/dose/")
    text = form.content.decode()
    assert form.status_code == 200
    withdrawn = ConsentRecord.objects.get(patient=world.patient, scope="care").withdrawn_at
    assert withdrawn is not None
    local_day = withdrawn.astimezone(dt.timezone(dt.timedelta(hours=-6))).day
    assert re.search(rf"You withdrew your consent for care on \w{{3}} {local_day} \w{{3}} 2026\.", text)
    assert "Sign again to log doses." in text and "no active care consent" not in text and "P-001 has" not in text
    posted = carol.post("/me/dose/", {"lot_id": world.leaf_cert_lot.pk, "amount": "2", "unit": "g"})
    assert posted.status_code == 403 and "Sign again to log doses." in posted.content.decode()
    assert not Dose.objects.filter(patient=world.patient).exists()
    assert "Sign again to report side effects." in carol.get("/me/side-effect/").content.decode()
    assert "Sign again to fill in questionnaires." in carol.get("/assessments/P-001/phq9/").content.decode()

    # Signing again brings the actions back.
    signed = carol.post(PAGE, {"action": "sign", "scopes": ["care"], "typed_name": "Carol Example"})
    assert signed.status_code == 302
    assert 'id="log-dose"' in carol.get("/me/").content.decode()
    assert "Sign again" not in carol.get("/me/dose/").content.decode()


def test_new_version_wording_only_when_the_document_changed(world: Any, system: Any) -> None:
    carol = login(world.carol)
    consent_actions.publish_document(
        actor=system,
        program=world.program,
        title="Consent",
        body="Monitoring consent for kratomwatch tests, second version.",
        scopes=["care", "research"],
        now=timezone.now(),
    )
    home = carol.get("/me/").content.decode()
    assert home.count("Review and sign the new consent") == 1
    assert 'id="log-dose"' in home  # the old signature still counts until the patient signs the new one


def test_sign_errors_are_inline_and_save_nothing(world: Any) -> None:
    carol = login(world.carol)
    carol.post(PAGE, {"action": "withdraw", "scope": "research", "confirm": "yes"})
    count = ConsentRecord.objects.count()
    empty = carol.post(PAGE, {"action": "sign", "scopes": [], "typed_name": ""})
    html = empty.content.decode()
    assert empty.status_code == 400
    assert 'aria-describedby="scopes-error"' in html and "Tick at least one of the choices" in html
    assert 'aria-describedby="typed_name-error"' in html and "Type your full name to sign." in html
    assert "typed_name:" not in html and "scopes:" not in html
    no_name = carol.post(PAGE, {"action": "sign", "scopes": ["research"], "typed_name": " "})
    assert no_name.status_code == 400 and 'id="typed_name-error"' in no_name.content.decode()
    assert 'value="research" checked' in no_name.content.decode()  # the tick is kept
    assert ConsentRecord.objects.count() == count

    bad_scope = carol.post(PAGE, {"action": "withdraw", "scope": "research", "confirm": "yes"})
    assert bad_scope.status_code == 400 and "Choose a consent you have given" in bad_scope.content.decode()


def test_only_the_patient_withdraws(world: Any) -> None:
    alice = login(world.alice)
    assert alice.get(PAGE).status_code == 200
    assert "Yes, withdraw" not in alice.get(PAGE, {"withdraw": "care"}).content.decode()
    assert alice.post(PAGE, {"action": "withdraw", "scope": "care", "confirm": "yes"}).status_code == 403
    assert has_active(world.patient, "care")
    assert login(world.bob).get(PAGE).status_code == 404
