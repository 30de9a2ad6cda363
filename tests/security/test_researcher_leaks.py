"""The leak test for the researcher persona (tests/security/test_leaks.py walks anonymous, bob and carol): rita,
researcher of the pain clinic, requests every web URL pattern and every API operation, with her program's and the
other program's patient codes and object ids in the path, her own research export job's id, and her program's id.

* every patient route (a patient code in the path, or under ``/patients``) answers 403 or 404 (405 for a GET on a
  POST-only path; 400/422 for an API write whose empty body is refused before any patient is looked at), never 5xx;
  the API's patient list answers 200 with no row;
* no 2xx for a path carrying a patient's code or a patient-owned id;
* no patient code, login, e-mail address or free text of the fixtures in any body (echoing back the code the request
  itself carried, in a 404 message, is allowed), scanned with the export's token scan (tests/research/test_export.py);
* a real research export started by rita through the API and run by the worker in burst mode: every file of the
  downloaded ZIP is scanned the same way.

The control plants a code in a body and in an export file and shows the scan finds it. The command line has no
researcher: ``kratomwatch`` runs as the operator at the server (``access.operator()``, staff-equivalent, audited as
``cli:<login>``), so there is no researcher identity there to refuse.
"""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kratomwatch.jobs import worker as jobs_worker
from tests.research.test_export import FREE_TEXT, Cohort, _leaks
from tests.research.test_export import cohort as _cohort  # noqa: F401 - its fixture, as "_cohort"
from tests.research.test_export_jobs import _home  # noqa: F401 - its autouse fixture: research secret, no 2FA
from tests.security.test_leaks import MISSING_ID, Persona, _problem, _seed, api_requests, web_requests

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery-9"
MARKERS = ["MARKERP", "MARKERQ", "MARKERQ product"]  # test_leaks._seed
PROGRAM_NAME = "Pain clinic"  # rita's own program: its name is shown to her, it identifies no patient


@pytest.fixture
def cohort(_cohort: Cohort) -> Cohort:  # noqa: F811 - the cohort of tests/research/test_export.py
    return _cohort


class Researcher(Persona):
    """Every patient (both programs) is foreign to a researcher; her own program's id and her own job's id are not."""

    codes: list[str]
    own_values: dict[str, list[str]]

    def candidates(self, name: str, kind: str, choices: tuple[str, ...], many: bool) -> list[tuple[str, bool]]:
        if name in self.own_values:
            return [(v, False) for v in self.own_values[name]] + [(MISSING_ID, False)]
        if kind == "str" and (name in ("code", "patient_code") or name.endswith("_code")):
            return [(c, True) for c in self.codes]
        return super().candidates(name, kind, choices, many)


def _researcher(world: Any, system: Any) -> tuple[Any, str]:
    from kratomwatch.accounts.actions import create_user, issue_token

    rita, _ = create_user(actor=system, username="rita", password=PASSWORD, role="researcher", program_slug="pain")
    return rita, issue_token(actor=system, user=rita, name="t")


def _needles(world: Any, cohort: Cohort, own: str) -> list[str]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.all()
    people = {u.username for u in users} | {u.email for u in users if u.email}
    texts = [t for t in FREE_TEXT if t != PROGRAM_NAME]
    return sorted((set(cohort.identifiers) | people | set(MARKERS) | set(texts)) - {own})


