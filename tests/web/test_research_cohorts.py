"""The researcher's cohort pages (web/research_cohorts.py) with the Django test client: the program's cohorts and
the analysis data's date, a new cohort from the form, its analysis page (the caveat, the charts with their table
alternatives, the downloads: SVG, PNG, one CSV per table, a ZIP and the PDF), edit and delete; a bad filter is
shown next to its field in words with 400 and nothing saved; an empty cohort says why; a clinician of the program
gets 403, another program's researcher, clinician or patient 404; no page or file carries a patient code or login."""

from __future__ import annotations

import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

import pytest
from django.test import Client

from tests.research.test_export import Cohort
from tests.research.test_export import cohort as _cohort  # noqa: F401 - its fixture, as "_cohort"
from tests.research.test_export_jobs import People, _home  # noqa: F401 - _home: its autouse fixture (secret, no 2FA)
from tests.research.test_export_jobs import people as _people  # noqa: F401 - its fixture, as "_people"

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
CAVEAT_HEAD = "Observational data: these numbers cannot establish efficacy."


@pytest.fixture
def cohort(_cohort: Cohort) -> Cohort:  # noqa: F811 - the patients of tests/research/test_export.py
    return _cohort


@pytest.fixture
def people(_people: People) -> People:  # noqa: F811
    return _people


def _snapshot(world: Any, k: int = 2) -> Any:
    from kratomwatch import access
    from kratomwatch.audit.log import Actor
    from kratomwatch.research import snapshot

    patients = access.patients_for(access.operator("tester")).filter(program=world.program)
    return snapshot.build(patients, program=world.program, actor=Actor.system("test"), k=k, now=NOW)


