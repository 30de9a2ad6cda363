"""``kratomwatch sweep`` and ``kratomwatch alerts``: registered on the main app by ``register(app)``."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
err = Console(stderr=True)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")
    import django

    django.setup()


def _actor() -> Any:
    from kratomwatch.audit.log import Actor

    return Actor.system(f"cli:{getpass.getuser()}")


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"as_of={text!r}: not a date (YYYY-MM-DD)")
        raise  # unreachable: _fail exits


def sweep(
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today in each patient's zone)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=50_000)] = 2000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Evaluate the alert rules for every patient and reconcile stored alerts (idempotent)."""
    _setup()
    from kratomwatch.alerts.actions import sweep as run

    day = _date(as_of)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=as_json,
        disable=as_json,
    )
    with progress:
        task = progress.add_task("alert sweep (patients)", total=None)
        result = run(
            actor=_actor(),
            as_of=day,
            batch_size=batch_size,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        return
    console.print(
        f"patients {result.patients}: created {result.created}, updated {result.updated}, "
        f"unchanged {result.unchanged}, condition cleared (still open) {result.cleared}"
    )


def alerts(
    patient_code: Annotated[str | None, typer.Argument(help="Only this patient")] = None,
    status: Annotated[str, typer.Option(help="open, acknowledged, resolved, active or all")] = "active",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List alerts, most severe first (default: not resolved)."""
    _setup()
    from kratomwatch.alerts.models import Alert, AlertStatus
    from kratomwatch.audit.log import record
    from kratomwatch.records.models import Patient

    if status not in ("open", "acknowledged", "resolved", "active", "all"):
        _fail(f"status={status!r}: use open, acknowledged, resolved, active or all")
    qs = Alert.objects.select_related("patient").order_by("-severity_rank", "-last_seen_at", "id")
    if patient_code is not None:
        patient = Patient.objects.filter(code=patient_code).first()
        if patient is None:
            _fail(f"patient_code={patient_code!r}: no such patient")
            return
        qs = qs.filter(patient=patient)
        record(
            _actor(),
            "patient.read.alerts",
            object_type="patient",
            object_id=patient.pk,
            program_id=patient.program_id,
            patient_code=patient.code,
        )
    else:
        record(_actor(), "list.alerts", object_type="alerts")
    if status == "active":
        qs = qs.exclude(status=AlertStatus.RESOLVED)
    elif status != "all":
        qs = qs.filter(status=status)
    rows = [
        {
            "id": a.pk,
            "patient_code": a.patient.code,
            "rule_id": a.rule_id,
            "subject_key": a.subject_key,
            "severity": a.severity,
            "status": a.status,
            "title": a.title,
            "reason": a.reason,
            "sources": a.sources,
            "evidence_as_of": a.evidence_as_of.isoformat() if a.evidence_as_of else None,
            "program_settings": a.program_settings,
            "first_seen_at": a.first_seen_at.isoformat(),
            "last_seen_at": a.last_seen_at.isoformat(),
            "condition_cleared_at": a.condition_cleared_at.isoformat() if a.condition_cleared_at else None,
        }
        for a in qs
    ]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("id", "patient", "severity", "rule", "title", "status", "basis")
    for row in rows:
        basis = "published" if row["sources"] else "program setting"
        if row["sources"] and row["program_settings"]:
            basis = "published + program setting"
        table.add_row(
            str(row["id"]), row["patient_code"], row["severity"], row["rule_id"], row["title"], row["status"], basis
        )
    console.print(table)
    console.print(f"{len(rows)} alert(s)", style="dim")


def register(app: typer.Typer) -> None:
    app.command()(sweep)
    app.command()(alerts)
