"""Long jobs with progress: ``start`` -> ``update`` ... -> ``finish``; ``read`` for the page that polls it.

A job's row is written in its own short transaction each time, so a reader sees progress while the job runs.
Only the person who started a job (or staff: ``is_staff`` or superuser) may read it; any other id is "not found".
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.jobs.models import JobProgress, ProgressStatus


@dataclass(frozen=True)
class Progress:
    id: str
    kind: str
    status: str
    done: int
    total: int | None
    result_path: str
    error: str
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    started_by_id: int | None = None

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "result_path": self.result_path,
            "error": self.error,
        }


def _view(row: JobProgress) -> Progress:
    return Progress(
        str(row.pk),
        row.kind,
        str(row.status),
        row.done,
        row.total,
        row.result_path,
        row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        started_by_id=row.started_by_id,
    )


def start(kind: str, *, total: int | None = None, user: Any = None) -> str:
    """Record a new running job; returns its id (a UUID string)."""
    if not kind.strip():
        raise InputError("kind", kind, "a job needs a kind")
    with transaction.atomic():
        row = JobProgress.objects.create(kind=kind.strip(), total=total, started_by=user if user else None)
    return str(row.pk)


def _row(job_id: str) -> JobProgress:
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("job_id", job_id, f"job {job_id} not found") from None
    row = JobProgress.objects.filter(pk=key).first()
    if row is None:
        raise NotFound("job_id", job_id, f"job {job_id} not found")
    return row


def update(job_id: str, *, done: int, total: int | None = None) -> None:
    """Move a running job on to ``done`` of ``total`` (``total`` unchanged when None)."""
    if done < 0:
        raise InputError("done", done, "done must not be negative")
    changes: dict[str, Any] = {"done": done, "updated_at": timezone.now()}
    if total is not None:
        changes["total"] = total
    with transaction.atomic():
        JobProgress.objects.filter(pk=_row(job_id).pk, status=ProgressStatus.RUNNING).update(**changes)


def finish(job_id: str, *, result_path: str = "", error: str = "") -> None:
    """Mark the job done (with where its result is) or failed (with the error in words)."""
    now = timezone.now()
    row = _row(job_id)
    status = ProgressStatus.FAILED if error else ProgressStatus.DONE
    changes: dict[str, Any] = {
        "status": status,
        "result_path": result_path,
        "error": error[:4000],
        "finished_at": now,
        "updated_at": now,
    }
    if not error and row.total is not None:
        changes["done"] = row.total
    with transaction.atomic():
        JobProgress.objects.filter(pk=row.pk).update(**changes)


def read(job_id: str, user: Any = None) -> Progress:
    """The job as a page shows it. With ``user``: only their own job (staff: any); ``NotFound`` otherwise."""
    row = _row(job_id)
    if user is not None and not _is_staff(user) and row.started_by_id != getattr(user, "pk", 0):
        raise NotFound("job_id", job_id, f"job {job_id} not found")
    return _view(row)


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))


def recent(limit: int = 20) -> list[Progress]:
    """The latest jobs, newest first (for ``kratomwatch jobs list``)."""
    return [_view(row) for row in JobProgress.objects.order_by("-started_at")[:limit]]


def mine(user: Any, *, kinds: tuple[str, ...] = (), limit: int = 50) -> list[Progress]:
    """The jobs ``user`` started, newest first (``kinds``: only those kinds)."""
    if getattr(user, "pk", None) is None:
        return []
    rows = JobProgress.objects.filter(started_by_id=user.pk)
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return [_view(row) for row in rows.order_by("-started_at")[:limit]]
