"""The ``kratomwatch`` command line: thin commands over actions (writes), access and selectors (reads) and core.

Contract shared by every command:
- the person at the server is the explicit operator (:func:`kratomwatch.access.operator`): reads go through
  ``kratomwatch.access`` as that operator and are audited like any web read, writes carry the same actor;
  audit events are labelled ``cli:<login>``;
- bad input is reported by :func:`fail` in one shape, exit code 2 and no traceback: ``error: field=value:
  message`` on stderr, or with ``--json`` ``{"error": {"code", "message", "field", "value"}}`` on stdout;
- progress bars go to stderr (:func:`progress`), so stdout stays clean for CSV and JSON.

The commands live in ``records`` (doses, exposure), ``alerts``, ``knowledge``, ``audit``, ``fhir`` and ``site``
(schema, server, users, demo); each module registers its commands on :data:`app` with ``register(app)``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kratomwatch.core.errors import InputError

if TYPE_CHECKING:
    from kratomwatch.access import Operator
    from kratomwatch.audit.log import Actor

__all__ = [
    "app",
    "boot",
    "console",
    "database_ready",
    "err",
    "fail",
    "main",
    "operator",
    "operator_actor",
    "parse_date",
    "progress",
    "require_database",
]

app = typer.Typer(
    help="kratomwatch: clinical monitoring of kratom use. It never recommends a dose.",
    no_args_is_help=True,
    add_completion=False,
)

console = Console()
err = Console(stderr=True)


def boot() -> None:
    """Set up Django (settings from ``DJANGO_SETTINGS_MODULE``, default ``kratomwatch.settings``); idempotent."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")
    import django

    django.setup()


NOT_SET_UP = "The database is not set up yet: run `kratomwatch migrate` first."


def database_ready() -> bool:
    """Whether the schema exists (needs :func:`boot`). A missing SQLite file is not created by asking."""
    from django.db import connection

    name = str(connection.settings_dict.get("NAME") or "")
    sqlite_file = connection.vendor == "sqlite" and name and not name.startswith(("file:", ":memory:"))
    if sqlite_file and not os.path.exists(name):
        return False
    return "accounts_program" in connection.introspection.table_names()


def require_database() -> None:
    """Exit 1 with one plain line when the schema is missing (``demo`` or any database command before ``migrate``)."""
    if not database_ready():
        err.print(NOT_SET_UP, markup=False, highlight=False)
        raise typer.Exit(1)


def operator() -> Operator:
    """The operator at the command line, as ``kratomwatch.access`` knows it (needs :func:`boot`; exits with a
    plain message when the database is not set up)."""
    require_database()
    from kratomwatch import access

    return access.operator()


def operator_actor() -> Actor:
    """The operator as the actor of audited reads and writes (label ``cli:<login>``)."""
    from kratomwatch.audit.log import Actor

    return Actor.of(operator())


def fail(problem: InputError, *, as_json: bool = False, exit_code: int = 2) -> NoReturn:
    """Report bad input in the one error shape and exit (default code 2)."""
    if as_json:
        body = {"code": problem.code, "message": problem.message, "field": problem.field, "value": problem.value}
        print(json.dumps({"error": body}, default=str))
    else:
        err.print(f"[red]error:[/red] {escape(f'{problem.field}={problem.value!r}: {problem.message}')}")
    raise typer.Exit(exit_code)


@contextmanager
def reporting(*, as_json: bool = False) -> Iterator[None]:
    """Turn an ``InputError`` raised inside the block into :func:`fail`."""
    try:
        yield
    except InputError as problem:
        fail(problem, as_json=as_json)


def parse_date(field: str, text: str | None) -> dt.date | None:
    """``YYYY-MM-DD`` or None; ``InputError`` naming ``field`` otherwise."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(field, text, f"{field} {text!r} is not a date (YYYY-MM-DD)") from None


def progress(*, quiet: bool = False) -> Progress:
    """A progress bar on stderr; ``quiet`` (e.g. under ``--json``) hides it."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=quiet,
        disable=quiet,
    )


def main() -> None:
    app()


from kratomwatch.cli import alerts, audit, fhir, knowledge, records, site  # noqa: E402  (registers the commands)
from kratomwatch.cli import backup as backup_cli  # noqa: E402  (backup, restore)
from kratomwatch.cli import claims as claims_cli  # noqa: E402  (claim checker)
from kratomwatch.cli import jobs as jobs_cli  # noqa: E402  (worker, jobs, notifications)
from kratomwatch.cli import nof1 as nof1_cli  # noqa: E402  (n-of-1 trial analysis)
from kratomwatch.cli import research as research_cli  # noqa: E402  (research export)
from kratomwatch.cli import serve as serve_cli  # noqa: E402  (serve: development server or gunicorn)
from kratomwatch.cli import signals as signals_cli  # noqa: E402  (ingest and scan adverse-event reports)

site.register(app)
records.register(app)
knowledge.register(app)
alerts.register(app)
audit.register(app)
fhir.register(app)
backup_cli.register(app)
jobs_cli.register(app)
research_cli.register(app)
nof1_cli.register(app)
claims_cli.register(app)
serve_cli.register(app)
signals_cli.register(app)
