"""The worker loop of ``kratomwatch worker``: scheduler tick, lost-message recovery, then the queued tasks.

Tasks are claimed by django-tasks-db's worker (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, an exclusive
transaction on SQLite), so several workers on several machines share one queue without running a task twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from kratomwatch.jobs import scheduler
from kratomwatch.notifications import actions as notify

log = logging.getLogger("kratomwatch.worker")


@dataclass
class Report:
    worker_id: str
    scheduled: list[str] = field(default_factory=list)
    """``job@local-date`` of each daily job this worker enqueued."""
    requeued: int = 0
    tasks_run: int = 0


def run(
    *,
    once: bool = False,
    burst: bool = False,
    interval: float = 5.0,
    worker_id: str | None = None,
    handle_signals: bool = False,
    schedule: bool = True,
    stop: threading.Event | None = None,
) -> Report:
    """Loop: tick the schedule, requeue lost messages, run ready tasks; sleep ``interval`` seconds between rounds.

    ``once``: one round, at most one task. ``burst``: one round, every ready task (also those queued meanwhile).
    Otherwise forever (SIGTERM/SIGINT stop it after the current task when ``handle_signals``; ``stop`` set: after
    the current round). ``schedule=False`` leaves the daily schedule alone (only queued tasks run).
    """
    report = Report(worker_id=worker_id or get_random_string(32))
    worker = Worker(
        queue_names=["default"],
        interval=0.2,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=1 if once else None,
        worker_id=report.worker_id,
        excluded_queue_names=[],
    )
    if handle_signals:
        worker.configure_signals()
    while worker.running:
        close_old_connections()
        now = timezone.now()
        for run_ in scheduler.tick(now, worker_id=report.worker_id) if schedule else []:
            report.scheduled.append(f"{run_.job}@{run_.local_date.isoformat()}")
            log.info("scheduled %s for %s", run_.job, run_.local_date)
        report.requeued += notify.requeue_stale(now=now)
        worker.run()
        report.tasks_run = worker._run_tasks  # the library's own counter of tasks run
        if once or burst or (stop is not None and stop.is_set()):
            break
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)
    return report


def start_in_thread(*, interval: float = 2.0) -> tuple[threading.Thread, threading.Event]:
    """A worker in a daemon thread of this process (``kratomwatch serve`` in development): queued tasks and the
    daily schedule run without a second command. Set the event to stop it after its current round.

    The queue library's two INFO lines per round ("Starting worker", "No more tasks") are left out of the console;
    each task's start and end (``django_tasks``) still show."""
    logging.getLogger("django_tasks_db").setLevel(logging.WARNING)
    stop = threading.Event()
    worker_id = f"dev-{get_random_string(8)}"

    def loop() -> None:
        while not stop.is_set():
            try:
                run(interval=interval, stop=stop, worker_id=worker_id)
            except Exception:
                # A round that fails (a locked SQLite database, say) is logged and tried again; the server goes on.
                log.exception("a round of the development worker failed; trying again in %s s", interval)
                connection.close()
                stop.wait(interval)
        connection.close()

    thread = threading.Thread(target=loop, name="kratomwatch-worker", daemon=True)
    thread.start()
    return thread, stop