def _export_zip(world: Any, token: str, folder: Path) -> tuple[str, Path]:
    """Start a research export as the researcher through the API, run the worker, download and unpack the ZIP."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = {"program_id": world.program.pk, "format": "csv,parquet", "dates": "shifted", "k": 2}
    started = Client().post(
        "/api/v1/research/exports", data=json.dumps(body), content_type="application/json", **headers
    )
    assert started.status_code == 202, started.content
    job = started.json()["id"]
    assert jobs_worker.run(burst=True, schedule=False).tasks_run == 1
    state = Client().get(f"/api/v1/research/exports/{job}", **headers).json()
    assert state["status"] == "done", state
    download = Client().get(state["download_url"], **headers)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        archive.extractall(folder)
    (out,) = list(folder.iterdir())
    assert (out / "manifest.json").is_file() and len(list(out.iterdir())) > 5
    return job, out


def _cohort_and_snapshot(world: Any, system: Any) -> Any:
    """A saved cohort of rita's program and an analysis snapshot of it, so the cohort pages answer with numbers."""
    import datetime as dt

    from kratomwatch import access
    from kratomwatch.research import actions, snapshot

    patients = access.patients_for(access.operator("tester")).filter(program=world.program)
    snapshot.build(patients, program=world.program, actor=system, k=2, now=dt.datetime.now(dt.UTC))
    return actions.create_cohort(actor=system, program=world.program, name="Everyone", definition={})


def _patient_route(path: str) -> bool:
    return "/patients" in path or "<str:code>" in path or "{code}" in path or "patient_code" in path


def _refused(method: str, params: tuple[Any, ...], response: Any) -> bool:
    """403 or 404; a write whose empty body fails validation (400/422) before any patient is looked at; the patient
    list (no parameter) answers 200 only with no row: a researcher's scope holds no patient."""
    status = response.status_code
    if status in (403, 404, 405) or (method != "GET" and status in (400, 422)):
        return True
    return method == "GET" and not params and status == 200 and response.json().get("items") == []


def _scannable(content_type: str, body: bytes) -> bytes:
    """What a person could read in a body: a PDF's text (its streams are compressed, and its structure has words
    such as "/Root" that match short logins by chance), a PNG's text chunks (its pixels are not text); else the body."""
    if content_type == "application/pdf":
        return subprocess.run(["pdftotext", "-", "-"], input=body, check=True, capture_output=True).stdout
    if content_type == "image/png":
        from PIL import Image

        with Image.open(io.BytesIO(body)) as image:
            return "\n".join(f"{k}: {v}" for k, v in image.info.items() if isinstance(v, str)).encode()
    return body


class Walk:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir()
        self.urls: dict[str, str] = {}
        self.problems: list[str] = []
        self.checked = 0
        self.ok = 0
        self.patient_routes = 0  # requests to a patient route, each refused

    def keep(self, method: str, url: str, response: Any) -> None:
        body = b"".join(response) if response.streaming else response.content
        where = f"{method} {url} -> {response.status_code}"
        if response.get("Content-Type") == "application/zip":
            # A ZIP's compressed bytes match short logins by chance: each of its files is scanned instead.
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                for member in archive.namelist():
                    name = f"{len(self.urls):05d}-{Path(member).name}"
                    (self.folder / name).write_bytes(archive.read(member))
                    self.urls[name] = f"{where} {member}"
        else:
            name = f"{len(self.urls):05d}.body"
            (self.folder / name).write_bytes(_scannable(response.get("Content-Type", ""), body))
            self.urls[name] = where
        self.checked += 1
        self.ok += 200 <= response.status_code < 300

    def leaks(self, needles: list[str]) -> list[str]:
        found = _leaks(self.folder, needles)
        # A refusal may echo the code the request itself carried ("patient P-001 not found").
        return [f"{self.urls[f]}: body contains {n!r}" for f, n in found if n not in self.urls[f].split(" -> ")[0]]


def _walk(persona: Researcher, walk: Walk) -> None:
    for route, url, foreign, response in web_requests(persona):
        walk.keep("GET*", url, response)
        problem = _problem(persona, "GET*", url, response, foreign, url.startswith("/api/"))
        if problem:
            walk.problems.append(problem)
        walk.patient_routes += _patient_route(route.template)
        if _patient_route(route.template) and not _refused("GET", tuple(route.params), response):
            walk.problems.append(f"rita GET* {url} -> {response.status_code}: a patient route not refused")
    for op, url, foreign, response in api_requests(persona):
        walk.keep(op.method, url, response)
        problem = _problem(persona, op.method, url, response, foreign, True)
        if problem:
            walk.problems.append(problem)
        walk.patient_routes += _patient_route(op.path)
        if _patient_route(op.path) and not _refused(op.method, op.path_params, response):
            walk.problems.append(f"rita {op.method} {url} -> {response.status_code}: a patient route not refused")


