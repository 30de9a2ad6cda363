"""The n-of-1 API: the clinician designs, signs, starts and stops; the patient signs and withdraws; the analysis
has the CLI's fields; a blinded trial hides its order and results until it ends; bad input names the field; a trial
of another clinic is not found; every read and write is audited."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kratomwatch import access
from kratomwatch.audit.models import AuditEvent
from kratomwatch.consent import actions as consent_actions
from kratomwatch.core.errors import Forbidden, NotFound
from kratomwatch.nof1 import actions
from kratomwatch.nof1.models import Trial
from tests.helpers import api
from tests.nof1.conftest import run_in_past, trial_in, urgent_alert

pytestmark = pytest.mark.django_db


def _body() -> dict[str, Any]:
    """The conftest design as the API's JSON (secondary outcomes as objects)."""
    body = dataclasses.asdict(trial_in(seed=7))
    body["secondary_instruments"] = [{"instrument_id": i, "every_days": n} for i, n in body["secondary_instruments"]]
    return body


BODY = _body()


def create(world: Any, **changes: Any) -> Any:
    return api(world, "alice", "post", f"/patients/{world.patient.code}/nof1-trials", BODY | changes)


def test_the_clinician_designs_signs_and_starts_and_the_patient_signs(world: Any) -> None:
    made = create(world)
    assert made.status_code == 201, made.content
    trial = made.json()
    assert trial["status"] == "draft" and trial["seed"] == 7 and trial["periods"] == []
    assert [c["code"] for c in trial["conditions"]] == ["A", "B"]
    tid = trial["id"]
    early = api(world, "carol", "post", f"/nof1-trials/{tid}/sign", {"signed_name": "Carol"})
    assert early.status_code == 409 and early.json()["error"]["field"] == "clinician_signed_at"
    signed = api(world, "alice", "post", f"/nof1-trials/{tid}/sign", {})
    assert signed.status_code == 200 and len(signed.json()["protocol_sha256"]) == 64
    pdf = api(world, "carol", "get", f"/nof1-trials/{tid}/protocol.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf["X-Content-SHA256"] == signed.json()["protocol_sha256"]
    by_patient = api(world, "carol", "post", f"/nof1-trials/{tid}/sign", {"signed_name": "Carol Patient"})
    assert by_patient.status_code == 200 and by_patient.json()["status"] == "signed"
    assert api(world, "carol", "post", f"/nof1-trials/{tid}/start", {}).status_code == 403, "the care team starts"
    started = api(world, "alice", "post", f"/nof1-trials/{tid}/start", {})
    assert started.status_code == 200, started.content
    body = started.json()
    assert body["status"] == "active" and len(body["periods"]) == 4
    assert body["today"]["state"] == "run-in"
    listed = api(world, "carol", "get", f"/patients/{world.patient.code}/nof1-trials")
    assert [t["id"] for t in listed.json()] == [tid]
    actions_seen = set(
        AuditEvent.objects.filter(object_type="nof1_trial", object_id=str(tid)).values_list("action", flat=True)
    )
    assert {"nof1.create", "nof1.sign.clinician", "nof1.sign.patient", "nof1.start"} <= actions_seen
    assert AuditEvent.objects.filter(action="patient.read.nof1", patient_code=world.patient.code).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"conditions": [{"code": "A", "label": "U"}, {"code": "B", "label": "R"}]}, "reference"),
        ({"washout_days": 5}, "washout_days"),
        ({"blocks": 1}, "blocks"),
        (
            {"conditions": [{"code": "A", "label": "U", "is_reference": True}, {"code": "A", "label": "R"}]},
            "conditions",
        ),
        ({"primary_instrument": "nope"}, "primary_instrument"),
    ],
)
def test_a_design_that_cannot_run_is_a_400_naming_the_field(world: Any, changes: dict[str, Any], field: str) -> None:
    response = create(world, **changes)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_another_clinic_and_a_missing_trial_look_the_same(world: Any) -> None:
    tid = create(world).json()["id"]
    for user, path in (("bob", f"/nof1-trials/{tid}"), ("alice", "/nof1-trials/999999")):
        response = api(world, user, "get", path)
        assert response.status_code == 404 and response.json()["error"]["field"] == "trial_id"
    assert api(world, "bob", "post", f"/patients/{world.patient.code}/nof1-trials", BODY).status_code == 404
    assert AuditEvent.objects.filter(action="patient.read_refused", patient_code=f"nof1-trial:{tid}").exists()


