"""Review polish: implausible past dates refused in plain words, patient errors without internal names, the unit
list fitting the product, the API tokens page (post-redirect-get), and the audit page (a bad date lists nothing;
CSV download audited)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _dose(client: Client, lot_id: int, **extra: str) -> Any:
    data = {"form": "other", "idempotency_key": "k-" + "-".join(extra.values()), "lot_id": str(lot_id)}
    data |= {"amount": "2", "unit": "g", "taken_at": ""} | extra
    return client.post(reverse("patient-dose"), data)


def _errors(response: Any) -> str:
    html = response.content.decode()
    assert 'id="form-errors"' in html, html[:3000]
    return html.split('id="form-errors"', 1)[1].split("</div>", 1)[0]


def test_a_dose_dated_1900_is_refused_with_the_year_named_and_nothing_saved(world: Any) -> None:
    from kratomwatch.records.models import Dose

    response = _dose(_client(world.carol), world.leaf_cert_lot.pk, taken_at="1900-01-01T10:00")
    errors = _errors(response)
    assert response.status_code == 400
    assert "That date (1 Jan 1900) is before you joined the program" in errors and "Check the year." in errors
    assert not Dose.objects.filter(patient=world.patient).exists()


def test_a_dose_more_than_a_year_ago_is_refused_even_for_an_old_enrolment(world: Any) -> None:
    from django.utils import timezone

    from kratomwatch.core.errors import InputError
    from kratomwatch.records import actions
    from kratomwatch.records.models import Dose, Patient

    Patient.objects.filter(pk=world.patient.pk).update(created_at=timezone.now() - dt.timedelta(days=900))
    world.patient.refresh_from_db()
    old = timezone.now() - dt.timedelta(days=400)
    from kratomwatch.audit.log import Actor

    with pytest.raises(InputError) as caught:  # the API and the CLI get the same rule from the action
        actions.record_dose(
            actor=Actor.system("test"),
            patient=world.patient,
            dose=actions.DoseIn("P-001", world.leaf_cert_lot.pk, old, 2.0, "g", idempotency_key="old"),
        )
    assert caught.value.field == "taken_at" and "more than a year ago" in caught.value.message
    assert not Dose.objects.filter(patient=world.patient).exists()


def test_a_side_effect_before_enrolment_is_refused(world: Any) -> None:
    from kratomwatch.records.models import AdverseEvent

    response = _client(world.carol).post(
        reverse("patient-side-effect"), {"term": "Nausea", "onset": "1900-01-01", "grade": "1"}
    )
    assert response.status_code == 400
    errors = _errors(response)
    assert 'href="#f-onset">When it started</a>' in errors and "1 Jan 1900" in errors and "Check the year" in errors
    assert not AdverseEvent.objects.exists()


def test_a_future_time_is_shown_as_a_local_date_not_an_iso_offset(world: Any) -> None:
    response = _dose(_client(world.carol), world.leaf_cert_lot.pk, taken_at="2030-01-01T10:00")
    errors = _errors(response)
    assert response.status_code == 400
    assert "That time (1 Jan 2030, 10:00) is in the future" in errors
    assert "2030-01-01T" not in errors and "-06:00" not in errors and "taken_at " not in errors


def test_a_unit_that_does_not_fit_names_the_product_form_in_words(world: Any) -> None:
    from kratomwatch.records.models import Dose

    response = _dose(_client(world.carol), world.leaf_cert_lot.pk, unit="mL")
    errors = _errors(response)
    assert response.status_code == 400
    assert "mL does not fit a leaf powder product. Choose one of: g, mg, teaspoon, tablespoon." in errors
    assert "leaf_powder" not in errors
    assert not Dose.objects.exists()


def test_too_large_an_amount_is_refused_without_internal_words(world: Any) -> None:
    response = _dose(_client(world.carol), world.leaf_cert_lot.pk, amount="1000000000")
    errors = _errors(response)
    assert response.status_code == 400
    assert "far more than one dose could be" in errors and "plausibility" not in errors


def test_the_unit_list_carries_each_products_units(world: Any) -> None:
    html = _client(world.carol).get(reverse("patient-dose")).content.decode()
    leaf = re.search(rf'<option value="{world.leaf_cert_lot.pk}" data-units="([^"]*)"', html)
    shot = re.search(rf'<option value="{world.shot_lot.pk}" data-units="([^"]*)"', html)
    assert leaf and leaf.group(1) == "g mg teaspoon tablespoon"
    assert shot and shot.group(1) == "mL teaspoon tablespoon"
    assert "web/dose_units.js" in html and "<script>" not in html


def test_no_care_consent_speaks_to_the_patient(world: Any) -> None:
    from kratomwatch.consent.guard import ConsentRequired, require_care_consent
    from kratomwatch.consent.models import ConsentRecord
    from kratomwatch.web.forms import patient_message

    ConsentRecord.objects.filter(patient=world.patient).delete()
    with pytest.raises(ConsentRequired) as caught:
        require_care_consent(world.patient)
    field, message = patient_message(caught.value, zone=world.patient.time_zone)
    assert field == "form" and message.startswith("You have no active care consent")
    assert "P-001" not in message


def test_creating_a_token_redirects_and_a_reload_creates_nothing(world: Any) -> None:
    from kratomwatch.accounts.models import ApiToken

    client = _client(world.alice)
    before = ApiToken.objects.filter(user=world.alice).count()
    response = client.post(reverse("account-tokens"), {"name": "laptop"})
    assert response.status_code == 302 and response["Location"] == reverse("account-tokens")
    shown = client.get(reverse("account-tokens")).content.decode()
    assert 'id="new-token"' in shown
    again = client.get(reverse("account-tokens")).content.decode()  # a reload: a GET, shown no more
    assert 'id="new-token"' not in again
    assert ApiToken.objects.filter(user=world.alice).count() == before + 1
    assert "active" in again.split("laptop", 1)[1].split("</tr>", 1)[0]


def test_a_bad_token_name_is_an_inline_error_with_400(world: Any) -> None:
    from kratomwatch.accounts.models import ApiToken

    before = ApiToken.objects.count()
    response = _client(world.alice).post(reverse("account-tokens"), {"name": ""})
    assert response.status_code == 400 and "Give the token a name" in response.content.decode()
    assert ApiToken.objects.count() == before


def test_audit_bad_date_shows_the_error_and_lists_no_events(world: Any) -> None:
    response = _client(world.admin).get(reverse("audit-log"), {"since": "notadate"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in html and "From: “notadate” is not a date" in html
    assert "<td>" not in html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].replace('<td colspan="7">', "")
    assert "since must be" not in html


def test_audit_csv_downloads_the_filtered_events_and_is_audited(world: Any) -> None:
    from kratomwatch.audit.models import AuditEvent

    client = _client(world.admin)
    page = client.get(reverse("audit-log"), {"action": "patient."}).content.decode()
    assert "download=csv" in page
    response = client.get(reverse("audit-log"), {"action": "patient.", "download": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["id", "at_utc", "actor", "action"]
    assert len(rows) > 1 and all(r[3].startswith("patient.") for r in rows[1:])
    export = AuditEvent.objects.filter(action="audit.export").latest("id")
    assert export.actor_label == world.admin.username or "pa" in export.actor_label
    assert export.detail["rows"] == len(rows) - 1


def test_audit_csv_is_refused_to_a_clinician(world: Any) -> None:
    response = _client(world.alice).get(reverse("audit-log"), {"download": "csv"})
    assert response.status_code == 403
