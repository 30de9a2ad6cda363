"""Long jobs from the web: a program admin exports a program's doses and imports a dose CSV in the background.

The jobs go through the real task backend (django-tasks' database backend): the page enqueues, then the worker
runs in burst mode (``jobs.worker.run``), as ``kratomwatch worker --burst`` does. Files are written under a
temporary KRATOMWATCH_HOME. Only the person who started a job (or staff) may read it; everyone else gets 404.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django_tasks_db.models import DBTaskResult

from kratomwatch.audit.log import Actor
from kratomwatch.audit.models import AuditEvent
from kratomwatch.jobs import dose_csv, long_jobs
from kratomwatch.jobs import worker as jobs_worker
from kratomwatch.jobs.models import JobProgress
from kratomwatch.records import actions
from kratomwatch.records.models import Dose

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _home(settings: Any, tmp_path: Path) -> Path:
    settings.KRATOMWATCH_REQUIRE_2FA = False
    settings.BASE_DIR = tmp_path
    return tmp_path


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _doses(world: Any, n: int, *, key_prefix: str = "k") -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows = [
        (
            i + 2,
            actions.DoseIn(
                patient_code="P-001",
                lot_id=world.leaf_cert_lot.pk,
                taken_at=now - dt.timedelta(hours=2, minutes=i),
                amount=2.0,
                unit="g",
                idempotency_key=f"{key_prefix}{i}",
            ),
        )
        for i in range(n)
    ]
    result = actions.import_doses(actor=Actor.system("test"), rows=rows, patients={"P-001": world.patient})
    assert result.created == n, result.rejected


def _run_worker() -> int:
    report = jobs_worker.run(burst=True, schedule=False)
    return report.tasks_run


def _job_id(response: Any) -> str:
    assert response.status_code == 302, response.content[:500]
    match = re.fullmatch(r"/program/jobs/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


# --- export ----------------------------------------------------------------------------------------------------


def test_export_runs_on_the_worker_shows_progress_and_downloads_for_its_starter_only(world: Any, _home: Path) -> None:
    _doses(world, 3)
    actions.import_doses(
        actor=Actor.system("test"),
        rows=[
            (
                2,
                actions.DoseIn(
                    patient_code="P-001",
                    lot_id=world.leaf_cert_lot.pk,
                    taken_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
                    amount=1.0,
                    unit="g",
                    idempotency_key="=HYPERLINK(1)",
                ),
            )
        ],
        patients={"P-001": world.patient},
    )
    admin = login(world.admin)
    listing = admin.get("/program/jobs/")
    assert listing.status_code == 200
    assert "Export doses (CSV)" in listing.content.decode() and "Import doses (CSV)" in listing.content.decode()

    job = _job_id(admin.post("/program/jobs/export-doses/", {"program": world.program.pk}))
    queued = DBTaskResult.objects.get(task_path="kratomwatch.jobs.tasks.export_doses")
    assert queued.status == "READY"
    assert admin.get(f"/program/jobs/{job}/status.json").json()["status"] == "running"
    page = admin.get(f"/program/jobs/{job}/").content.decode()
    assert '<progress id="job-progress" max="100"' in page and "web/jobs.js" in page
    assert '<meta http-equiv="refresh"' in page  # the no-script fallback while it runs
    assert AuditEvent.objects.filter(action="job.start", object_id=job).count() == 1

    assert _run_worker() == 1
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL", queued.traceback
    state = admin.get(f"/program/jobs/{job}/status.json").json()
    assert (state["status"], state["percent"], state["done"], state["total"]) == ("done", 100, 4, 4)
    assert state["download_url"] == f"/program/jobs/{job}/download/"
    page = admin.get(f"/program/jobs/{job}/").content.decode()
    assert 'value="100"' in page and 'id="job-download"' in page and "http-equiv" not in page
    assert AuditEvent.objects.filter(action="list.doses.export", actor=world.admin).count() == 1

    response = admin.get(f"/program/jobs/{job}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == list(dose_csv.EXPORT_COLUMNS)
    assert len(rows) == 5 and {r[0] for r in rows[1:]} == {"P-001"}
    assert "'=HYPERLINK(1)" in [r[6] for r in rows[1:]]  # formula neutralised (core.csvsafe)
    assert list((_home / "jobs" / job).glob("doses-pain-*.csv"))  # under KRATOMWATCH_HOME, not in the database
    assert AuditEvent.objects.filter(action="job.download", object_id=job, actor=world.admin).count() == 1

    # Nobody else may see it: the same styled 404 as for a job that does not exist. Staff may.
    for other in (world.alice, world.bob, world.carol):
        client = login(other)
        for url in (f"/program/jobs/{job}/", f"/program/jobs/{job}/status.json", f"/program/jobs/{job}/download/"):
            response = client.get(url)
            assert response.status_code == 404, (other.username, url)
        assert "No such page, or you may not see it" in client.get(f"/program/jobs/{job}/").content.decode()
    assert login(world.staff).get(f"/program/jobs/{job}/").status_code == 200
    assert admin.get("/program/jobs/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert "Dose export (CSV)" in admin.get("/program/jobs/").content.decode()  # listed under My jobs


def test_only_program_admins_and_staff_start_jobs(world: Any) -> None:
    for user in (world.alice, world.carol, world.bob):
        client = login(user)
        assert client.get("/program/jobs/").status_code == 403
        assert client.post("/program/jobs/export-doses/", {"program": world.program.pk}).status_code == 403
    # An admin of one program cannot export another's.
    response = login(world.admin).post("/program/jobs/export-doses/", {"program": world.other_program.pk})
    assert response.status_code == 403
    assert JobProgress.objects.count() == 0 and DBTaskResult.objects.count() == 0
    assert login(world.staff).get("/program/jobs/").status_code == 200


def test_the_export_reports_progress_as_it_writes(world: Any) -> None:
    from kratomwatch import access

    _doses(world, 120)
    seen: list[tuple[int, int]] = []
    out = io.StringIO()
    patients = access.patients_for(world.admin)
    count = dose_csv.write_doses_csv(out, patients, on_progress=lambda d, t: seen.append((d, t)))
    assert count == 120
    assert seen == [(0, 120), (50, 120), (100, 120)]
    assert out.getvalue().count("\n") == 121


def test_a_removed_role_stops_the_job_with_a_reason(world: Any) -> None:
    from kratomwatch.accounts.models import Membership

    job = _job_id(login(world.admin).post("/program/jobs/export-doses/", {"program": world.program.pk}))
    Membership.objects.filter(user=world.admin).delete()
    _run_worker()
    row = JobProgress.objects.get(pk=job)
    assert row.status == "failed" and "not found" in row.error


# --- import ----------------------------------------------------------------------------------------------------


def _csv(world: Any, rows: list[tuple[str, Any, str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["patient_code", "lot_id", "taken_at", "amount", "unit"])
    writer.writerows(rows)
    return out.getvalue().encode()


def _upload(client: Client, world: Any, data: bytes, *, name: str = "doses.csv", partial: bool = False) -> Any:
    form: dict[str, Any] = {"program": world.program.pk, "file": _named(data, name)}
    if partial:
        form["allow_partial"] = "on"
    return client.post("/program/jobs/import-doses/", form)


def _named(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_import_lists_created_skipped_and_rejected_rows(world: Any, _home: Path) -> None:
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).replace(microsecond=0)
    lot = world.leaf_cert_lot.pk
    data = _csv(
        world,
        [
            ("P-001", lot, when.isoformat(), "2", "g"),
            ("P-001", lot, (when - dt.timedelta(hours=1)).isoformat(), "1.5", "g"),
            ("P-001", lot, when.isoformat(), "2", "g"),  # the same row again: skipped
            ("P-001", "x", when.isoformat(), "2", "g"),  # line 5: lot is not a number
            ("Q-001", lot, when.isoformat(), "2", "g"),  # line 6: another program's patient
        ],
    )
    admin = login(world.admin)
    job = _job_id(_upload(admin, world, data, partial=True))
    assert (_home / "jobs" / job / long_jobs.UPLOAD_NAME).read_bytes() == data
    assert Dose.objects.count() == 0  # nothing is imported in the request
    assert _run_worker() == 1
    assert Dose.objects.filter(patient=world.patient).count() == 2
    state = admin.get(f"/program/jobs/{job}/status.json").json()
    assert (state["status"], state["percent"]) == ("done", 100)
    page = admin.get(f"/program/jobs/{job}/").content.decode()
    assert re.search(r'id="created-count">2<', page) and re.search(r'id="skipped-count">1<', page)
    assert re.search(r'id="rejected-count">2<', page)
    assert "<td>5</td><td>lot_id</td>" in page and "is not an integer" in page
    assert "<td>6</td><td>patient_code</td>" in page and "unknown patient code" in page
    assert 'id="job-download"' not in page  # an import has no file to download
    assert login(world.alice).get(f"/program/jobs/{job}/").status_code == 404

    # All-or-nothing by default: the same bad rows mean nothing is written.
    again = _job_id(_upload(admin, world, _csv(world, [("P-001", "x", when.isoformat(), "2", "g")])))
    _run_worker()
    page = admin.get(f"/program/jobs/{again}/").content.decode()
    assert "Nothing was written" in page and Dose.objects.count() == 2


def test_import_refuses_patients_without_care_consent(world: Any) -> None:
    from kratomwatch.consent import actions as consent_actions

    assert consent_actions.withdraw(actor=Actor.system("test"), patient=world.patient, scope="care") == 1
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).replace(microsecond=0)
    admin = login(world.admin)
    job = _job_id(_upload(admin, world, _csv(world, [("P-001", world.leaf_cert_lot.pk, when.isoformat(), "2", "g")])))
    _run_worker()
    page = admin.get(f"/program/jobs/{job}/").content.decode()
    assert "has no active care consent" in page and Dose.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "photo.csv", "not UTF-8 text"),
        (b"patient_code,lot_id,taken_at,amount,unit\nP-001,\x00,x,1,g\n", "doses.csv", "binary data"),
        (b"patient_code;lot_id;taken_at\nP-001;1;x\n", "doses.csv", "missing required column(s)"),
        (b"", "empty.csv", "The file is empty"),
        (b"patient_code,lot_id,taken_at,amount,unit\n" + b"x" * (5 * 1024 * 1024), "big.csv", "larger than 5 MB"),
    ],
)
def test_a_bad_upload_is_refused_with_a_clear_message_and_no_job(
    world: Any, _home: Path, data: bytes, name: str, words: str
) -> None:
    response = _upload(login(world.admin), world, data, name=name)
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html and 'aria-invalid="true"' in html
    assert JobProgress.objects.count() == 0 and DBTaskResult.objects.count() == 0
    assert not (_home / "jobs").exists()
    assert AuditEvent.objects.filter(action="job.start").count() == 0


def test_no_file_chosen_is_a_clear_error(world: Any) -> None:
    response = login(world.admin).post("/program/jobs/import-doses/", {"program": world.program.pk})
    assert response.status_code == 400 and "Choose the dose CSV file" in response.content.decode()


# --- keeping files ----------------------------------------------------------------------------------------------


def test_the_daily_cleanup_removes_job_files_older_than_the_kept_days(world: Any, _home: Path) -> None:
    _doses(world, 1)
    job = _job_id(login(world.admin).post("/program/jobs/export-doses/", {"program": world.program.pk}))
    _run_worker()
    assert long_jobs.remove_old_files() == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=long_jobs.keep_days(), hours=1)
    assert long_jobs.remove_old_files(now=later) == 1
    assert not (_home / "jobs" / job).exists()
    admin = login(world.admin)
    assert admin.get(f"/program/jobs/{job}/download/").status_code == 404
    assert "was removed from the server" in admin.get(f"/program/jobs/{job}/").content.decode()


def test_my_jobs_is_in_the_program_admin_menu(world: Any) -> None:
    html = login(world.admin).get("/clinic/").content.decode()
    assert '<a href="/program/jobs/">My jobs</a>' in html
    assert "/program/jobs/" not in login(world.alice).get("/clinic/").content.decode()


def test_the_development_servers_worker_thread_runs_a_queued_export(world: Any) -> None:
    """``kratomwatch serve`` (development) starts ``jobs.worker.start_in_thread``: a job finishes, no other command."""
    import time

    _doses(world, 2)
    job = long_jobs.start_dose_export(user=world.admin, program=world.program)

    def status() -> str:
        try:
            return str(JobProgress.objects.get(pk=job).status)
        except OperationalError:  # the test's in-memory SQLite (shared cache) locks a table to readers while written
            return "running"

    thread, stop = jobs_worker.start_in_thread(interval=0.2)
    try:
        deadline = time.monotonic() + 90  # two shared cores: leave room for a slow round
        while time.monotonic() < deadline and status() == "running":
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=30)
    row = JobProgress.objects.get(pk=job)
    assert (row.status, row.done) == ("done", 2), row.error
    assert not thread.is_alive()
