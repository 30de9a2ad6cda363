"""Cohort analytics through the API (``api/research.py``): saved cohorts (create, list, read, rename, change,
delete), their report on the program's newest analysis snapshot (409 before the first), an unsaved analysis, and a
new snapshot as a background job. Only a researcher of the program (or staff): the program's clinician gets 403,
another program's researcher 404 as if the cohort were missing. No patient code or login appears in any body."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from kratomwatch.audit.models import AuditEvent
from tests.research.test_export import Cohort
from tests.research.test_export import cohort as _cohort  # noqa: F401 - its fixture, as "_cohort"
from tests.research.test_export_jobs import People
from tests.research.test_export_jobs import people as _people  # noqa: F401 - its fixture, as "_people"
from tests.research.test_snapshot import _build, _home  # noqa: F401 - autouse: KRATOMWATCH_HOME and the research secret

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def cohort(_cohort: Cohort) -> Cohort:  # noqa: F811
    return _cohort


@pytest.fixture
def people(_people: People) -> People:  # noqa: F811
    return _people


def _call(people: People, who: str, method: str, url: str, body: Any = None) -> Any:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {people.tokens[who]}"}
    if body is None:
        return getattr(client, method)(f"/api/v1{url}", **headers)
    return getattr(client, method)(f"/api/v1{url}", data=json.dumps(body), content_type="application/json", **headers)


def _no_identifiers(text: str, cohort: Cohort) -> None:
    for needle in cohort.identifiers:
        if len(needle) > 3:  # short logins ("pa") are parts of ordinary words
            assert needle not in text, needle


def test_researcher_saves_changes_and_deletes_a_cohort(world: Any, people: People, cohort: Cohort) -> None:
    base = f"/research/programs/{world.program.pk}/cohorts"
    created = _call(people, "rita", "post", base, {"name": "Women, pain", "definition": {"sexes": ["female"]}})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Women, pain" and body["definition"] == {"sexes": ["female"]}
    assert body["program_id"] == world.program.pk
    pk = body["id"]
    listed = _call(people, "rita", "get", base).json()
    assert [c["id"] for c in listed] == [pk]
    assert _call(people, "rita", "get", f"/research/cohorts/{pk}").json()["name"] == "Women, pain"

    duplicate = _call(people, "rita", "post", base, {"name": "Women, pain", "definition": {}})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["field"] == "name"
    bad = _call(people, "rita", "post", base, {"name": "Bad", "definition": {"exposure_min_mg": -5}})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "exposure_min_mg"
    unknown = _call(people, "rita", "post", base, {"name": "Bad", "definition": {"colour": "red"}})
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "colour"
    assert "unknown filter" in unknown.json()["error"]["message"]

    changed = _call(people, "rita", "put", f"/research/cohorts/{pk}", {"definition": {"age_bands": ["40-49"]}})
    assert changed.status_code == 200 and changed.json()["definition"] == {"age_bands": ["40-49"]}
    assert changed.json()["name"] == "Women, pain"
    renamed = _call(people, "rita", "put", f"/research/cohorts/{pk}", {"name": "Forties"})
    assert renamed.json()["name"] == "Forties" and renamed.json()["definition"] == {"age_bands": ["40-49"]}
    bad_put = _call(people, "rita", "put", f"/research/cohorts/{pk}", {"definition": {"baseline_min": 3}})
    assert bad_put.status_code == 400 and bad_put.json()["error"]["field"] == "baseline_min"

    assert _call(people, "rita", "delete", f"/research/cohorts/{pk}").status_code == 204
    assert _call(people, "rita", "get", f"/research/cohorts/{pk}").status_code == 404
    actions = list(AuditEvent.objects.filter(action__startswith="research.cohort.").values_list("action", flat=True))
    assert actions.count("research.cohort.create") == 1 and actions.count("research.cohort.update") == 2
    assert actions.count("research.cohort.delete") == 1
    for event in AuditEvent.objects.filter(action__startswith="research.cohort."):
        assert "Women" not in json.dumps(event.detail)  # filter keys only, nothing typed


def test_report_needs_a_snapshot_then_answers_the_shared_shape(world: Any, people: People, cohort: Cohort) -> None:
    pk = _call(people, "rita", "post", f"/research/programs/{world.program.pk}/cohorts", {"name": "All"}).json()["id"]
    before = _call(people, "rita", "get", f"/research/cohorts/{pk}/report")
    assert before.status_code == 409
    assert before.json()["error"]["field"] == "snapshot" and "research snapshot" in before.json()["error"]["message"]

    snap = _build(world)
    report = _call(people, "rita", "get", f"/research/cohorts/{pk}/report?week=0&instrument=peg")
    assert report.status_code == 200, report.content
    body = report.json()
    assert body["cohort"]["id"] == pk and body["cohort"]["name"] == "All"
    assert body["cohort"]["n"] == snap.counts["participants"] > 0
    assert body["data"]["checksum"] == snap.checksum and body["data"]["k"] == snap.k
    assert body["data"]["snapshot_id"] == snap.snapshot_id and body["data"]["program"] == "pain"
    assert "cannot establish efficacy" in body["caveat"]
    assert body["responders"]["week"] == 0 and body["responders"]["instrument"] == "peg"
    _no_identifiers(report.content.decode(), cohort)
    assert AuditEvent.objects.filter(action="research.cohort.analyse", actor=people.rita).count() == 1

    bad = _call(people, "rita", "get", f"/research/cohorts/{pk}/report?instrument=phq9")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "instrument"
    assert _call(people, "rita", "get", f"/research/cohorts/{pk}/report?week=-1").status_code == 422


def test_unsaved_analysis_and_its_bad_filters(world: Any, people: People, cohort: Cohort) -> None:
    url = f"/research/programs/{world.program.pk}/analyses"
    assert _call(people, "rita", "post", url, {"definition": {}}).status_code == 409
    _build(world)
    empty = _call(people, "rita", "post", url, {"definition": {"jurisdictions": ["GB-XX"]}})
    assert empty.status_code == 200, empty.content
    assert empty.json()["cohort"]["n"] == 0 and "jurisdictions" in empty.json()["cohort"]["reason"]
    assert empty.json()["trajectories"] == [] and empty.json()["responders"] is None
    women = _call(people, "rita", "post", url, {"definition": {"sexes": ["female"]}, "name": "Women"}).json()
    assert women["cohort"]["name"] == "Women" and women["cohort"]["definition"] == {"sexes": ["female"]}
    _no_identifiers(json.dumps(women), cohort)
    bad = _call(people, "rita", "post", url, {"definition": {"enrolled_from_year": "last year"}})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "enrolled_from_year"
    bad = _call(people, "rita", "post", url, {"definition": {"baseline_instrument": "zzz"}})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "baseline_instrument"


def test_other_programs_researcher_gets_404_and_the_clinician_403(world: Any, people: People, cohort: Cohort) -> None:
    from kratomwatch.research.models import Cohort as SavedCohort

    pk = _call(people, "rita", "post", f"/research/programs/{world.program.pk}/cohorts", {"name": "Mine"}).json()["id"]
    _build(world)
    program_urls = [
        ("get", f"/research/programs/{world.program.pk}/cohorts", None),
        ("post", f"/research/programs/{world.program.pk}/cohorts", {"name": "X"}),
        ("post", f"/research/programs/{world.program.pk}/analyses", {}),
        ("get", f"/research/programs/{world.program.pk}/snapshots", None),
        ("post", f"/research/programs/{world.program.pk}/snapshots", {"k": 5}),
    ]
    cohort_urls = [
        ("get", f"/research/cohorts/{pk}", None),
        ("put", f"/research/cohorts/{pk}", {"name": "Stolen"}),
        ("delete", f"/research/cohorts/{pk}", None),
        ("get", f"/research/cohorts/{pk}/report", None),
    ]
    for method, url, body in program_urls + cohort_urls:
        for who, status in (("rex", 404), ("bob", 404), ("carol", 404), ("alice", 403)):
            response = _call(people, who, method, url, body)
            assert response.status_code == status, (who, method, url, response.content)
            assert set(response.json()["error"]) == {"code", "message", "field"}
    # A missing cohort and another program's cohort answer alike.
    missing = _call(people, "rex", "get", f"/research/cohorts/{pk + 1000}")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "cohort_id"
    assert SavedCohort.objects.get(pk=pk).name == "Mine"
    assert _call(people, "root", "get", f"/research/cohorts/{pk}").status_code == 200  # staff


@pytest.mark.django_db(transaction=True)
def test_snapshot_job_through_the_api(world: Any, people: People, cohort: Cohort) -> None:
    from kratomwatch.jobs import worker as jobs_worker

    url = f"/research/programs/{world.program.pk}/snapshots"
    assert _call(people, "rita", "post", url, {"k": 1}).json()["error"]["field"] == "k"
    started = _call(people, "rita", "post", url, {"k": 2})
    assert started.status_code == 202, started.content
    job = started.json()["id"]
    assert started.json()["status"] == "running" and "result_path" not in started.json()
    assert jobs_worker.run(burst=True, schedule=False).tasks_run == 1
    state = _call(people, "rita", "get", f"/research/snapshot-jobs/{job}").json()
    assert (state["status"], state["percent"]) == ("done", 100), state
    assert _call(people, "rex", "get", f"/research/snapshot-jobs/{job}").status_code == 404
    listed = _call(people, "rita", "get", url).json()
    assert len(listed) == 1 and listed[0]["k"] == 2 and len(listed[0]["checksum"]) == 64
    report = _call(people, "rita", "post", f"/research/programs/{world.program.pk}/analyses", {"definition": {}})
    assert report.status_code == 200 and report.json()["data"]["snapshot_id"] == listed[0]["snapshot_id"]
