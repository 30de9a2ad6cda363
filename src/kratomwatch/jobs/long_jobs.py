"""Long jobs started from the web: the dose export and the dose import of one program, and the de-identified
research export of one program (``start_research_export``: a researcher of it, or staff; the result is one ZIP of
the export directory of ``research.export``, downloaded only by who started it), run by a worker.

A page calls ``start_dose_export`` / ``start_dose_import``: the job's progress row (``jobs.progress``), its audit
event (``job.start``) and the queued task commit together. A worker then runs ``run_dose_export`` /
``run_dose_import`` (``jobs.tasks``) as the person who started it, with that person's access checked again (a role
removed in the meantime stops the job). Files live under ``KRATOMWATCH_HOME/jobs/<job id>/``, never in the
database: the export's CSV; the import's uploaded file and its result (``result.json``). The daily registry sweep
removes job folders older than ``KRATOMWATCH_JOB_FILES_DAYS`` (default 7) days (``remove_old_files``).

Who: a program admin of the program, or staff (bulk identified data in or out is program administration; a
clinician records doses one by one on the patient's pages). Only the person who started a job, or staff, may read
it or download its file (``progress.read``: anyone else gets "not found"). The same code as ``kratomwatch export
doses`` and ``kratomwatch import doses`` (``jobs.dose_csv``, ``records.actions.import_doses``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kratomwatch import access
from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, record
from kratomwatch.consent.status import care_allowed
from kratomwatch.core import deid
from kratomwatch.core.errors import Forbidden, InputError, NotFound
from kratomwatch.jobs import dose_csv, progress
from kratomwatch.records import actions as record_actions
from kratomwatch.research import export as research_export
from kratomwatch.research import snapshot as research_snapshot

EXPORT_DOSES = "export-doses"
IMPORT_DOSES = "import-doses"
KINDS = (EXPORT_DOSES, IMPORT_DOSES)
RESEARCH_EXPORT = "research-export"
RESEARCH_SNAPSHOT = "research-snapshot"
KIND_LABELS = {
    EXPORT_DOSES: "Dose export (CSV)",
    IMPORT_DOSES: "Dose import (CSV)",
    RESEARCH_EXPORT: "De-identified research export (ZIP)",
    RESEARCH_SNAPSHOT: "Analysis snapshot (cohort analytics)",
}
CONTENT_TYPES = {EXPORT_DOSES: "text/csv", RESEARCH_EXPORT: "application/zip"}
"""The kinds whose result is a file to download, and its media type."""
MAX_IMPORT_BYTES = 5 * 1024 * 1024
"""The largest dose CSV accepted from the web (about 50,000 rows); larger files go through ``kratomwatch import``."""
UPLOAD_NAME = "upload.csv"
RESULT_NAME = "result.json"
META_NAME = "meta.json"
REJECTED_SHOWN = 500


def files_root() -> Path:
    return Path(settings.BASE_DIR) / "jobs"


def job_dir(job_id: str) -> Path:
    return files_root() / str(job_id)


def keep_days() -> int:
    """Days a job's files are kept: ``KRATOMWATCH_JOB_FILES_DAYS`` (a setting, else the environment), default 7."""
    raw = getattr(settings, "KRATOMWATCH_JOB_FILES_DAYS", None) or os.environ.get("KRATOMWATCH_JOB_FILES_DAYS", "7")
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise InputError("KRATOMWATCH_JOB_FILES_DAYS", raw, "not a whole number of days") from None
    if days < 1:
        raise InputError("KRATOMWATCH_JOB_FILES_DAYS", raw, "keep job files 1 day or more")
    return days


def _actor(user: Any) -> Actor:
    """The person who started the job, without a request address (the worker has none)."""
    return Actor(user=user, label=user.get_username())


def _write_meta(job_id: str, meta: dict[str, Any]) -> None:
    folder = job_dir(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_NAME).write_text(json.dumps(meta), encoding="utf-8")


def meta(job_id: str) -> dict[str, Any]:
    """What the job was started with (program, file name), or {} once its folder is removed."""
    path = job_dir(job_id) / META_NAME
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _admin_program(user: Any, program_id: int) -> Program:
    program = access.get_program_for(user, program_id)
    access.require_care_role(user, program, admin=True)
    return program


