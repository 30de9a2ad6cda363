"""``kratomwatch worker``, ``kratomwatch jobs`` and ``kratomwatch notifications``.

``worker`` runs the queued background tasks (django-tasks, database backend) and the daily schedule
(``jobs.scheduler``: each daily job once per local date, whatever the number of workers). ``jobs`` lists the
schedule and recent long jobs, or runs one daily job now. ``notifications`` lists what was sent (``--failed``:
what could not be), retries failed messages, and sets a patient's reminder choice or a login's email address.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from kratomwatch.cli import boot, console, fail, operator, operator_actor, reporting
from kratomwatch.core.errors import InputError

jobs_app = typer.Typer(help="The daily schedule and long jobs.", no_args_is_help=True)
notifications_app = typer.Typer(help="Messages sent by kratomwatch (email, webhook).", no_args_is_help=True)


def worker(
    once: Annotated[bool, typer.Option("--once", help="One round: schedule what is due, run one task, exit")] = False,
    burst: Annotated[
        bool, typer.Option("--burst", help="One round: schedule what is due, run every ready task, exit")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.1, max=3600, help="Seconds between rounds")] = 5.0,
    worker_id: Annotated[str | None, typer.Option(help="Unique name of this worker (default: random)")] = None,
) -> None:
    """Run background tasks and the daily schedule (sweep, digest, reminders). Several workers may run at once."""
    boot()
    from kratomwatch.jobs import scheduler
    from kratomwatch.jobs import worker as loop

    with reporting():
        for job in scheduler.JOBS.values():
            job.at()
        tz = scheduler.zone()
    if not (once or burst):
        console.print(f"worker started; daily schedule in {tz.key} (stop with Ctrl+C)")
    report = loop.run(once=once, burst=burst, interval=interval, worker_id=worker_id, handle_signals=True)
    console.print(
        f"worker {report.worker_id}: scheduled {', '.join(report.scheduled) or 'nothing'}; "
        f"tasks run {report.tasks_run}; messages requeued {report.requeued}"
    )


def _when(when: Any, now: Any, tz: Any) -> str:
    text = when.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")
    return f"at the next worker round (due {text})" if when <= now else text


@jobs_app.command("list")
def jobs_list() -> None:
    """The daily jobs with their next run (in the schedule's zone and UTC), and recent long jobs."""
    boot()
    from django.utils import timezone

    from kratomwatch.jobs import progress, scheduler

    with reporting():
        tz = scheduler.zone()
        now = timezone.now()
        daily = [
            {
                "job": job.name,
                "at": job.at().strftime("%H:%M"),
                "zone": tz.key,
                "setting": job.setting,
                "next_run_utc": scheduler.next_due(job, now, tz).isoformat(),
                "next_run_local": _when(scheduler.next_due(job, now, tz), now, tz),
                "does": job.description,
            }
            for job in scheduler.JOBS.values()
        ]
    recent = [p.as_dict() for p in progress.recent()]
    table = Table("job", "daily at", "next run", "what it does", title=f"Daily jobs ({scheduler.ZONE_LABEL})")
    for row in daily:
        table.add_row(row["job"], f"{row['at']} {row['zone']}", row["next_run_local"], row["does"])
    console.print(table)
    if recent:
        table = Table("id", "kind", "status", "done", "total", "result", title="Recent long jobs")
        for p in recent:
            table.add_row(p["id"], p["kind"], p["status"], str(p["done"]), str(p["total"] or ""), p["result_path"])
        console.print(table)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="registry-sweep, alert-digest or questionnaire-reminders")],
) -> None:
    """Run one daily job now, in this process (the schedule is not changed). Messages it queues go out by a worker."""
    boot()
    from kratomwatch.jobs import scheduler

    with reporting():
        result = scheduler.run_now(name)
    console.print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result.items() if v is not None))


def _note_row(note: Any) -> dict[str, Any]:
    return {
        "id": note.pk,
        "kind": note.kind,
        "channel": note.channel,
        "recipient": note.recipient,
        "subject": note.subject,
        "status": note.status,
        "attempts": note.attempts,
        "last_error": note.last_error,
        "created_at": note.created_at.isoformat(),
        "sent_at": note.sent_at.isoformat() if note.sent_at else None,
    }


@notifications_app.command("list")
def notifications_list(
    failed: Annotated[bool, typer.Option("--failed", help="Only messages that failed after every attempt")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """The latest notifications (times in UTC)."""
    boot()
    from kratomwatch.notifications import queries

    rows = [_note_row(n) for n in queries.notifications(failed=failed, limit=limit)]
    table = Table("id", "kind", "channel", "to", "status", "tries", "created (UTC)", "last error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            r["channel"],
            r["recipient"] or "(nobody)",
            r["status"],
            str(r["attempts"]),
            r["created_at"][:16].replace("T", " "),
            r["last_error"][:60],
        )
    console.print(table)
    if not rows:
        console.print("no failed notifications" if failed else "no notifications")


@notifications_app.command("retry")
def notifications_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Only these ids (default: every failed one)")] = None,
) -> None:
    """Give failed notifications a fresh set of attempts (a running worker sends them)."""
    boot()
    from kratomwatch.notifications import actions

    count = actions.retry_failed(actor=operator_actor(), ids=ids or None)
    console.print(f"queued again: {count}")


@notifications_app.command("reminders")
def notifications_reminders(
    patient_code: Annotated[str, typer.Argument(help="The patient's code")],
    choice: Annotated[str, typer.Argument(help="on or off")],
) -> None:
    """Turn a patient's questionnaire reminders on or off (at the patient's request)."""
    boot()
    from kratomwatch import access
    from kratomwatch.notifications import actions

    with reporting():
        if choice not in ("on", "off"):
            raise InputError("choice", choice, "choose on or off")
        patient = access.get_patient_for(operator(), patient_code, actor=operator_actor(), purpose="reminders")
        actions.set_questionnaire_reminders(actor=operator_actor(), patient=patient, enabled=choice == "on")
    console.print(f"questionnaire reminders for {patient.code}: {choice}")


@notifications_app.command("contact")
def notifications_contact(
    username: Annotated[str, typer.Argument(help="The login")],
    email: Annotated[str, typer.Argument(help="Email address for notifications ('' removes it)")],
) -> None:
    """Set the email address a login's notifications go to."""
    boot()
    from kratomwatch.notifications import actions, queries

    user = queries.user_named(username)
    if user is None:
        fail(InputError("username", username, f"no login named {username!r}"))
    with reporting():
        actions.set_contact_email(actor=operator_actor(), user=user, email=email)
    console.print(f"{username}: notifications go to {email or '(no address)'}")


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(notifications_app, name="notifications")
