"""The daily schedule: due instants in a zone across DST, once per (job, local date), progress of long jobs."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.jobs import progress, scheduler
from kratomwatch.jobs.models import ScheduledRun

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("at", "day", "tz", "expected"),
    [
        # Chicago: CST (UTC-6) before 8 March 2026, CDT (UTC-5) after; back to CST on 1 November 2026.
        ("02:00", dt.date(2026, 3, 7), CHICAGO, utc(2026, 3, 7, 8, 0)),
        ("02:00", dt.date(2026, 3, 9), CHICAGO, utc(2026, 3, 9, 7, 0)),
        # 02:30 does not exist on 8 March (02:00 -> 03:00): it runs at 03:30 CDT.
        ("02:30", dt.date(2026, 3, 8), CHICAGO, utc(2026, 3, 8, 8, 30)),
        # 01:30 happens twice on 1 November: the first (CDT) one.
        ("01:30", dt.date(2026, 11, 1), CHICAGO, utc(2026, 11, 1, 6, 30)),
        ("02:00", dt.date(2026, 11, 2), CHICAGO, utc(2026, 11, 2, 8, 0)),
        # London: BST from 29 March 2026 (01:00 -> 02:00).
        ("01:30", dt.date(2026, 3, 29), LONDON, utc(2026, 3, 29, 1, 30)),
        ("02:00", dt.date(2026, 3, 30), LONDON, utc(2026, 3, 30, 1, 0)),
        ("23:59", dt.date(2026, 12, 31), ZoneInfo("UTC"), utc(2026, 12, 31, 23, 59)),
    ],
)
def test_due_instant_of_a_local_time_across_dst(at: str, day: dt.date, tz: ZoneInfo, expected: dt.datetime) -> None:
    assert scheduler.due_at(scheduler.parse_at("KRATOMWATCH_SWEEP_AT", at), day, tz) == expected


@pytest.mark.parametrize("text", ["2am", "24:00", "7:60", "", "02:00:00"])
def test_a_bad_time_of_day_names_the_setting(text: str) -> None:
    with pytest.raises(InputError) as caught:
        scheduler.parse_at("KRATOMWATCH_SWEEP_AT", text)
    assert caught.value.field == "KRATOMWATCH_SWEEP_AT" and "HH:MM" in caught.value.message


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        scheduler.zone("Mars/Olympus")
    assert caught.value.field == "KRATOMWATCH_SWEEP_ZONE"


@pytest.mark.django_db
def test_each_job_is_enqueued_once_per_local_date_at_its_local_time(settings: Any) -> None:
    settings.KRATOMWATCH_SWEEP_ZONE = "America/Chicago"
    settings.KRATOMWATCH_SWEEP_AT = "02:30"
    only = {"registry-sweep": scheduler.JOBS["registry-sweep"]}
    # 8 March 2026 in Chicago: 02:30 does not exist, so the sweep is due at 03:30 CDT = 08:30 UTC.
    assert scheduler.tick(utc(2026, 3, 8, 8, 29), jobs=only) == []
    [run] = scheduler.tick(utc(2026, 3, 8, 8, 30), jobs=only)
    assert run.local_date == dt.date(2026, 3, 8) and run.zone == "America/Chicago"
    assert run.due_at == utc(2026, 3, 8, 8, 30)
    assert DBTaskResult.objects.filter(id=run.task_id, task_path="kratomwatch.jobs.tasks.registry_sweep").exists()
    assert DBTaskResult.objects.get(id=run.task_id).args_kwargs == {"args": [], "kwargs": {"local_date": "2026-03-08"}}
    assert scheduler.tick(utc(2026, 3, 8, 23, 0), jobs=only) == []  # later the same local day: nothing
    # 05:00 UTC on 9 March is still 8 March in Chicago (00:00 CDT): nothing.
    assert scheduler.tick(utc(2026, 3, 9, 5, 0), jobs=only) == []
    [nxt] = scheduler.tick(utc(2026, 3, 9, 7, 30), jobs=only)
    assert nxt.local_date == dt.date(2026, 3, 9)
    assert ScheduledRun.objects.count() == 2 and DBTaskResult.objects.count() == 2
    assert scheduler.next_due(only["registry-sweep"], utc(2026, 3, 9, 8, 0)) == utc(2026, 3, 10, 7, 30)


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_take_each_daily_job_exactly_once(settings: Any) -> None:
    """Two threads, each with its own database connection, tick at the same instant many times."""
    if connection.vendor == "sqlite":
        pytest.skip("in-memory SQLite is one connection; tests/jobs/test_worker.py races two processes on a file")
    settings.KRATOMWATCH_SWEEP_AT = settings.KRATOMWATCH_DIGEST_AT = settings.KRATOMWATCH_REMINDERS_AT = "00:00"
    now = utc(2026, 12, 1, 12, 0)
    barrier = threading.Barrier(2)
    taken: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for _ in range(5):
                barrier.wait()
                taken[name] += [r.job for r in scheduler.tick(now, worker_id=name)]
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(taken["a"] + taken["b"]) == sorted(scheduler.JOBS)
    assert ScheduledRun.objects.count() == 3
    assert DBTaskResult.objects.count() == 3


@pytest.mark.django_db
def test_progress_of_a_long_job_is_readable_by_whoever_started_it(world: Any) -> None:
    job = progress.start("export", user=world.alice)
    assert progress.read(job, world.alice).as_dict() == {
        "id": job,
        "kind": "export",
        "status": "running",
        "done": 0,
        "total": None,
        "percent": None,
        "result_path": "",
        "error": "",
    }
    progress.update(job, done=25, total=100)
    assert progress.read(job, world.alice).percent == 25
    progress.finish(job, result_path="exports/doses.csv")
    done = progress.read(job, world.alice)
    assert (done.status, done.done, done.result_path) == ("done", 100, "exports/doses.csv")
    assert progress.read(job, world.staff).status == "done"  # staff may read any job
    for stranger_id, user in ((job, world.bob), ("not-a-uuid", world.alice)):
        with pytest.raises(NotFound):
            progress.read(stranger_id, user)
    failed = progress.start("import")
    progress.finish(failed, error="line 3: the file is not UTF-8")
    assert progress.read(failed).status == "failed" and "UTF-8" in progress.read(failed).error
    with pytest.raises(InputError):
        progress.update(failed, done=-1)
