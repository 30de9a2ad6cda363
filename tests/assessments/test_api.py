"""Assessment API: definitions, submit/list round trips, errors in the one shape, access, trajectories,
schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.assessments import actions
from kratomwatch.assessments.models import Assessment, Schedule
from kratomwatch.core import instruments as ins
from tests.assessments.conftest import assert_error, call, sample_answers

pytestmark = pytest.mark.django_db


def _when(hours_ago: float = 1.0) -> str:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).isoformat()


def test_openapi_lists_the_assessment_routes(world: Any) -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/instruments",
        "/api/v1/instruments/{instrument_id}",
        "/api/v1/patients/{code}/assessments",
        "/api/v1/patients/{code}/trajectories",
        "/api/v1/patients/{code}/schedules",
    ):
        assert path in paths, path


def test_instrument_definitions_are_served_with_sources_and_without_unshipped_text(world: Any) -> None:
    status, body = call(world, "carol", "get", "/instruments")
    assert status == 200
    assert [d["id"] for d in body] == list(ins.instrument_ids())
    by_id = {d["id"]: d for d in body}
    phq9 = by_id["phq9"]
    assert phq9["version"] == ins.get("phq9").version
    assert len(phq9["items"]) == 9 and phq9["items"][8]["id"] == "phq9_9" and phq9["items"][8]["position"] == 9
    assert phq9["items"][0]["text"] and phq9["items"][0]["loinc"] == "44250-9"
    assert [o["value"] for o in phq9["items"][0]["options"]] == [0, 1, 2, 3]
    assert phq9["mcid"] == 5.0 and phq9["loinc_panel"] == "44249-1"
    assert [b["id"] for b in phq9["scales"][0]["bands"]][-1] == "severe"
    assert {"suicidality", "screen_positive"} <= {f["id"] for f in phq9["flags"]}
    assert all(s["pmid"] or s["doi"] or s["url"] for s in phq9["sources"])
    bpi = by_id["bpi_sf"]
    assert bpi["ships_item_text"] is False
    assert all(item["text"] is None for item in bpi["items"]) and bpi["items"][0]["label"] == "worst pain"
    assert bpi["licence"]
    assert by_id["cows"]["clinician_administered"] is True and by_id["phq9"]["clinician_administered"] is False


def test_single_definition_and_unknown_id(world: Any) -> None:
    status, body = call(world, "alice", "get", "/instruments/gad7")
    assert status == 200 and body["id"] == "gad7" and body["scales"][0]["score_max"] == 21
    status, body = call(world, "alice", "get", "/instruments/nope")
    assert status == 404
    assert_error(body, "not_found", "instrument")


@pytest.mark.parametrize("instrument_id", ins.instrument_ids())
def test_every_instrument_round_trips_through_the_api(world: Any, instrument_id: str) -> None:
    definition = ins.get(instrument_id)
    answers = sample_answers(definition)
    expected = ins.score(definition, answers)
    status, body = call(
        world,
        "alice",
        "post",
        "/patients/P-001/assessments",
        {"instrument": instrument_id, "answers": answers, "administered_at": _when()},
    )
    assert status == 201, body
    assert body["instrument"] == instrument_id and body["source"] == "clinician"
    assert body["scores"] == {s.scale_id: s.value for s in expected.scales}
    assert body["total"] == expected.total and body["valid"] is expected.valid
    assert body["band"] == ({"id": expected.band.id, "label": expected.band.label} if expected.band else None)
    assert [f["id"] for f in body["flags"]] == list(expected.flag_ids)
    assert [f["id"] for f in body["flag_details"]] == list(expected.flag_ids)
    assert [s["scale_id"] for s in body["scales"]] == [s.scale_id for s in expected.scales]
    stored = Assessment.objects.get(pk=body["id"])
    assert stored.answers == answers and stored.scores == body["scores"] and stored.patient.code == "P-001"
    status, listed = call(world, "alice", "get", f"/patients/P-001/assessments?instrument={instrument_id}")
    assert status == 200 and listed["count"] == 1
    assert listed["items"][0]["scores"] == body["scores"] and listed["items"][0]["answers"] == answers


def test_patient_submits_own_phq9_and_gets_the_urgent_notice(world: Any) -> None:
    status, body = call(
        world,
        "carol",
        "post",
        "/patients/P-001/assessments",
        {"instrument": "phq9", "answers": [1, 1, 0, 0, 0, 0, 0, 0, 1], "administered_at": _when(), "source": "import"},
    )
    assert status == 201
    assert body["source"] == "self_report"  # a patient's own entry is always a self-report
    assert body["total"] == 3 and body["band"]["id"] == "minimal"
    assert "suicidality" in [f["id"] for f in body["flags"]]
    notice = body["urgent_notice"]
    assert notice is not None and "988" in notice["message"] and "clinician" in notice["title"]
    assert "dose" not in notice["message"].lower()
    _, quiet = call(
        world,
        "carol",
        "post",
        "/patients/P-001/assessments",
        {"instrument": "phq9", "answers": [3, 3, 3, 3, 3, 3, 3, 3, 0], "administered_at": _when(2)},
    )
    assert quiet["urgent_notice"] is None and quiet["band"]["id"] == "severe"


@pytest.mark.parametrize(
    ("payload", "field", "needle"),
    [
        ({"instrument": "phq9", "answers": [0] * 10}, "answers", "expected 9 answers"),
        ({"instrument": "phq9", "answers": [0, 0, 0, 0, 0, 0, 0, 7, 0]}, "answers", "phq9_8 (position 8) got 7"),
        ({"instrument": "cows", "answers": [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]}, "answers", "cows_restlessness"),
        ({"instrument": "peg", "answers": [1, "x", 2]}, "answers", "peg_enjoyment (position 2) got 'x'"),
        ({"instrument": "nope", "answers": [1]}, "instrument", "unknown instrument 'nope'"),
    ],
)
def test_bad_answers_give_400_naming_the_item_and_store_nothing(
    world: Any, payload: dict[str, Any], field: str, needle: str
) -> None:
    status, body = call(world, "alice", "post", "/patients/P-001/assessments", {**payload, "administered_at": _when()})
    assert status == 400
    assert_error(body, body["error"]["code"], field)
    assert needle in body["error"]["message"]
    assert Assessment.objects.count() == 0


def test_future_time_and_schema_errors(world: Any) -> None:
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    status, body = call(
        world,
        "alice",
        "post",
        "/patients/P-001/assessments",
        {"instrument": "peg", "answers": [1, 1, 1], "administered_at": future},
    )
    assert status == 400
    assert_error(body, "invalid", "administered_at")
    status, body = call(
        world, "alice", "post", "/patients/P-001/assessments", {"instrument": "peg", "answers": [1, 1, 1]}
    )
    assert status == 422
    assert_error(body, "validation_error", "administered_at")
    assert Assessment.objects.count() == 0


def test_patient_cannot_self_report_a_clinician_instrument(world: Any) -> None:
    answers = sample_answers(ins.get("cows"))
    status, body = call(
        world,
        "carol",
        "post",
        "/patients/P-001/assessments",
        {"instrument": "cows", "answers": answers, "administered_at": _when()},
    )
    assert status == 400
    assert_error(body, "clinician_administered", "instrument")
    assert Assessment.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/patients/P-001/assessments"),
        ("get", "/patients/P-001/trajectories"),
        ("get", "/patients/P-001/schedules"),
        ("post", "/patients/P-001/assessments"),
        ("post", "/patients/P-001/schedules"),
    ],
)
def test_foreign_clinician_gets_404_and_writes_nothing(world: Any, system: Any, method: str, path: str) -> None:
    actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="peg",
        answers=[5, 5, 5],
        administered_at=timezone.now() - dt.timedelta(days=1),
        source="clinician",
    )
    body = (
        {"instrument": "peg", "answers": [1, 1, 1], "administered_at": _when()}
        if path.endswith("assessments")
        else {"instrument": "peg", "every_days": 7}
    )
    status, payload = call(world, "bob", method, path, body if method == "post" else None)
    assert status == 404
    assert_error(payload, "not_found", "patient_code")
    assert Assessment.objects.count() == 1 and Schedule.objects.count() == 0


def test_other_patient_cannot_read_or_write(world: Any) -> None:
    status, body = call(world, "carol", "get", "/patients/Q-001/assessments")
    assert status == 404
    assert_error(body, "not_found")
    status, body = call(
        world,
        "carol",
        "post",
        "/patients/Q-001/assessments",
        {"instrument": "peg", "answers": [1, 1, 1], "administered_at": _when()},
    )
    assert status == 404
    assert_error(body, "not_found")
    assert Assessment.objects.count() == 0


def test_list_is_paginated_newest_first_and_filters_by_instrument(world: Any, system: Any) -> None:
    now = timezone.now()
    for day in range(55):
        actions.record_assessment(
            actor=system,
            patient=world.patient,
            instrument_id="peg",
            answers=[day % 11, 5, 5],
            administered_at=now - dt.timedelta(days=day, hours=1),
            source="self_report",
        )
    actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="gad7",
        answers=[1] * 7,
        administered_at=now - dt.timedelta(hours=3),
        source="self_report",
    )
    status, body = call(world, "alice", "get", "/patients/P-001/assessments")
    assert status == 200 and body["count"] == 56 and len(body["items"]) == 50
    times = [item["administered_at"] for item in body["items"]]
    assert times == sorted(times, reverse=True)
    _, page2 = call(world, "alice", "get", "/patients/P-001/assessments?page=2")
    assert len(page2["items"]) == 6
    _, gad = call(world, "carol", "get", "/patients/P-001/assessments?instrument=gad7")
    assert gad["count"] == 1 and gad["items"][0]["instrument"] == "gad7"
    status, body = call(world, "alice", "get", "/patients/P-001/assessments?instrument=nope")
    assert status == 400
    assert_error(body, "unknown_instrument", "instrument")


def _history(w: Any, system: Any, instrument_id: str, series: list[list[int | None]]) -> None:
    now = timezone.now()
    for i, answers in enumerate(series):
        actions.record_assessment(
            actor=system,
            patient=w.patient,
            instrument_id=instrument_id,
            answers=answers,
            administered_at=now - dt.timedelta(days=7 * (len(series) - i), hours=1),
            source="self_report",
        )


def test_trajectories_show_change_responder_status_and_immpact_categories(world: Any, system: Any) -> None:
    # PHQ-9 16 -> 9: a 7-point fall, beyond the 5-point clinically important change.
    _history(
        world, system, "phq9", [[2, 2, 2, 2, 2, 2, 2, 2, 0], [2, 2, 2, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 2, 0]]
    )
    # GAD-7 10 -> 8: improved, but not clinically important (4 points).
    _history(world, system, "gad7", [[2, 2, 2, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1, 1]])
    # Pain NRS 8 -> 4: 50% reduction, IMMPACT substantial, responder.
    _history(world, system, "pain_nrs", [[8], [6], [4]])
    # PEG 8/7/6 -> 6/6/6: pain item 8 -> 6 (25%: minimal), no MCID so no responder status.
    _history(world, system, "peg", [[8, 7, 6], [6, 6, 6]])
    status, body = call(world, "alice", "get", "/patients/P-001/trajectories")
    assert status == 200
    by_id = {t["instrument"]: t for t in body}
    assert sorted(by_id) == ["gad7", "pain_nrs", "peg", "phq9"]

    phq9 = by_id["phq9"]
    assert phq9["baseline"]["value"] == 16 and phq9["latest"]["value"] == 9 and phq9["valid_points"] == 3
    assert phq9["change"]["absolute_change"] == -7 and phq9["change"]["important_change_points"] == 5.0
    assert phq9["change"]["important_improvement"] is True and phq9["responder"] is True
    assert phq9["baseline"]["band_id"] == "moderately_severe" and phq9["latest"]["band_id"] == "mild"
    assert [p["value"] for p in phq9["points"]] == [16, 11, 9]

    gad7 = by_id["gad7"]
    assert gad7["change"]["improved"] is True and gad7["change"]["important_improvement"] is False
    assert gad7["responder"] is False

    nrs = by_id["pain_nrs"]
    assert nrs["change"]["percent_change"] == pytest.approx(-50.0)
    assert nrs["change"]["immpact_category"] == "substantial" and nrs["responder"] is True

    peg = by_id["peg"]
    assert peg["baseline"]["value"] == pytest.approx(7.0) and peg["latest"]["value"] == pytest.approx(6.0)
    assert peg["responder"] is None and peg["change"]["important_change_points"] is None
    assert peg["pain_intensity"]["baseline"] == 8 and peg["pain_intensity"]["latest"] == 6
    assert peg["pain_intensity"]["immpact_category"] == "minimal"

    status, only = call(world, "carol", "get", "/patients/P-001/trajectories?instrument=peg")
    assert status == 200 and [t["instrument"] for t in only] == ["peg"]


def test_trajectory_skips_invalid_points_for_baseline(world: Any, system: Any) -> None:
    _history(world, system, "phq9", [[1, 1, 1, 1, None, 1, 1, 1, 0], [2] * 8 + [0], [1] * 8 + [0]])
    _, body = call(world, "alice", "get", "/patients/P-001/trajectories?instrument=phq9")
    traj = body[0]
    assert [p["valid"] for p in traj["points"]] == [False, True, True]
    assert traj["baseline"]["value"] == 16 and traj["latest"]["value"] == 8 and traj["valid_points"] == 2


def test_schedules_set_list_status_and_deactivate(world: Any, system: Any) -> None:
    status, body = call(world, "alice", "post", "/patients/P-001/schedules", {"instrument": "peg", "every_days": 7})
    assert status == 201
    assert body["status"] == "due" and body["last_administered_at"] is None and body["grace_days"] == 3
    assert "program setting" in body["grace_basis"]
    start = (timezone.now() - dt.timedelta(days=30)).date().isoformat()
    status, body = call(
        world, "alice", "post", "/patients/P-001/schedules", {"instrument": "phq9", "every_days": 14, "start": start}
    )
    assert status == 201 and body["status"] == "overdue" and body["days_overdue"] >= 29
    status, body = call(world, "alice", "post", "/patients/P-001/schedules", {"instrument": "peg", "every_days": 28})
    assert status == 200 and body["every_days"] == 28 and Schedule.objects.count() == 2
    _history(world, system, "phq9", [[0] * 9])  # answered 7 days ago -> next due in 7 days
    status, listed = call(world, "carol", "get", "/patients/P-001/schedules")
    assert status == 200
    states = {s["instrument"]: s["status"] for s in listed}
    assert states == {"peg": "due", "phq9": "upcoming"}
    assert listed[0]["instrument"] == "peg"  # most urgent first
    status, body = call(world, "alice", "delete", "/patients/P-001/schedules/peg")
    assert status == 200 and body["status"] == "inactive" and body["active"] is False


def test_schedule_errors_and_patient_cannot_set_schedules(world: Any) -> None:
    status, body = call(world, "alice", "post", "/patients/P-001/schedules", {"instrument": "peg", "every_days": 0})
    assert status == 400
    assert_error(body, "invalid", "every_days")
    status, body = call(world, "alice", "post", "/patients/P-001/schedules", {"instrument": "zzz", "every_days": 7})
    assert status == 400
    assert_error(body, "unknown_instrument", "instrument")
    status, body = call(world, "carol", "post", "/patients/P-001/schedules", {"instrument": "peg", "every_days": 7})
    assert status == 403
    assert_error(body, "forbidden")
    status, body = call(world, "alice", "delete", "/patients/P-001/schedules/gad7")
    assert status == 404
    assert Schedule.objects.count() == 0