def _start(
    user: Any,
    program: Program,
    kind: str,
    task: Any,
    extra: dict[str, Any],
    *,
    write: Any = None,
    authorize: Callable[[Any, int], Program] = _admin_program,
) -> str:
    authorize(user, program.pk)
    with transaction.atomic():
        job = progress.start(kind, user=user)
        _write_meta(job, {"program_id": program.pk, "program_name": program.name, "kind": kind, **extra})
        if write is not None:
            write(job_dir(job))
        record(
            Actor.of(user),
            "job.start",
            object_type="job",
            object_id=job,
            program_id=program.pk,
            detail={"kind": kind, **{k: v for k, v in extra.items() if k != "file_name"}},
        )
        task.enqueue(job_id=job, user_id=user.pk, program_id=program.pk)
    return job


# --- export --------------------------------------------------------------------------------------------------


def start_dose_export(*, user: Any, program: Program) -> str:
    """Queue the export of every dose of ``program`` (voided doses left out); returns the job id."""
    from kratomwatch.jobs import tasks  # noqa: PLC0415 - tasks import this module (the runners below)

    return _start(user, program, EXPORT_DOSES, tasks.export_doses, {})


def run_dose_export(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """Write the program's dose CSV under the job's folder, reporting progress; audited as ``list.doses.export``."""

    def work(user: Any) -> dict[str, Any]:
        program = _admin_program(user, program_id)
        patients = access.patients_for(user).filter(program_id=program.pk)
        day = timezone.now().date().isoformat()
        folder = job_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"doses-{program.slug}-{day}.csv"
        partial = target.with_suffix(".part")
        with partial.open("w", newline="", encoding="utf-8") as handle:
            count = dose_csv.write_doses_csv(
                handle, patients, on_progress=lambda done, total: progress.update(job_id, done=done, total=total)
            )
        partial.replace(target)
        access.audit_list(user, "doses.export", actor=_actor(user), count=count, program_id=program.pk)
        progress.update(job_id, done=count, total=count)
        progress.finish(job_id, result_path=str(target))
        return {"job_id": job_id, "doses": count}

    return _run(job_id, user_id, work)


# --- import --------------------------------------------------------------------------------------------------


def check_upload(data: bytes, name: str) -> None:
    """Refuse, before any job exists, a file that is too big, not UTF-8 CSV text, or lacks a required column."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InputError(
            "file",
            name,
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB. Split it into smaller files, "
            "or ask the site administrator to use `kratomwatch import doses`.",
        )
    if not data.strip():
        raise InputError("file", name, "The file is empty.")
    text = dose_csv.decode(data, name)
    dose_csv.check_header(text, name)


def start_dose_import(*, user: Any, program: Program, data: bytes, file_name: str, allow_partial: bool) -> str:
    """Store the checked file and queue its import into ``program``; returns the job id."""
    from kratomwatch.jobs import tasks  # noqa: PLC0415 - tasks import this module (the runners below)

    check_upload(data, file_name)
    return _start(
        user,
        program,
        IMPORT_DOSES,
        tasks.import_doses,
        {"file_name": file_name[:200], "allow_partial": allow_partial},
        write=lambda folder: (folder / UPLOAD_NAME).write_bytes(data),
    )


@dataclass(frozen=True)
class RejectedRow:
    line: int
    field: str
    value: str
    message: str


def _rejected_row(line: int, problem: InputError) -> RejectedRow:
    return RejectedRow(line, problem.field, str(problem.value)[:80], problem.message)


def run_dose_import(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """Parse and import the stored file (one transaction, idempotent; all-or-nothing unless ``allow_partial``)."""

    def work(user: Any) -> dict[str, Any]:
        program = _admin_program(user, program_id)
        started = meta(job_id)
        allow_partial = bool(started.get("allow_partial"))
        path = job_dir(job_id) / UPLOAD_NAME
        # Progress: reading the file is the first half, writing the rows the second.
        rows, parse_errors = dose_csv.parse_dose_rows(
            path, on_progress=lambda done, total: progress.update(job_id, done=done, total=2 * total)
        )
        n = len(rows) + len(parse_errors)
        progress.update(job_id, done=n, total=2 * n)
        codes = {d.patient_code for _, d in rows}
        patients = {p.code: p for p in access.patients_for(user).filter(program_id=program.pk, code__in=codes)}
        # A person's import records care data: only for patients with active care consent (consent.guard).
        refused = {code for code, p in patients.items() if not care_allowed(p)}
        consent = [
            (line, InputError("consent", d.patient_code, f"{d.patient_code} has no active care consent"))
            for line, d in rows
            if d.patient_code in refused
        ]
        result = record_actions.import_doses(
            actor=_actor(user),
            rows=[(line, d) for line, d in rows if d.patient_code not in refused],
            patients={c: p for c, p in patients.items() if c not in refused},
            rejected=[*parse_errors, *consent],
            allow_partial=allow_partial,
        )
        rejected = sorted(result.rejected, key=lambda r: r[0])
        written = not rejected or allow_partial
        summary = {
            "created": result.created,
            "skipped": result.skipped,
            "rejected_count": len(rejected),
            "rejected": [_rejected_row(line, p).__dict__ for line, p in rejected[:REJECTED_SHOWN]],
            "allow_partial": allow_partial,
            "written": written,
        }
        target = job_dir(job_id) / RESULT_NAME
        target.write_text(json.dumps(summary), encoding="utf-8")
        progress.finish(job_id, result_path=str(target))
        return {"job_id": job_id, "created": result.created, "skipped": result.skipped, "rejected": len(rejected)}

    return _run(job_id, user_id, work)


def import_result(job_id: str) -> dict[str, Any] | None:
    path = job_dir(job_id) / RESULT_NAME
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- research export ----------------------------------------------------------------------------------------


def research_options(formats: str, dates: str, k: Any) -> dict[str, Any]:
    """The research export's options (``research.export``), checked before any job exists: ``InputError`` naming
    ``format``, ``dates`` or ``k`` (below 2 refused)."""
    names = research_export.parse_formats(formats)
    if dates not in research_export.DATE_MODES:
        raise InputError("dates", dates, f"dates must be one of {', '.join(research_export.DATE_MODES)}")
    return {"formats": list(names), "dates": dates, "k": deid.check_k(k)}


def research_secret_missing(program: Program) -> str | None:
    """What the site administrator must set before research exports of ``program`` can run, or None."""
    try:
        research_export.project_secret(program)
    except InputError:
        return (
            f"Research exports are not set up on this server. The site administrator must set "
            f"{research_export.SECRET_ENV} (at least 16 characters; or the program's own "
            f"{research_export.SECRET_ENV}_<PROGRAM>) in the server's environment and restart it (docs/research.md)."
        )
    return None


def start_research_export(*, user: Any, program: Program, formats: str, dates: str, k: Any) -> str:
    """Queue the de-identified export of ``program`` (a researcher of it, or staff); returns the job id. The
    options and the research secret are checked first (``InputError`` naming the field; no job)."""
    from kratomwatch.jobs import tasks  # noqa: PLC0415 - tasks import this module (the runners below)

    access.get_research_program_for(user, program.pk)
    options = research_options(formats, dates, k)
    missing = research_secret_missing(program)
    if missing is not None:
        raise InputError("research_secret", "(not set)", missing)
    return _start(
        user, program, RESEARCH_EXPORT, tasks.research_export, options, authorize=access.get_research_program_for
    )


def run_research_export(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """The export of ``research.export`` (the same as ``kratomwatch research export``; project: the program's slug,
    so its study IDs link with the command line's) into the job's folder, then one ZIP of it; progress per step."""

    def work(user: Any) -> dict[str, Any]:
        program = access.get_research_program_for(user, program_id)
        options = meta(job_id)
        folder = job_dir(job_id)
        out = folder / "export"
        request = research_export.ExportRequest(
            out=out,
            project=program.slug,
            now=timezone.now(),
            formats=tuple(options["formats"]),
            dates=str(options["dates"]),
            k=int(options["k"]),
        )
        total = len(research_export.STEPS) + 1  # the steps of the export, then the ZIP
        result = research_export.export(
            access.research_patients_for(user, program),
            request,
            actor=_actor(user),
            secret=research_export.project_secret(program),
            program=program,
            progress=lambda _step, done, _total: progress.update(job_id, done=done, total=total),
        )
        target = folder / f"research-{program.slug}-{timezone.now().date().isoformat()}.zip"
        partial = target.with_suffix(".part")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in out.rglob("*") if p.is_file()):  # fhir/*.ndjson sit in a folder
                archive.write(path, arcname=f"{target.stem}/{path.relative_to(out).as_posix()}")
        partial.replace(target)
        shutil.rmtree(out, ignore_errors=True)
        progress.finish(job_id, result_path=str(target))
        return {"job_id": job_id, "included": result.included, "excluded": result.excluded}

    return _run(job_id, user_id, work)


# --- research analysis snapshot ---------------------------------------------------------------------------


def start_research_snapshot(*, user: Any, program: Program, k: Any) -> str:
    """Queue a new analysis snapshot of ``program`` (``research.snapshot``; a researcher of it, or staff); returns
    the job id. k (below 2 refused) and the research secret are checked first (``InputError``; no job). Nothing to
    download: the cohort pages and the API read the newest snapshot."""
    from kratomwatch.jobs import tasks  # noqa: PLC0415 - tasks import this module (the runners below)

    access.get_research_program_for(user, program.pk)
    options = {"k": deid.check_k(k)}
    missing = research_secret_missing(program)
    if missing is not None:
        raise InputError("research_secret", "(not set)", missing)
    return _start(
        user, program, RESEARCH_SNAPSHOT, tasks.research_snapshot, options, authorize=access.get_research_program_for
    )


def run_research_snapshot(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """Build the snapshot (``research.snapshot.build``, as ``kratomwatch research snapshot``), progress per step."""

    def work(user: Any) -> dict[str, Any]:
        program = access.get_research_program_for(user, program_id)
        snap = research_snapshot.build(
            access.research_patients_for(user, program),
            program=program,
            actor=_actor(user),
            k=int(meta(job_id).get("k") or deid.DEFAULT_K),
            now=timezone.now(),
            progress=lambda _step, done, total: progress.update(job_id, done=done, total=total),
        )
        progress.finish(job_id)
        return {"job_id": job_id, "snapshot_id": snap.snapshot_id, "included": snap.counts.get("included", 0)}

    return _run(job_id, user_id, work)


# --- running, reading, downloading, cleaning ------------------------------------------------------------------


def _run(job_id: str, user_id: int, work: Any) -> dict[str, Any]:
    """Run ``work(user)``; a refusal or bad input ends the job as failed with the message in words."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    try:
        if user is None:
            raise Forbidden("user", user_id, "the login that started this job is no longer active")
        result: dict[str, Any] = work(user)
    except (InputError, NotFound) as exc:
        progress.finish(job_id, error=exc.message)
        return {"job_id": job_id, "error": exc.message}
    except Exception as exc:
        progress.finish(job_id, error=f"The job stopped because of an internal error ({type(exc).__name__}).")
        raise
    return result


def result_file(job_id: str, user: Any) -> tuple[Path, str, int | None]:
    """The finished export's file for ``user`` (who started it, or staff; a research export: only who started it,
    still a researcher of the program), its download name and program; ``NotFound`` otherwise (another person's
    job, not an export, not finished, or removed after the kept days)."""
    job = progress.read(job_id, user)
    path = Path(job.result_path) if job.result_path else None
    root = files_root().resolve()
    if job.kind not in CONTENT_TYPES or job.status != "done" or path is None:
        raise NotFound("job_id", job_id, f"job {job_id} has no file to download")
    if job.kind == RESEARCH_EXPORT:
        if job.started_by_id != getattr(user, "pk", None):
            raise NotFound("job_id", job_id, f"job {job_id} not found")
        access.get_research_program_for(user, int(meta(job_id).get("program_id") or 0))
    path = path.resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("job_id", job_id, f"the file of job {job_id} was removed")
    program_id = meta(job_id).get("program_id")
    return path, path.name, program_id if isinstance(program_id, int) else None


def record_download(job_id: str, user: Any, program_id: int | None) -> None:
    kind = progress.read(job_id).kind
    with transaction.atomic():
        record(
            Actor.of(user),
            "job.download",
            object_type="job",
            object_id=job_id,
            program_id=program_id,
            detail={"kind": kind},
        )


def remove_old_files(*, days: int | None = None, now: dt.datetime | None = None) -> int:
    """Remove job folders last changed more than ``days`` days ago (default ``KRATOMWATCH_JOB_FILES_DAYS``)."""
    days = keep_days() if days is None else days
    cutoff = (now or timezone.now()).timestamp() - days * 86400
    root = files_root()
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
