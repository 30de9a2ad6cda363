"""Running the site: ``migrate``, ``serve``, ``createuser`` and ``demo``.

``createuser`` writes through ``accounts.actions`` as the operator; ``demo`` loads the synthetic program
(idempotent) and prints its logins.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.progress import TaskID
from rich.table import Table

from kratomwatch.cli import (
    boot,
    console,
    database_ready,
    operator,
    operator_actor,
    progress,
    reporting,
    require_database,
)


def migrate() -> None:
    """Create or upgrade the database schema."""
    boot()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    fresh = not database_ready()
    executor = MigrationExecutor(connection)
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    call_command("migrate", interactive=False, verbosity=0)
    if fresh:
        console.print(f"created the database schema ({pending} migrations applied)")
    elif pending:
        console.print(f"upgraded the database schema ({pending} migration{'s' if pending != 1 else ''} applied)")
    else:
        console.print("database is up to date")


def demo(
    patients: int = typer.Option(36, min=30, max=5000, help="Number of synthetic patients"),
    days: int = typer.Option(90, min=30, max=730, help="Days of history"),
    seed: int = 20261121,
) -> None:
    """Load the synthetic demo program (idempotent: a second run changes nothing) and print the logins."""
    boot()
    require_database()  # before any progress bar: one plain line, exit 1
    from kratomwatch.demo import DEMO_LOGINS, load_demo

    bar = progress()
    task: list[TaskID] = []

    def step(n: int, total: int) -> None:
        if not task:  # the bar appears only when there is data to load (not on a rerun)
            bar.start()
            task.append(bar.add_task("demo data", total=total))
        bar.update(task[0], completed=n, total=total)

    try:
        summary = load_demo(patients=patients, days=days, seed=seed, step=step)
    finally:
        bar.stop()
    console.print(
        f"demo ({summary['status']}): {summary['patients']} patients in {summary.get('programs', 2)} programs, "
        f"{summary['doses']} doses"
    )
    if summary.get("analysis_snapshot"):
        console.print(f"research analysis snapshot {summary['analysis_snapshot']} (de-identified; /research/)")
    table = Table(title="Demo logins (synthetic data only)")
    for col in ("username", "password", "role"):
        table.add_column(col)
    for username, password, role in DEMO_LOGINS:
        table.add_row(username, password, role)
    console.print(table)


def createuser(
    username: str,
    role: Annotated[str, typer.Option(help="clinician, program_admin, researcher, patient or staff")] = "clinician",
    program: Annotated[str | None, typer.Option(help="Program slug (for program roles)")] = None,
    patient_code: Annotated[str | None, typer.Option(help="Patient code (for role patient)")] = None,
    token: Annotated[bool, typer.Option(help="Also create an API token and print it once")] = False,
) -> None:
    """Create a user. The password is read from KRATOMWATCH_PASSWORD or prompted for."""
    boot()
    from kratomwatch import access
    from kratomwatch.accounts.actions import create_user
    from kratomwatch.records.actions import create_patient_login

    password = os.environ.get("KRATOMWATCH_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    with reporting():
        if role == "patient":
            patient = access.get_patient_for(
                operator(), patient_code or "", actor=operator_actor(), purpose="create_login"
            )
            user, raw = create_patient_login(
                actor=operator_actor(), patient=patient, username=username, password=password, with_token=token
            )
        else:
            user, raw = create_user(
                actor=operator_actor(),
                username=username,
                password=password,
                role=role,
                program_slug=program,
                with_token=token,
            )
    console.print(f"created user {user.get_username()} ({role})")
    if raw:
        console.print(f"API token (shown once): {raw}")


def register(app: typer.Typer) -> None:
    app.command()(migrate)
    app.command()(demo)
    app.command()(createuser)
