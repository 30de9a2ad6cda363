"""``kratomwatch audit verify`` and ``kratomwatch audit list``: check and read the hash-chained audit trail.

The operator reads the whole trail (``access.audit_events_for``) through the filters the /audit/ page uses;
like that page, a listing is itself audited (``audit.read``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from kratomwatch.cli import boot, console, operator, operator_actor, reporting

audit_app = typer.Typer(help="Verify and read the hash-chained audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Recompute the whole hash chain; exit 1 and name the first broken link if it was tampered with."""
    boot()
    from kratomwatch.audit.log import verify_chain

    report = verify_chain()
    if report.ok:
        print(f"{report.events} events checked: OK")
        return
    print(f"{report.events} events checked: BROKEN at event id {report.first_bad_id}: {report.reason}")
    raise typer.Exit(1)


@audit_app.command("list")
def list_events(
    patient: Annotated[str, typer.Option("--patient", help="Only events about this patient code")] = "",
    actor: Annotated[str, typer.Option("--actor", help="Only events by this username (or cli:/system label)")] = "",
    action: Annotated[str, typer.Option("--action", help="Only actions starting with this, e.g. patient.read")] = "",
    since: Annotated[str | None, typer.Option("--since", help="From this date (YYYY-MM-DD), inclusive")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this date (YYYY-MM-DD), inclusive")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N events")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table")] = False,
) -> None:
    """List audit events, newest first."""
    boot()
    from kratomwatch import access
    from kratomwatch.audit import queries
    from kratomwatch.audit.log import record

    with reporting(as_json=as_json):
        flt = queries.AuditFilter(
            actor=actor,
            action=action,
            patient_code=patient,
            since=queries.parse_date("since", since),
            until=queries.parse_date("until", until),
        )
    events = list(queries.apply(access.audit_events_for(operator()), flt).order_by("-id")[:limit])
    record(operator_actor(), "audit.read", object_type="audit_log", detail={"filters": flt.as_detail()})
    if as_json:
        print(json.dumps([queries.as_dict(e) for e in events], default=str))
        return
    table = Table("id", "at (UTC)", "actor", "action", "object", "patient", "address")
    for e in events:
        obj = f"{e.object_type}:{e.object_id}" if e.object_id else e.object_type
        at = e.at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(e.id), at, e.actor_label, e.action, obj, e.patient_code, e.remote_addr or "")
    console.print(table)
    console.print(f"{len(events)} event(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
