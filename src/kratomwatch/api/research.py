"""The de-identified research export from the API: start it as a background job, follow it, download its ZIP.

Contract: a researcher of the program, or staff (``access.get_research_program_for``): a clinician of the program
gets 403, anyone else 404, in the one error shape. The job is the long job of the web page (``jobs.long_jobs``:
``research.export``, the same as ``kratomwatch research export``); its status and file are for the person who
started it only (the status also for staff), and a role removed since refuses them. Bad options (unknown format or
date mode, k below 2, no research secret on the server) are a 400 naming the field, before any job exists.
"""

from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import Field, Router, Schema

from kratomwatch import access
from kratomwatch.api.limits import Id
from kratomwatch.core import deid
from kratomwatch.core.errors import NotFound
from kratomwatch.jobs import long_jobs, progress

router = Router(tags=["research"])


class ExportIn(Schema):
    program_id: Id
    format: str = Field("csv,parquet", max_length=40, description="csv, parquet or csv,parquet")
    dates: str = Field("shifted", max_length=20, description="shifted (per-participant offset) or study-days")
    k: int = Field(deid.DEFAULT_K, le=1_000_000, description="k-anonymity on age band, sex, jurisdiction, conditions")


class ExportJobOut(Schema):
    id: str
    status: str
    done: int
    total: int | None
    percent: int | None
    error: str
    download_url: str | None


def _job(request: HttpRequest, job_id: str) -> progress.Progress:
    job = progress.read(job_id, request.user)
    if job.kind != long_jobs.RESEARCH_EXPORT:
        raise NotFound("job_id", job_id, f"job {job_id} not found")
    access.get_research_program_for(request.user, int(long_jobs.meta(job.id).get("program_id") or 0))
    return job


def _out(job: progress.Progress) -> dict[str, Any]:
    done = job.status == "done"
    url = f"/api/v1/research/exports/{job.id}/download" if done else None
    return {**job.as_dict(), "percent": 100 if done else job.percent, "download_url": url}


@router.post("/research/exports", response={202: ExportJobOut})
def start_export(request: HttpRequest, payload: ExportIn) -> Any:
    program = access.get_research_program_for(request.user, payload.program_id)
    job = long_jobs.start_research_export(
        user=request.user, program=program, formats=payload.format, dates=payload.dates, k=payload.k
    )
    return 202, _out(progress.read(job, request.user))


@router.get("/research/exports/{job_id}", response=ExportJobOut)
def export_status(request: HttpRequest, job_id: str) -> Any:
    return _out(_job(request, job_id))


@router.get("/research/exports/{job_id}/download")
def download_export(request: HttpRequest, job_id: str) -> Any:
    job = _job(request, job_id)
    path, name, program_id = long_jobs.result_file(job.id, request.user)
    long_jobs.record_download(job.id, request.user, program_id)
    response = FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response