def _rich_snapshot(world: Any, n: int = 40, weeks: int = 16) -> Any:
    """A real snapshot (manifest, checksum) whose tables are replaced by synthetic ones in the export's columns
    (``n`` participants, weekly PEG, pain NRS and PHQ-9, daily exposure, a DSM-5 count, adverse events for every
    second participant, tapers for the first 20), so that every section of the page has numbers."""
    import numpy as np
    import polars as pl

    snap = _snapshot(world)
    rng = np.random.default_rng(13)
    ids = [f"S-{i:012d}" for i in range(n)]
    days = np.arange(-3, weeks * 7)
    mg0 = np.linspace(20, 80, n)
    frames = {
        "participants": pl.DataFrame(
            {
                "study_id": ids,
                "age_band": ["20-39" if i % 2 else "40-59" for i in range(n)],
                "sex": ["female" if i % 3 else "male" for i in range(n)],
                "jurisdiction": ["US" for _ in range(n)],
                "conditions": ["pain" if i % 2 else "pain|mental_health" for i in range(n)],
                "enrolment_year": [2025 if i < n // 2 else 2026 for i in range(n)],
            }
        ),
        "daily_exposure": pl.DataFrame(
            {
                "study_id": np.repeat(ids, days.size),
                "date_study_day": np.tile(days, n),
                "mitragynine_mg": np.repeat(mg0, days.size) + rng.normal(0, 5, n * days.size),
                "seven_oh_mg": np.repeat(mg0 / 60, days.size),
            }
        ),
    }
    rows: list[tuple[Any, ...]] = []
    for i, sid in enumerate(ids):
        for w in range(-1, weeks):
            for instrument, base in (("peg", 7.0), ("pain_nrs", 7.0), ("phq9", 10.0)):
                score = float(np.clip(base - 0.2 * w + rng.normal(0, 0.8), 0, 27))
                rows.append((sid, len(rows) + 1, w * 7 + 2, instrument, score, 1))
        rows.append((sid, len(rows) + 1, 30, "dsm5_sud", float(5 if i % 3 == 0 else 2), 1))
    frames["assessments"] = pl.DataFrame(
        rows,
        schema={"study_id": pl.String, "assessment_no": pl.Int64, "date_study_day": pl.Int64,
                "instrument_id": pl.String, "total": pl.Float64, "valid": pl.Int8},
        orient="row",
    )  # fmt: skip
    half = ids[::2]
    frames["adverse_events"] = pl.DataFrame(
        {
            "study_id": half,
            "onset_study_day": list(range(5, 5 + len(half))),
            "grade": [1 + (i % 3) for i in range(len(half))],
            "seriousness": ["" if i % 5 else "hospitalisation" for i in range(len(half))],
            "outcome": ["recovered"] * len(half),
            "system": ["Gastrointestinal disorders" if i % 2 else "Nervous system disorders" for i in range(len(half))],
        }
    )
    frames["taper_steps"] = pl.DataFrame(
        {"study_id": ids[:20], "start_study_day": [10] * 20, "target_mg": [200.0 if i % 2 else 5.0 for i in range(20)]}
    )
    for name, frame in frames.items():
        frame.write_parquet(snap.path / f"{name}.parquet")
    return snap


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else bytes(response.content)


def _no_identifiers(data: bytes | str, cohort: Cohort, where: str, own: str = "rita") -> None:
    """No patient code or other identifier of the fixtures (the page names the logged-in user: ``own``)."""
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    for needle in cohort.identifiers:
        if len(needle) > 3 and needle != own:  # short logins ("pa") are parts of ordinary words
            assert needle not in text, (where, needle)


def _saved(world: Any, name: str, definition: dict[str, Any] | None = None) -> Any:
    from kratomwatch.audit.log import Actor
    from kratomwatch.research import actions

    return actions.create_cohort(
        actor=Actor.system("test"), program=world.program, name=name, definition=definition or {}
    )


def test_researcher_builds_a_cohort_and_downloads_everything(world: Any, people: People, cohort: Cohort) -> None:
    rita = _client(people.rita)
    listing = f"/research/programs/{world.program.pk}/cohorts/"
    before = rita.get(listing)
    assert before.status_code == 200
    page = before.content.decode()
    assert CAVEAT_HEAD in page and 'id="no-snapshot"' in page and "Refresh analysis data" in page

    snap = _snapshot(world)
    page = rita.get(listing).content.decode()
    assert "Analysis data as of" in page and snap.snapshot_id in page and "UTC" in page
    assert 'name="sexes"' in page and 'value="female"' in page  # the levels come from the snapshot

    snap = _rich_snapshot(world)
    created = rita.post(listing, {"name": "Everyone"})
    assert created.status_code == 302, created.content.decode()[:2000]
    detail_url = created["Location"]
    detail = rita.get(detail_url)
    assert detail.status_code == 200
    html = detail.content.decode()
    assert CAVEAT_HEAD in html and snap.checksum in html
    assert "All participants of the snapshot (no filter)." in html  # the definition in words
    assert "/charts/trajectory-peg.svg" in html and "The numbers (table)" in html
    assert 'id="download-pdf"' in html and 'id="download-zip"' in html
    _no_identifiers(html, cohort, detail_url)

    pk = int(detail_url.rstrip("/").split("/")[-1])
    from kratomwatch.audit.models import AuditEvent

    shown = AuditEvent.objects.filter(action="research.cohort.analyse", object_id=str(pk))
    assert shown.count() == 1  # the page view is audited (its chart images are not audited again)
    assert 'id="responder-table"' in html and "/charts/survival-" in html and "/charts/incidence.svg" in html
    svg = rita.get(f"/research/cohorts/{pk}/charts/trajectory-peg.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(svg.content)
    assert root.find("{http://www.w3.org/2000/svg}title") is not None
    assert "script-src" not in svg["Content-Security-Policy"] and "default-src 'none'" in svg["Content-Security-Policy"]
    png = rita.get(f"/research/cohorts/{pk}/charts/incidence.png?download=1")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png["Content-Disposition"].startswith('attachment; filename="cohort-')
    for chart in ("exposure.svg", "survival-first_serious_ae.png"):
        assert rita.get(f"/research/cohorts/{pk}/charts/{chart}").status_code == 200, chart
    assert rita.get(f"/research/cohorts/{pk}/charts/trajectory-nope.svg").status_code == 404
    assert rita.get(f"/research/cohorts/{pk}/charts/incidence.gif").status_code == 404

    csv = rita.get(f"/research/cohorts/{pk}/tables/trajectories.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines()[0].startswith("instrument,")
    assert rita.get(f"/research/cohorts/{pk}/tables/nope.csv").status_code == 404
    archive = rita.get(f"/research/cohorts/{pk}/tables.zip")
    assert archive.status_code == 200 and archive["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        names = set(z.namelist())
        assert {"trajectories.csv", "description.csv", "report.json", "README.txt"} <= names
        report = json.loads(z.read("report.json"))
        assert report["data"]["checksum"] == snap.checksum and report["cohort"]["name"] == "Everyone"
        for name in names:
            _no_identifiers(z.read(name), cohort, name)
    pdf = rita.get(f"/research/cohorts/{pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and pdf["Content-Type"] == "application/pdf"
    assert shown.count() == 1 + 1 + 1 + 1  # page, the CSV, the ZIP, the PDF (not the charts, not a 404)


def test_bad_filters_are_shown_next_to_the_field_and_nothing_is_saved(
    world: Any, people: People, cohort: Cohort
) -> None:
    from kratomwatch.research.models import Cohort as SavedCohort

    _snapshot(world)
    rita = _client(people.rita)
    url = f"/research/programs/{world.program.pk}/cohorts/"
    cases = [
        (
            {"name": "A", "exposure_min_mg": "lots"},
            "f-exposure_min_mg-error",
            "Enter the lowest mean daily mitragynine",
        ),
        ({"name": "B", "exposure_min_mg": "-3"}, "f-exposure_min_mg-error", "a dose cannot be negative"),
        (
            {"name": "C", "exposure_min_mg": "50", "exposure_max_mg": "10"},
            "f-exposure_min_mg-error",
            "The lowest mean daily dose is above the highest",
        ),
        ({"name": "D", "enrolled_from_year": "2025.5"}, "f-enrolled_from_year-error", "Enter a year such as 2025"),
        ({"name": "E", "baseline_min": "4"}, "f-baseline_instrument-error", "Choose which questionnaire"),
        ({"name": "F", "baseline_instrument": "nope"}, "f-baseline_instrument-error", "Choose one of the listed"),
        ({"name": ""}, "f-name-error", "Give the cohort a name"),
    ]
    for data, error_id, words in cases:
        response = rita.post(url, data)
        assert response.status_code == 400, data
        html = response.content.decode()
        assert f'id="{error_id}"' in html and words in html, (data, html[html.find("error") - 200 :][:600])
        assert "Nothing was saved" in html
    assert not SavedCohort.objects.exists()
    # A name already taken in the program is refused in words, and nothing is added.
    _saved(world, "Taken")
    taken = rita.post(url, {"name": "Taken"})
    assert taken.status_code == 400 and "already has a cohort with this name" in taken.content.decode()
    assert SavedCohort.objects.count() == 1


def test_empty_cohort_says_why_and_options_are_checked(world: Any, people: People, cohort: Cohort) -> None:
    _snapshot(world)
    empty = _saved(world, "Nobody", {"exposure_min_mg": 100000})
    rita = _client(people.rita)
    page = rita.get(f"/research/cohorts/{empty.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="empty-reason"' in html and "Nothing to show:" in html and "exposure_min_mg" in html
    assert CAVEAT_HEAD in html and 'id="trajectories"' not in html
    assert rita.get(f"/research/cohorts/{empty.pk}/report.pdf").content.startswith(b"%PDF-")

    everyone = _saved(world, "Everyone")
    bad_week = rita.get(f"/research/cohorts/{everyone.pk}/?week=soon&instrument=peg")
    assert bad_week.status_code == 400
    assert 'id="f-week-error"' in bad_week.content.decode() and "whole number" in bad_week.content.decode()
    ok = rita.get(f"/research/cohorts/{everyone.pk}/?week=4&instrument=pain_nrs")
    assert ok.status_code == 200 and 'id="responder-form"' in ok.content.decode()


def test_no_snapshot_yet_is_said_on_the_cohort_page(world: Any, people: People) -> None:
    saved = _saved(world, "Early")
    rita = _client(people.rita)
    html = rita.get(f"/research/cohorts/{saved.pk}/").content.decode()
    assert 'id="no-snapshot"' in html and CAVEAT_HEAD in html
    assert rita.get(f"/research/cohorts/{saved.pk}/report.pdf").status_code == 404


def test_edit_and_delete(world: Any, people: People, cohort: Cohort) -> None:
    from kratomwatch.research.models import Cohort as SavedCohort

    _snapshot(world)
    saved = _saved(world, "Women", {"sexes": ["female"]})
    rita = _client(people.rita)
    form = rita.get(f"/research/cohorts/{saved.pk}/edit/")
    assert form.status_code == 200 and 'value="female" checked' in form.content.decode()
    bad = rita.post(f"/research/cohorts/{saved.pk}/edit/", {"name": "Women", "baseline_max": "x"})
    assert bad.status_code == 400 and SavedCohort.objects.get(pk=saved.pk).definition == {"sexes": ["female"]}
    changed = rita.post(f"/research/cohorts/{saved.pk}/edit/", {"name": "Men", "sexes": ["male"]})
    assert changed.status_code == 302
    saved.refresh_from_db()
    assert saved.name == "Men" and saved.definition == {"sexes": ["male"]}
    confirm = rita.get(f"/research/cohorts/{saved.pk}/delete/")
    assert confirm.status_code == 200 and "Delete the cohort" in confirm.content.decode()
    assert SavedCohort.objects.filter(pk=saved.pk).exists()  # a GET deletes nothing
    gone = rita.post(f"/research/cohorts/{saved.pk}/delete/")
    assert gone.status_code == 302 and gone["Location"] == f"/research/programs/{world.program.pk}/cohorts/"
    assert not SavedCohort.objects.filter(pk=saved.pk).exists()
    assert rita.get(f"/research/cohorts/{saved.pk}/").status_code == 404


def test_clinician_gets_403_and_everyone_else_404(world: Any, people: People, cohort: Cohort) -> None:
    from kratomwatch.research.models import Cohort as SavedCohort

    _snapshot(world)
    saved = _saved(world, "Mine")
    pk = saved.pk
    urls = [
        ("get", f"/research/programs/{world.program.pk}/cohorts/"),
        ("post", f"/research/programs/{world.program.pk}/cohorts/"),
        ("post", f"/research/programs/{world.program.pk}/snapshot/refresh/"),
        ("get", f"/research/cohorts/{pk}/"),
        ("get", f"/research/cohorts/{pk}/edit/"),
        ("post", f"/research/cohorts/{pk}/edit/"),
        ("get", f"/research/cohorts/{pk}/delete/"),
        ("post", f"/research/cohorts/{pk}/delete/"),
        ("get", f"/research/cohorts/{pk}/charts/trajectory-peg.svg"),
        ("get", f"/research/cohorts/{pk}/tables/description.csv"),
        ("get", f"/research/cohorts/{pk}/tables.zip"),
        ("get", f"/research/cohorts/{pk}/report.pdf"),
    ]
    for who, status in ((world.alice, 403), (people.rex, 404), (world.bob, 404), (world.carol, 404)):
        client = _client(who)
        for method, url in urls:
            response = getattr(client, method)(url, {"name": "Stolen"} if method == "post" else None)
            assert response.status_code == status, (who.username, method, url, response.status_code)
            if who is not world.carol:  # carol's own menu links her own record
                _no_identifiers(_body(response), cohort, url, own=who.username)
    assert SavedCohort.objects.get(pk=pk).name == "Mine"
    # Anonymous: the login page, nothing else.
    anonymous = Client().get(f"/research/cohorts/{pk}/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@pytest.mark.django_db(transaction=True)  # the worker runs the job in its own transactions
def test_refresh_starts_the_snapshot_job(world: Any, people: People, cohort: Cohort) -> None:
    from kratomwatch.jobs import worker as jobs_worker
    from kratomwatch.research import snapshot

    rita = _client(people.rita)
    bad_k = rita.post(f"/research/programs/{world.program.pk}/snapshot/refresh/", {"k": "1"})
    assert bad_k.status_code == 400 and 'id="f-k-error"' in bad_k.content.decode()
    started = rita.post(f"/research/programs/{world.program.pk}/snapshot/refresh/", {"k": "5"})
    assert started.status_code == 302 and "/program/jobs/" in started["Location"]
    job_page = rita.get(started["Location"]).content.decode()
    assert "Research home" in job_page and "Program admin" not in job_page  # the researcher's menu
    assert jobs_worker.run(burst=True, schedule=False).tasks_run == 1
    done = rita.get(started["Location"]).content.decode()
    assert 'id="snapshot-ready"' in done
    assert snapshot.latest(world.program) is not None
    page = rita.get(f"/research/programs/{world.program.pk}/cohorts/").content.decode()
    assert 'id="refresh-job"' in page