def test_researcher_sees_no_identifiable_data_anywhere(
    world: Any,
    system: Any,
    cohort: Cohort,
    tmp_path: Path,
) -> None:
    assert len(_seed(world, system)) >= 4
    rita, token = _researcher(world, system)
    needles = _needles(world, cohort, own="rita")
    assert {"P-001", "Q-001", "alice", "Test Patient", "MARKERP"} <= set(needles)

    job, out = _export_zip(world, token, tmp_path / "zip")
    leaks = _leaks(out, needles)
    assert leaks == [], leaks

    persona = Researcher("rita", rita, token, world.patient, world.program, [], [])
    persona.collect()
    persona.codes = [p.code for p in (*cohort.patients.values(), cohort.withdrawn, cohort.never, world.foreign_patient)]
    saved = _cohort_and_snapshot(world, system)
    persona.own_values = {
        "program_id": [str(world.program.pk)],
        "job_id": [job],
        "cohort_id": [str(saved.pk)],
        "chart_slug": ["exposure", "incidence"],  # drawn for any cohort (a trajectory needs enough scores)
        "format_slug": ["svg", "png"],
        "table_slug": ["description", "trajectories"],
    }
    walk = Walk(tmp_path / "bodies")
    _walk(persona, walk)
    assert walk.checked > 100 and walk.ok > 5 and walk.patient_routes > 100, (
        walk.checked,
        walk.ok,
        walk.patient_routes,
    )
    # The research routes were reached with rita's own values and answered.
    reached = set(walk.urls.values())
    for wanted in (
        "GET* /research/ -> 200",
        "GET* /research/surveillance/ -> 200",
        f"GET* /research/programs/{world.program.pk}/export/ -> 200",
        f"GET* /program/jobs/{job}/ -> 200",
        f"GET* /program/jobs/{job}/status.json -> 200",
        f"GET* /program/jobs/{job}/download/ -> 200",  # its ZIP's files, each scanned
        f"GET /api/v1/research/exports/{job} -> 200",
        f"GET /api/v1/research/exports/{job}/download -> 200",
        f"GET* /research/programs/{world.program.pk}/cohorts/ -> 200",
        f"GET* /research/cohorts/{saved.pk}/ -> 200",
        f"GET* /research/cohorts/{saved.pk}/edit/ -> 200",
        f"GET* /research/cohorts/{saved.pk}/delete/ -> 200",
        f"GET* /research/cohorts/{saved.pk}/charts/exposure.svg -> 200",
        f"GET* /research/cohorts/{saved.pk}/tables/description.csv -> 200",
        f"GET* /research/cohorts/{saved.pk}/tables.zip -> 200",  # its files, each scanned
        f"GET* /research/cohorts/{saved.pk}/report.pdf -> 200",
    ):
        assert any(r == wanted or r.startswith(f"{wanted} ") for r in reached), wanted
    assert not walk.problems, "\n".join(walk.problems)
    body_leaks = walk.leaks(needles)
    assert not body_leaks, "\n".join(body_leaks)

    # The control: the same scans find a planted code, in a page body and in an export file.
    (walk.folder / "planted.body").write_text("<td>p-003</td>")
    walk.urls["planted.body"] = "GET* /planted/ -> 200"
    assert "GET* /planted/ -> 200: body contains 'P-003'" in walk.leaks(needles)
    (out / "doses.csv").write_text((out / "doses.csv").read_text() + "xx,Q-001,xx\n")
    assert ("doses.csv", "Q-001") in _leaks(out, needles)
