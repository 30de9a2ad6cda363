"""The research export from the researcher's page and the API: one background job (``jobs.long_jobs``) running
``research.export``, run here by the worker in burst mode as ``kratomwatch worker --burst`` does. The ZIP holds the
manifest and no identifier of the fixtures (the leak scan of tests/research/test_export.py); only a researcher of
the program (or staff) starts one, only who started it downloads it, and k below 2 is refused."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kratomwatch.audit.models import AuditEvent
from kratomwatch.jobs import worker as jobs_worker
from kratomwatch.jobs.models import JobProgress
from tests.research.test_export import SECRET, Cohort, _leaks
from tests.research.test_export import cohort as _cohort  # noqa: F401 - its fixture, as "_cohort"

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery-9"


class People:
    rita: Any  # researcher of the pain clinic
    rex: Any  # researcher of the other clinic
    tokens: dict[str, str]


@pytest.fixture(autouse=True)
def _home(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.KRATOMWATCH_REQUIRE_2FA = False
    settings.BASE_DIR = tmp_path / "home"
    monkeypatch.setenv("KRATOMWATCH_RESEARCH_SECRET", SECRET)
    return tmp_path


@pytest.fixture
def people(world: Any, system: Any) -> People:
    from kratomwatch.accounts.actions import create_user, issue_token

    p = People()
    p.rita, _ = create_user(actor=system, username="rita", password=PASSWORD, role="researcher", program_slug="pain")
    p.rex, _ = create_user(actor=system, username="rex", password=PASSWORD, role="researcher", program_slug="other")
    p.tokens = {u.username: issue_token(actor=system, user=u, name="t") for u in (p.rita, p.rex)}
    p.tokens |= world.tokens
    return p


@pytest.fixture
def cohort(_cohort: Cohort) -> Cohort:  # noqa: F811 - the cohort of tests/research/test_export.py
    return _cohort


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(people: People, who: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {people.tokens[who]}"}


def _start_api(people: People, who: str, **body: Any) -> Any:
    return Client().post(
        "/api/v1/research/exports", data=json.dumps(body), content_type="application/json", **_api(people, who)
    )


def _checked_zip(data: bytes, folder: Path, cohort: Cohort) -> dict[str, Any]:
    """Unpack the ZIP; its one folder holds the manifest and the files it lists, and no identifier of the fixtures."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        archive.extractall(folder)
    tops = {name.split("/")[0] for name in names}
    assert len(tops) == 1, names
    out = folder / tops.pop()
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {p.name for p in out.iterdir()} - {"manifest.json"}
    assert _leaks(out, cohort.identifiers) == []
    return manifest


