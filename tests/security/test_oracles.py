"""D12: existence oracles. An id of another program and an id that exists nowhere get the same answer (status, field
and message, the id aside), so a user cannot learn what another program holds. Patient codes and logins are
registry-wide, so "taken" cannot be hidden; its answer is the same whether the code or login is taken in the
asker's program or in another one (docs/security.md, Existence oracles)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.consent.models import ConsentDocument, ConsentRecord
from kratomwatch.core.errors import InputError
from kratomwatch.records import actions
from kratomwatch.records.models import Dose
from tests.helpers import api
from tests.web.test_alert_queue import foreign_alert

pytestmark = pytest.mark.django_db

PW = "a-long-password-42"
NOWHERE = 987_654


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


@pytest.fixture
def foreign(world: Any, system: Any) -> Any:
    """The other program's catalogue, alert, entry, consent document and signature (ids the pain program's users
    must not be able to tell from ids that do not exist)."""
    w = world
    product = actions.create_product(actor=system, program=w.other_program, vendor="W", name="Leaf", form="leaf_powder")
    w.foreign_product = product
    w.foreign_lot = actions.create_lot(actor=system, product=product, lot_code="W1")
    w.foreign_med = actions.record_medication(actor=system, patient=w.foreign_patient, name="sertraline 50 mg")
    w.foreign_alert = foreign_alert(w, system)
    w.foreign_document = ConsentDocument.objects.get(program=w.other_program)
    w.foreign_signature = ConsentRecord.objects.filter(patient=w.foreign_patient).order_by("pk").first()
    assert w.foreign_signature is not None
    return w


def answer(response: Any, asked: Any) -> tuple[int, str, str]:
    """Status, field and message of an API error, with the id or code that was asked for blanked out."""
    error = response.json()["error"]
    return response.status_code, str(error["field"]), str(error["message"]).replace(str(asked), "<asked>")


def same_answer(w: Any, user: str, method: str, path: str, body: Any, foreign_id: Any, unknown_id: Any) -> Any:
    """Ask once with another program's id and once with an id that exists nowhere; the answers must be identical."""
    a = api(w, user, method, path.format(id=foreign_id), body(foreign_id) if callable(body) else body)
    b = api(w, user, method, path.format(id=unknown_id), body(unknown_id) if callable(body) else body)
    assert a.status_code >= 400, (path, a.status_code)
    assert answer(a, foreign_id) == answer(b, unknown_id), (path, a.content, b.content)
    return answer(a, foreign_id)