def test_access_separates_the_care_team_the_patient_and_care_consent(world: Any, system: Any) -> None:
    tid = create(world).json()["id"]
    with pytest.raises(Forbidden):
        access.get_trial_for(world.carol, tid)
    assert access.get_trial_for(world.carol, tid, own_ok=True).pk == tid
    assert access.get_own_trial_for(world.carol, tid).pk == tid
    with pytest.raises(NotFound):
        access.get_own_trial_for(world.alice, tid)
    consent_actions.withdraw(actor=system, patient=world.patient, scope="care")
    assert access.get_trial_for(world.alice, tid).pk == tid, "the trial is kept"
    with pytest.raises(Exception, match="care consent"):
        access.get_trial_for(world.alice, tid, write=True)


def test_a_change_after_the_patient_signed_is_a_409(world: Any, system: Any) -> None:
    tid = create(world).json()["id"]
    assert api(world, "alice", "put", f"/nof1-trials/{tid}", BODY | {"period_days": 6}).json()["period_days"] == 6
    api(world, "alice", "post", f"/nof1-trials/{tid}/sign", {})
    api(world, "carol", "post", f"/nof1-trials/{tid}/sign", {"signed_name": "Carol"})
    assert api(world, "alice", "put", f"/nof1-trials/{tid}", BODY).status_code == 409


def test_the_analysis_has_the_clis_fields_and_adherence(world: Any, system: Any, signed: Trial) -> None:
    run_in_past(world, system, signed)
    response = api(world, "alice", "get", f"/nof1-trials/{signed.pk}/analysis")
    assert response.status_code == 200, response.content
    body = response.json()
    b = body["analysis"]["conditions"]["B"]
    assert {"effect", "interval_95", "prob_better", "prob_better_by_mcid", "n_days_used", "frequentist"} <= set(b)
    assert b["interval_95"][0] < b["effect"] < b["interval_95"][1] and b["prob_better"] > 0.9
    assert body["analysis"]["reference"] == "A"
    assert [a["position"] for a in body["adherence"]] == [1, 2, 3, 4]


def test_a_blinded_trial_hides_its_order_and_results_until_it_ends(world: Any, system: Any) -> None:
    tid = create(world, blinded=True).json()["id"]
    api(world, "alice", "post", f"/nof1-trials/{tid}/sign", {})
    api(world, "carol", "post", f"/nof1-trials/{tid}/sign", {"signed_name": "Carol"})
    body = api(world, "alice", "post", f"/nof1-trials/{tid}/start", {}).json()
    assert body["seed"] is None and {p["condition"] for p in body["periods"]} == {None}
    refused = api(world, "alice", "get", f"/nof1-trials/{tid}/analysis")
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "blinded"
    withdrawn = api(world, "carol", "post", f"/nof1-trials/{tid}/stop", {"reason": "Too much to keep up"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "stopped"
    assert withdrawn.json()["stop_reason"].startswith("Withdrawn by the patient.")
    ended = api(world, "alice", "get", f"/nof1-trials/{tid}").json()
    assert ended["seed"] == 7 and {p["condition"] for p in ended["periods"]} == {"A", "B"}
    assert api(world, "alice", "get", f"/nof1-trials/{tid}/analysis").status_code == 200


def test_a_running_trial_with_an_urgent_alert_asks_the_care_team_to_review_the_stopping_rules(
    world: Any, system: Any, signed: Trial
) -> None:
    actions.start_trial(actor=system, trial=signed, user=world.alice)
    urgent_alert(world, system)
    care = api(world, "alice", "get", f"/nof1-trials/{signed.pk}").json()
    assert [r["severity"] for r in care["review_stopping_rules"]] == ["urgent"]
    assert api(world, "carol", "get", f"/nof1-trials/{signed.pk}").json()["review_stopping_rules"] == []
    stopped = api(world, "alice", "post", f"/nof1-trials/{signed.pk}/stop", {"reason": ""})
    assert stopped.status_code == 400 and stopped.json()["error"]["field"] == "reason"


def test_a_trial_past_its_last_period_reads_as_completed(world: Any, system: Any, signed: Trial) -> None:
    run_in_past(world, system, signed)
    body = api(world, "carol", "get", f"/nof1-trials/{signed.pk}").json()
    assert body["status"] == "completed" and body["today"]["state"] == "ended"
    analysis = api(world, "alice", "get", f"/nof1-trials/{signed.pk}/analysis").json()
    assert analysis["complete"] is True
