"""``kratomwatch sweep`` and ``kratomwatch alerts``.

``sweep`` evaluates the alert rules for every patient through ``alerts.actions.sweep`` (idempotent). ``alerts``
lists the operator's alerts (``access.alerts_for``) filtered and in queue order by ``alerts.queries``; a patient's
list is audited as ``patient.read.alerts``, the whole queue as ``list.alerts``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from kratomwatch.cli import boot, console, operator, operator_actor, parse_date, progress, reporting

if TYPE_CHECKING:
    from kratomwatch.alerts.models import Alert


def sweep(
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today in each patient's zone)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=50_000)] = 2000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Evaluate the alert rules for every patient and reconcile stored alerts (idempotent)."""
    with reporting(as_json=as_json):
        day = parse_date("as_of", as_of)
    boot()
    from kratomwatch.alerts.actions import sweep as run

    with progress(quiet=as_json) as bar:
        task = bar.add_task("alert sweep (patients)", total=None)
        result = run(
            actor=operator_actor(),
            as_of=day,
            batch_size=batch_size,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
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
    boot()
    from kratomwatch import access
    from kratomwatch.alerts import queries

    who, actor = operator(), operator_actor()
    with reporting(as_json=as_json):
        flt = queries.AlertFilter(status=status).checked()
        if patient_code is not None:
            patient = access.get_patient_for(who, patient_code, actor=actor, purpose="alerts")
            flt = queries.AlertFilter(status=status, patient_id=patient.pk)
        else:
            access.audit_list(who, "alerts", actor=actor)
    rows = [_row(a) for a in queries.apply(access.alerts_for(who), flt)]
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


def _row(a: Alert) -> dict[str, Any]:
    return {
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


def register(app: typer.Typer) -> None:
    app.command()(sweep)
    app.command()(alerts)
