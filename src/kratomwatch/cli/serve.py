"""``kratomwatch serve``: the development server by default, gunicorn with ``--production``.

Production (``--production``): gunicorn, a mature pre-fork WSGI server (Django is WSGI here), with sync
workers. Each worker handles one request at a time and keeps one database connection (``CONN_MAX_AGE`` 60,
health-checked before reuse, so a restarted PostgreSQL is reconnected by the next request); N workers never
hold more than N connections. Static files are collected (compressed) into ``STATIC_ROOT`` at start and served
by WhiteNoise from the application itself. Requests are logged as JSON lines (``kratomwatch.requestlog``);
gunicorn's own access log is off. See docs/operations.md, "Production serving".

Development (default): Django's threaded development server with one database connection per request
(``CONN_MAX_AGE`` 0), so its short-lived threads never leave connections behind, and a background worker in a
thread of the same process (``jobs.worker.start_in_thread``: queued exports and imports and the daily schedule run
without a second command; ``--no-worker`` leaves them to a separate ``kratomwatch worker``). Production runs
``kratomwatch worker`` as its own service instead (docs/operations.md).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from kratomwatch.cli import boot, console, err


def _boot() -> None:
    """Boot Django; a missing setting (the secret key with DEBUG off) is one plain line and exit 2."""
    try:
        boot()
    except RuntimeError as exc:
        err.print(f"error: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(2) from None


def default_workers() -> int:
    """2 x CPUs + 1 (gunicorn's rule of thumb: workers wait on the database as much as they compute)."""
    return 2 * (os.cpu_count() or 1) + 1


def gunicorn_argv(*, host: str, port: int, workers: int, timeout: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "kratomwatch.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "20",
        # Recycle workers now and then (memory growth in long-lived processes); jitter avoids all at once.
        "--max-requests",
        "5000",
        "--max-requests-jitter",
        "500",
        "--forwarded-allow-ips",
        os.environ.get("KRATOMWATCH_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "--error-logfile",
        "-",
        "--name",
        "kratomwatch",
    ]


def _pending_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _collectstatic() -> int:
    from django.conf import settings
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    return sum(1 for p in settings.STATIC_ROOT.rglob("*") if p.is_file())


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (behind a reverse proxy: 127.0.0.1)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    production: Annotated[
        bool, typer.Option("--production", help="gunicorn with WhiteNoise static files instead of the dev server")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="gunicorn workers (default 2 x CPUs + 1); --production only")
    ] = None,
    timeout: Annotated[int, typer.Option(min=5, max=600, help="seconds before a stuck worker is restarted")] = 30,
    background: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Development only: run queued tasks and the daily schedule in a thread of the server (default on)",
        ),
    ] = True,
) -> None:
    """Serve the site and API: the development server, or gunicorn with --production (docs/operations.md)."""
    if not production:
        if workers is not None:
            err.print("--workers needs --production (the development server has no workers)", soft_wrap=True)
            raise typer.Exit(2)
        os.environ.setdefault("KRATOMWATCH_CONN_MAX_AGE", "0")
        _boot()
        if _pending_migrations():
            err.print("The database is not up to date: run `kratomwatch migrate` first.", soft_wrap=True, markup=False)
            raise typer.Exit(1)
        from django.core.management import call_command

        if background:
            from kratomwatch.jobs import worker as jobs_worker

            jobs_worker.start_in_thread()
            console.print(
                "background tasks: a worker runs in this process (--no-worker to leave them to one)", soft_wrap=True
            )
        call_command("runserver", f"{host}:{port}", use_reloader=False)
        return

    _boot()
    pending = _pending_migrations()
    if pending:
        err.print(
            f"The database is not up to date ({pending} migrations pending): run `kratomwatch migrate` first.",
            soft_wrap=True,
            markup=False,
        )
        raise typer.Exit(1)
    files = _collectstatic()
    n = workers or default_workers()
    console.print(
        f"static files: {files} collected; starting gunicorn with {n} workers on http://{host}:{port}", soft_wrap=True
    )
    # The workers read these at start; the operator's own values win.
    os.environ["KRATOMWATCH_STATIC_FINDERS"] = "0"  # serve the collected, compressed copies only
    os.environ.setdefault("KRATOMWATCH_CONN_MAX_AGE", "60")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")
    sys.stdout.flush()
    sys.stderr.flush()
    argv = gunicorn_argv(host=host, port=port, workers=n, timeout=timeout)
    os.execv(argv[0], argv)  # noqa: S606 - replaces this process: systemd's signals reach gunicorn directly


def register(app: typer.Typer) -> None:
    app.command()(serve)
