"""`kratomwatch jobs` and `kratomwatch worker` at the command line: listing, running, and bad settings in words."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from kratomwatch.audit.models import AuditEvent
from kratomwatch.cli import app
from kratomwatch.jobs.models import JobProgress, ScheduledRun

pytestmark = pytest.mark.django_db
runner = CliRunner()


def test_jobs_list_names_each_daily_job_with_its_local_time_and_zone(world: Any, settings: Any) -> None:
    settings.KRATOMWATCH_SWEEP_ZONE = "America/Chicago"
    result = runner.invoke(app, ["jobs", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for job in ("registry-sweep", "alert-digest", "questionnaire-reminders"):
        assert job in result.output
    assert "02:00 America/Chicago" in result.output and ("CST" in result.output or "CDT" in result.output)
    assert "program choice" in result.output


def test_jobs_run_runs_the_sweep_now_and_records_its_progress(world: Any) -> None:
    result = runner.invoke(app, ["jobs", "run", "registry-sweep"])
    assert result.exit_code == 0, result.output
    assert "patients 2" in result.output
    job = JobProgress.objects.get(kind="registry-sweep")
    assert (job.status, job.done, job.total) == ("done", 2, 2)
    assert AuditEvent.objects.filter(action="alert.sweep", actor_label="scheduler").count() == 1
    assert not ScheduledRun.objects.exists()  # a manual run leaves the schedule alone


def test_an_unknown_job_is_an_error_in_one_shape(world: Any) -> None:
    result = runner.invoke(app, ["jobs", "run", "sweep-everything"])
    assert result.exit_code == 2
    assert result.output.startswith("error: job='sweep-everything': no job named 'sweep-everything'")


def test_a_bad_schedule_setting_stops_the_worker_with_the_setting_named(world: Any, settings: Any) -> None:
    settings.KRATOMWATCH_SWEEP_AT = "2am"
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 2
    assert result.output.startswith("error: KRATOMWATCH_SWEEP_AT='2am': ") and "HH:MM" in result.output
    assert not ScheduledRun.objects.exists()


def test_reminders_and_contact_from_the_command_line(world: Any) -> None:
    assert runner.invoke(app, ["notifications", "reminders", "P-001", "maybe"]).exit_code == 2
    assert runner.invoke(app, ["notifications", "reminders", "NOPE", "on"]).exit_code == 2
    ok = runner.invoke(app, ["notifications", "reminders", "P-001", "on"])
    assert ok.exit_code == 0 and "questionnaire reminders for P-001: on" in ok.output
    bad = runner.invoke(app, ["notifications", "contact", "alice", "not-an-address"])
    assert bad.exit_code == 2 and bad.output.startswith("error: email='not-an-address': ")
    world.alice.refresh_from_db()
    assert world.alice.email == ""
    assert runner.invoke(app, ["notifications", "contact", "alice", "alice@clinic.example"]).exit_code == 0
    world.alice.refresh_from_db()
    assert world.alice.email == "alice@clinic.example"
