"""``kratomwatch audit verify``, ``audit checkpoint`` and ``audit list``: check, anchor and read the audit trail.

``verify`` checks the hash chain, every signed checkpoint (in the table and in the anchor file outside the database)
and that the table is not shorter than the latest anchor; ``checkpoint`` signs and anchors the trail's state now
(``audit/checkpoints.py``).

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
    """Check the hash chain, the signed checkpoints and the anchors; exit 1 and name the first problem."""
    boot()
    from kratomwatch.audit.log import verify as verify_trail

    report = verify_trail()
    also = f"{report.checkpoints} checkpoints, {report.anchors} anchors"
    if report.ok:
        print(f"{report.events} events checked: OK ({also})")
        return
    where = f" at event id {report.first_bad_id}" if report.first_bad_id is not None else ""
    print(f"{report.events} events checked ({also}): BROKEN{where}: {report.problems[0]}")
    for problem in report.problems[1:10]:
        print(f"  also: {problem}")
    if len(report.problems) > 10:
        print(f"  and {len(report.problems) - 10} more problems")
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign the trail's state now (last id, count, head hash) and append it to the anchor file."""
    boot()
    from kratomwatch.audit.checkpoints import AuditKeyError, anchor_file, create_checkpoint

    try:
        cp = create_checkpoint()
    except AuditKeyError as exc:
        print(f"error: {exc}")
        raise typer.Exit(1) from None
    where = anchor_file()
    anchored = f", anchored in {where}" if where else ""
    print(f"checkpoint {cp.id}: {cp.event_count} events up to id {cp.last_event_id}{anchored}")


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
