"""``kratomwatch backup --out FILE`` and ``kratomwatch restore FILE [--yes]``.

* SQLite: a consistent copy through SQLite's online backup API while the server keeps running (a single file,
  journal mode DELETE); restore copies it back the same way.
* PostgreSQL: ``pg_dump --format=custom`` of ``DATABASE_URL``; restore with ``pg_restore`` in one transaction. The
  password goes to the tools through ``PGPASSWORD``, never on the command line.

Restore only fills an EMPTY database (it refuses one with tables, naming it), so nothing is merged or overwritten
and the audit trail (append-only in the database) is loaded whole. After a restore the trail is verified.
Bad input (missing file, wrong format, a non-empty target) is one plain line and exit code 1.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from kratomwatch.cli import boot, require_database

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A plain one-line reason; the command prints it and exits 1."""


def _stop(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def _settings() -> dict[str, Any]:
    from django.db import connection

    return dict(connection.settings_dict)


def _vendor() -> str:
    from django.db import connection

    return str(connection.vendor)


def _describe() -> str:
    s = _settings()
    if _vendor() == "sqlite":
        return f"SQLite database {s['NAME']}"
    return f"PostgreSQL database {s['NAME']!r} on {s.get('HOST') or 'localhost'}:{s.get('PORT') or 5432}"


def _pg_args(tool: str) -> tuple[list[str], dict[str, str]]:
    exe = shutil.which(tool)
    if exe is None:
        raise BackupError(f"{tool} was not found: install the PostgreSQL client tools (Debian: postgresql-client)")
    s = _settings()
    args = [exe]
    if s.get("HOST"):
        args += ["--host", str(s["HOST"])]
    if s.get("PORT"):
        args += ["--port", str(s["PORT"])]
    if s.get("USER"):
        args += ["--username", str(s["USER"])]
    env = {**os.environ}
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    env.pop("PGDATABASE", None)
    return args, env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # pg_dump / pg_restore from PATH; the arguments come from the settings and the operator's own file name
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise BackupError(f"{Path(args[0]).name} failed: {reason}")
    return done


def _table_count() -> int:
    """Tables in the configured database (0 for a SQLite file that does not exist yet)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if not name.startswith(("file:", ":memory:")) and (not os.path.exists(name) or os.path.getsize(name) == 0):
            return 0
    return len(connection.introspection.table_names())


def _audit_events() -> int:
    from kratomwatch.audit.models import AuditEvent

    return AuditEvent.objects.count()


# --- backup -------------------------------------------------------------------------------------------------


def _backup_sqlite(out: Path) -> int:
    """Copy the live database page by page (SQLite's online backup); the number of audit events in the copy."""
    source = str(_settings()["NAME"])
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
            events = int(dst.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0])
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, out)
    return events


def _backup_postgres(out: Path) -> None:
    args, env = _pg_args("pg_dump")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    _run([*args, "--format=custom", f"--file={partial}", f"--dbname={_settings()['NAME']}"], env)
    os.replace(partial, out)


def backup(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (must not exist yet)")],
) -> None:
    """Write a consistent copy of the database to FILE (the server may keep running)."""
    boot()
    require_database()
    if out.exists():
        _stop(f"{out} already exists; choose a new file name")
    if not out.parent.is_dir():
        _stop(f"the folder {out.parent} does not exist")
    try:
        if _vendor() == "sqlite":
            events = _backup_sqlite(out)
        elif _vendor() == "postgresql":
            events = _audit_events()  # pg_dump's snapshot starts just after: at least this many
            _backup_postgres(out)
        else:
            raise BackupError(f"backups of {_vendor()} databases are not supported")
    except (BackupError, OSError, sqlite3.Error) as exc:
        _stop(str(exc))
    print(f"backup written: {out} ({_describe()}, {out.stat().st_size} bytes, {events} audit events)")


# --- restore ------------------------------------------------------------------------------------------------


def _kind(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(
        f"{path} is not a kratomwatch backup (neither a SQLite database nor a pg_dump custom-format archive)"
    )


def _restore_sqlite(path: Path) -> None:
    from django.db import connection

    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        check = src.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None
    try:
        if not {"audit_auditevent", "django_migrations"} <= tables:
            raise BackupError(f"{path} is a SQLite database but not a kratomwatch backup")
        if not check or check[0] != "ok":
            raise BackupError(f"{path} is damaged (integrity check: {check[0] if check else 'no answer'})")
        connection.close()
        target = str(connection.settings_dict["NAME"])
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _restore_postgres(path: Path) -> None:
    from django.db import connection

    args, env = _pg_args("pg_restore")
    try:
        _run([*args[:1], "--list", str(path)], env)
    except BackupError:
        raise BackupError(f"{path} is not a readable pg_dump archive") from None
    connection.close()
    _run(
        [
            *args,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={_settings()['NAME']}",
            str(path),
        ],
        env,
    )


def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `kratomwatch backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Restore FILE into the configured database, which must be empty; then verify the audit trail."""
    boot()
    if not file.is_file():
        _stop(f"{file} does not exist or is not a file")
    try:
        kind = _kind(file)
        if kind != _vendor():
            names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
            raise BackupError(
                f"{file} is a {names[kind]} backup but the configured database is "
                f"{names.get(_vendor(), _vendor())} (DATABASE_URL)"
            )
        tables = _table_count()
        if tables:
            raise BackupError(
                f"the {_describe()} is not empty ({tables} tables); restore only into an empty database "
                "(create a new one, or move this one aside)"
            )
    except (BackupError, OSError) as exc:
        _stop(str(exc))
    if not yes and not typer.confirm(f"Restore {file} into the {_describe()}?", default=False):
        _stop("nothing restored")
    try:
        if kind == "sqlite":
            _restore_sqlite(file)
        else:
            _restore_postgres(file)
    except (BackupError, OSError, sqlite3.Error) as exc:
        _stop(str(exc))

    from kratomwatch.audit.log import verify

    report = verify()
    print(f"restored {file} into the {_describe()}: {report.events} audit events")
    if not report.ok:
        _stop(f"the restored audit trail does not verify: {report.problems[0]}")
    print(f"audit verify: {report.events} events, {report.checkpoints} checkpoints: OK")


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