def test_researcher_exports_from_the_web_page_and_downloads_the_zip(
    world: Any, people: People, cohort: Cohort, tmp_path: Path
) -> None:
    rita = login(people.rita)
    home = rita.get("/research/").content.decode()
    assert f'href="/research/programs/{world.program.pk}/export/"' in home and "Export de-identified data" in home
    assert f"/research/programs/{world.other_program.pk}/export/" not in home
    form = rita.get(f"/research/programs/{world.program.pk}/export/")
    assert form.status_code == 200 and 'name="k"' in form.content.decode()
    assert 'value="fhir"' in form.content.decode() and "FHIR R4 (Bulk Data NDJSON)" in form.content.decode()

    response = rita.post(
        f"/research/programs/{world.program.pk}/export/", {"format": ["csv", "parquet"], "dates": "shifted", "k": "5"}
    )
    assert response.status_code == 302, response.content[:800]
    match = re.fullmatch(r"/program/jobs/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    job = match.group(1)
    page = rita.get(f"/program/jobs/{job}/").content.decode()
    assert '<progress id="job-progress"' in page and "Research home" in page and "Program admin" not in page
    assert AuditEvent.objects.filter(action="job.start", object_id=job, actor=people.rita).count() == 1

    assert jobs_worker.run(burst=True, schedule=False).tasks_run == 1
    state = rita.get(f"/program/jobs/{job}/status.json").json()
    assert (state["status"], state["percent"]) == ("done", 100), state
    assert state["done"] == state["total"] and state["total"] > 10  # one step per table, then the ZIP
    assert 'id="job-download"' in rita.get(f"/program/jobs/{job}/").content.decode()
    download = rita.get(state["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    manifest = _checked_zip(b"".join(download.streaming_content), tmp_path / "web", cohort)
    assert manifest["consent"]["included"] == 5 and manifest["formats"] == ["csv", "parquet"]
    assert manifest["project"] == "pain" and manifest["deidentification"]["dates"] == "shifted"
    assert AuditEvent.objects.filter(action="research.export", actor=people.rita).count() == 1
    assert AuditEvent.objects.filter(action="job.download", object_id=job, actor=people.rita).count() == 1
    assert "De-identified research export (ZIP)" in rita.get("/research/").content.decode()

    # The ZIP is for who started it: the program's clinician, another researcher and even staff get 404.
    for other in (world.alice, people.rex, world.staff):
        assert login(other).get(f"/program/jobs/{job}/download/").status_code == 404, other.username
    assert login(world.alice).get(f"/program/jobs/{job}/").status_code == 404


def test_researcher_exports_through_the_api(world: Any, people: People, cohort: Cohort, tmp_path: Path) -> None:
    started = _start_api(people, "rita", program_id=world.program.pk, format="parquet", dates="study-days", k=5)
    assert started.status_code == 202, started.content
    job = started.json()["id"]
    assert started.json()["status"] == "running" and started.json()["download_url"] is None
    status_url = f"/api/v1/research/exports/{job}"
    assert Client().get(f"{status_url}/download", **_api(people, "rita")).status_code == 404  # not finished

    assert jobs_worker.run(burst=True, schedule=False).tasks_run == 1
    state = Client().get(status_url, **_api(people, "rita")).json()
    assert (state["status"], state["percent"], state["download_url"]) == ("done", 100, f"{status_url}/download")
    assert "result_path" not in state  # no server path leaves
    download = Client().get(state["download_url"], **_api(people, "rita"))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    manifest = _checked_zip(b"".join(download.streaming_content), tmp_path / "api", cohort)
    assert manifest["formats"] == ["parquet"] and manifest["deidentification"]["dates"] == "study-days"
    data_files = set(manifest["files"]) - {"README.md", "data_dictionary.csv", "k_anonymity.csv"}
    assert data_files and all(name.endswith(".parquet") for name in data_files)

    # Another researcher, the program's clinician and a patient: the one error shape, nothing about the job.
    for who in ("rex", "alice", "carol", "bob"):
        for url in (status_url, f"{status_url}/download"):
            response = Client().get(url, **_api(people, who))
            assert response.status_code == 404, (who, url)
            assert response.json()["error"]["code"] == "not_found"


def test_only_researchers_of_the_program_or_staff_start_an_export(world: Any, people: People) -> None:
    pk = world.program.pk
    clinician = _start_api(people, "alice", program_id=pk)
    assert clinician.status_code == 403 and clinician.json()["error"]["field"] == "program_id"
    for who in ("rex", "bob", "carol"):
        response = _start_api(people, who, program_id=pk)
        assert response.status_code == 404, who
        assert set(response.json()["error"]) == {"code", "message", "field"}
    assert login(world.alice).get(f"/research/programs/{pk}/export/").status_code == 403
    for user in (people.rex, world.bob, world.carol):
        assert login(user).post(f"/research/programs/{pk}/export/", {"format": "csv", "k": "5"}).status_code == 404
    assert JobProgress.objects.count() == 0
    assert _start_api(people, "root", program_id=pk).status_code == 202  # staff


def test_k_below_two_and_bad_options_are_refused_before_any_job(world: Any, people: People) -> None:
    url = f"/research/programs/{world.program.pk}/export/"
    page = login(people.rita).post(url, {"format": "csv", "dates": "shifted", "k": "1"})
    assert page.status_code == 400
    text = page.content.decode()
    assert 'id="f-k-error"' in text and "k must be a whole number of at least 2" in text
    assert 'aria-invalid="true" aria-describedby="f-k-error"' in text
    page = login(people.rita).post(url, {"dates": "shifted", "k": "five"})
    assert page.status_code == 400 and 'id="f-k-error"' in page.content.decode()
    assert 'id="f-format-error"' in page.content.decode()

    api = _start_api(people, "rita", program_id=world.program.pk, k=1)
    assert api.status_code == 400 and api.json()["error"]["field"] == "k"
    api = _start_api(people, "rita", program_id=world.program.pk, format="xlsx")
    assert api.status_code == 400 and api.json()["error"]["field"] == "format"
    api = _start_api(people, "rita", program_id=world.program.pk, dates="calendar")
    assert api.status_code == 400 and api.json()["error"]["field"] == "dates"
    assert JobProgress.objects.count() == 0


def test_without_the_research_secret_the_page_says_what_to_set(
    world: Any, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KRATOMWATCH_RESEARCH_SECRET")
    url = f"/research/programs/{world.program.pk}/export/"
    page = login(people.rita).get(url)
    assert page.status_code == 200
    assert 'id="missing-secret"' in page.content.decode() and "KRATOMWATCH_RESEARCH_SECRET" in page.content.decode()
    posted = login(people.rita).post(url, {"format": "csv", "dates": "shifted", "k": "5"})
    assert posted.status_code == 400 and "must set KRATOMWATCH_RESEARCH_SECRET" in posted.content.decode()
    api = _start_api(people, "rita", program_id=world.program.pk)
    assert api.status_code == 400 and api.json()["error"]["field"] == "research_secret"
    assert "KRATOMWATCH_RESEARCH_SECRET" in api.json()["error"]["message"]
    assert JobProgress.objects.count() == 0