def page(response: Any, asked: Any = None) -> str:
    """The page without its CSRF token (new on every response), with what was asked for (if given) blanked out."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    if asked is None:
        return html
    # Whole values only: a lot id such as 26 must not also blank out the "26" inside "2026".
    return re.sub(rf"(?<![0-9A-Za-z]){re.escape(str(asked))}(?![0-9A-Za-z])", "<asked>", html)


def said(response: Any, words: str, asked: str) -> list[str]:
    """Every text of a page that contains ``words`` (the error lines), with what was asked for blanked out."""
    html = response.content.decode()
    return [t.replace(asked, "<asked>") for t in re.findall(r"[^<>]*" + re.escape(words) + r"[^<>]*", html)]


# --- (a) ids of another program read as ids that do not exist ------------------------------------------------------


def _dose(taken_at: dt.datetime) -> Any:
    return lambda lot_id: {"lot_id": lot_id, "taken_at": taken_at.isoformat(), "amount": 1, "unit": "g"}


def test_another_programs_lot_and_an_unknown_lot_get_the_same_dose_answer(foreign: Any) -> None:
    w = foreign
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    for user in ("alice", "carol"):
        status, field, message = same_answer(
            w, user, "post", "/patients/P-001/doses", _dose(hour_ago), w.foreign_lot.pk, NOWHERE
        )
        assert (status, field) == (400, "lot_id") and "catalogue" in message and "exist" not in message
    # The lot is refused before any other check, so a second error cannot tell the two apart either.
    tomorrow = timezone.now() + dt.timedelta(days=1)
    status, field, _ = same_answer(
        w, "alice", "post", "/patients/P-001/doses", _dose(tomorrow), w.foreign_lot.pk, NOWHERE
    )
    assert (status, field) == (400, "lot_id")
    assert not Dose.objects.filter(patient=w.patient).exists()


def test_the_dose_actions_give_one_message_for_a_foreign_and_an_unknown_lot(foreign: Any, system: Any) -> None:
    w = foreign
    when = timezone.now() - dt.timedelta(hours=1)
    messages = []
    for lot_id in (w.foreign_lot.pk, NOWHERE):
        dose = actions.DoseIn("P-001", lot_id, when, 1.0, "g")
        with pytest.raises(InputError) as raised:
            actions.record_dose(actor=system, patient=w.patient, dose=dose)
        result = actions.import_doses(actor=system, rows=[(2, dose)])
        (line, error), *_ = result.rejected
        assert line == 2 and error.message == raised.value.message
        messages.append(raised.value.message.replace(str(lot_id), "<asked>"))
    assert messages[0] == messages[1]


def test_the_clinic_dose_form_answers_a_foreign_lot_as_an_unknown_one(foreign: Any) -> None:
    client = Client()
    client.force_login(foreign.alice)
    bodies = []
    for lot_id in (foreign.foreign_lot.pk, NOWHERE):
        data = {"form_id": "f1", "lot": str(lot_id), "amount": "1", "unit": "g", "taken_at": "2026-11-30T10:00"}
        response = client.post("/clinic/patients/P-001/doses/new/", data)
        assert response.status_code == 400
        bodies.append(page(response, lot_id).split("<main", 1)[1].split("</main>", 1)[0])
    assert bodies[0] == bodies[1]


def test_other_ids_of_another_program_read_as_ids_that_do_not_exist(foreign: Any) -> None:
    w = foreign
    checks = [
        ("alice", "get", "/products/{id}/lots", None, w.foreign_product.pk),
        ("pa", "post", "/products/{id}/lots", {"lot_code": "X1"}, w.foreign_product.pk),
        ("pa", "put", "/lots/{id}", {"recalled": True}, w.foreign_lot.pk),
        ("alice", "post", "/alerts/{id}/acknowledge", None, w.foreign_alert.pk),
        ("alice", "post", "/alerts/{id}/resolve", {"note": "seen"}, w.foreign_alert.pk),
        ("alice", "post", "/patients/P-001/medication/{id}/void", {"reason": "wrong patient"}, w.foreign_med.pk),
        ("carol", "get", "/patients/P-001/consent/records/{id}/pdf", None, w.foreign_signature.pk),
        (
            "carol",
            "post",
            "/patients/P-001/consent/sign",
            lambda i: {"document_id": i, "scopes": ["care"], "typed_name": "Carol C"},
            w.foreign_document.pk,
        ),
        ("pa", "delete", f"/programs/{w.program.pk}/users/{{id}}", None, w.bob.pk),
        ("pa", "delete", f"/programs/{w.program.pk}/users/{{id}}", None, w.carol.pk),
    ]
    for user, method, path, body, foreign_id in checks:
        status, _, _ = same_answer(w, user, method, path, body, foreign_id, NOWHERE)
        assert status == 404, (user, method, path, status)


def test_the_clinic_pages_answer_another_programs_alert_as_an_unknown_one(foreign: Any) -> None:
    client = Client()
    client.force_login(foreign.alice)
    for path in ("/clinic/alerts/{id}/acknowledge/", "/clinic/alerts/{id}/resolve/"):
        a = client.post(path.format(id=foreign.foreign_alert.pk), {"note": "seen"})
        b = client.post(path.format(id=NOWHERE), {"note": "seen"})
        assert a.status_code == b.status_code == 404
        assert page(a) == page(b)
    a = client.post("/clinic/alerts/bulk/", {"ids": [str(foreign.foreign_alert.pk)]})
    b = client.post("/clinic/alerts/bulk/", {"ids": [str(NOWHERE)]})
    assert a.status_code == b.status_code == 404 and page(a) == page(b)


# --- (b) patient codes and (c) logins are registry-wide: "taken" reads the same wherever it is taken ------------------


def _patient(code: str) -> dict[str, Any]:
    return {
        "program_id": 0,
        "code": code,
        "birth_year": 1980,
        "sex": "female",
        "time_zone": "UTC",
        "jurisdiction": "US-TX",
    }


def test_a_patient_code_taken_in_another_program_reads_as_one_taken_in_ones_own(world: Any) -> None:
    body = lambda code: {**_patient(code), "program_id": world.program.pk}  # noqa: E731
    status, field, message = same_answer(world, "alice", "post", "/patients", body, "Q-001", "P-001")
    assert (status, field) == (409, "code") and "already in use" in message
    assert "Other clinic" not in message and "other" not in message.lower().split("<asked>")[1]


def test_the_enrol_page_says_the_same_for_a_code_taken_anywhere(world: Any) -> None:
    client = Client()
    client.force_login(world.alice)
    bodies = []
    for code in ("Q-001", "P-001"):
        data = {
            "program": str(world.program.pk),
            "code": code,
            "birth_year": "1980",
            "sex": "female",
            "time_zone": "America/Chicago",
            "jurisdiction": "US-TX",
        }
        response = client.post("/clinic/patients/new/", data)
        assert response.status_code == 400
        bodies.append(said(response, "already in use", code))
    assert bodies[0] == bodies[1] and bodies[0]


def test_a_login_taken_in_another_program_reads_as_one_taken_in_ones_own(world: Any) -> None:
    path = f"/programs/{world.program.pk}/users"
    body = lambda name: {"username": name, "password": PW, "role": "clinician"}  # noqa: E731
    status, field, message = same_answer(world, "pa", "post", path, body, "bob", "alice")
    assert (status, field) == (400, "username") and "taken" in message


def test_the_program_users_page_says_the_same_for_a_login_taken_anywhere(world: Any) -> None:
    client = Client()
    client.force_login(world.admin)
    bodies = []
    for name in ("bob", "alice"):
        data = {"form_name": "add", "username": name, "password": PW, "role": "clinician"}
        response = client.post(f"/program/users/?program={world.program.pk}", data)
        assert response.status_code == 400, response.status_code
        bodies.append(said(response, "taken", name))
    assert bodies[0] == bodies[1] and bodies[0]
