"""The de-identified research export from the API: start it as a background job, follow it, download its ZIP.
Cohort analytics (below): saved cohorts, their reports and unsaved analyses on the program's newest analysis
snapshot (``research.cohort``, ``research.snapshot``), and a new snapshot as a background job.

Contract: a researcher of the program, or staff (``access.get_research_program_for``): a clinician of the program
gets 403, anyone else 404, in the one error shape. The job is the long job of the web page (``jobs.long_jobs``:
``research.export``, the same as ``kratomwatch research export``); its status and file are for the person who
started it only (the status also for staff), and a role removed since refuses them. Bad options (unknown format or
date mode, k below 2, no research secret on the server) are a 400 naming the field, before any job exists.
"""

import datetime as dt
from typing import Annotated, Any

from django.http import FileResponse, HttpRequest
from ninja import Field, Router, Schema, Status

from kratomwatch import access
from kratomwatch.api.limits import Id
from kratomwatch.audit.log import Actor
from kratomwatch.core import deid
from kratomwatch.core.errors import NotFound
from kratomwatch.jobs import long_jobs, progress
from kratomwatch.research import actions as research_actions
from kratomwatch.research import cohort as research_cohort
from kratomwatch.research import nof1_pool as research_nof1_pool
from kratomwatch.research import snapshot as research_snapshot

router = Router(tags=["research"])


class ExportIn(Schema):
    program_id: Id
    format: str = Field("csv,parquet", max_length=40, description="csv, parquet or csv,parquet")
    dates: str = Field("shifted", max_length=20, description="shifted (per-participant offset) or study-days")
    k: int = Field(deid.DEFAULT_K, le=1_000_000, description="k-anonymity on age band, sex, jurisdiction, conditions")


class JobOut(Schema):
    id: str
    status: str
    done: int
    total: int | None
    percent: int | None
    error: str


class ExportJobOut(JobOut):
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


# --- cohort analytics -------------------------------------------------------------------------------------------
#
# Contract: a researcher of the program, or staff (``access.get_research_program_for`` and
# ``access.get_research_cohort_for``): a clinician of the program gets 403, anyone else 404 (another program's
# cohort as if missing). A bad filter is a 400 naming the filter key; a program without an analysis snapshot yet
# is a 409 saying how to make one. Reports are the JSON of ``research.cohort.CohortReport.to_dict`` (aggregates
# only; every count below the snapshot's k withheld).


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None


class ConflictOut(Schema):
    """The one error shape (``api.app.ErrorOut``), named here for the 409 of a read: no analysis snapshot yet."""

    error: ErrorDetail


class CohortIn(Schema):
    name: str = Field(..., max_length=200, description="Unique within the program")
    definition: dict[str, Any] = Field(
        default_factory=dict, description=f"Filters (all optional): {', '.join(research_cohort.FILTER_KEYS)}"
    )


class CohortUpdate(Schema):
    name: str | None = Field(None, max_length=200)
    definition: dict[str, Any] | None = None


class CohortOut(Schema):
    id: int
    program_id: int
    name: str
    definition: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class AnalysisIn(Schema):
    definition: dict[str, Any] = Field(default_factory=dict)
    name: str = Field("Unsaved cohort", max_length=200)
    week: int = Field(12, ge=0, le=research_cohort.MAX_WEEK, description="Week of the responder analysis")
    instrument: str = Field("peg", max_length=40, description=", ".join(research_cohort.RESPONDER_INSTRUMENTS))


class SnapshotIn(Schema):
    k: int = Field(deid.DEFAULT_K, le=1_000_000, description="k-anonymity of the snapshot (and of its reports)")


class SnapshotOut(Schema):
    snapshot_id: str
    created_at: str
    checksum: str
    consent_as_of: str
    k: int
    counts: dict[str, int]


@router.get("/research/programs/{program_id}/cohorts", response=list[CohortOut])
def list_cohorts(request: HttpRequest, program_id: Id) -> Any:
    program = access.get_research_program_for(request.user, program_id)
    return access.research_cohorts_for(request.user).filter(program=program).order_by("name")


@router.post("/research/programs/{program_id}/cohorts", response={201: CohortOut})
def create_cohort(request: HttpRequest, program_id: Id, payload: CohortIn) -> Any:
    program = access.get_research_program_for(request.user, program_id)
    actor = Actor.of(request.user)
    cohort = research_actions.create_cohort(
        actor=actor, program=program, name=payload.name, definition=payload.definition
    )
    return Status(201, cohort)


@router.get("/research/cohorts/{cohort_id}", response=CohortOut)
def get_cohort(request: HttpRequest, cohort_id: Id) -> Any:
    return access.get_research_cohort_for(request.user, cohort_id)


@router.put("/research/cohorts/{cohort_id}", response=CohortOut)
def update_cohort(request: HttpRequest, cohort_id: Id, payload: CohortUpdate) -> Any:
    cohort = access.get_research_cohort_for(request.user, cohort_id)
    return research_actions.update_cohort(
        actor=Actor.of(request.user), cohort=cohort, name=payload.name, definition=payload.definition
    )


@router.delete("/research/cohorts/{cohort_id}", response={204: None})
def delete_cohort(request: HttpRequest, cohort_id: Id) -> Any:
    cohort = access.get_research_cohort_for(request.user, cohort_id)
    research_actions.delete_cohort(actor=Actor.of(request.user), cohort=cohort)
    return Status(204, None)


@router.get("/research/cohorts/{cohort_id}/report", response={200: dict[str, Any], 409: ConflictOut})
def cohort_report(
    request: HttpRequest,
    cohort_id: Id,
    week: Annotated[int, Field(ge=0, le=research_cohort.MAX_WEEK)] = 12,
    instrument: Annotated[str, Field(max_length=40)] = "peg",
) -> Any:
    cohort = access.get_research_cohort_for(request.user, cohort_id)
    actor = Actor.of(request.user)
    return research_snapshot.report(
        cohort.program,
        cohort.definition,
        actor=actor,
        week=week,
        instrument=instrument,
        name=cohort.name,
        cohort_id=cohort.pk,
    ).to_dict()


@router.post("/research/programs/{program_id}/analyses", response=dict[str, Any])
def run_analysis(request: HttpRequest, program_id: Id, payload: AnalysisIn) -> Any:
    program = access.get_research_program_for(request.user, program_id)
    actor = Actor.of(request.user)
    return research_snapshot.report(
        program, payload.definition, actor=actor, week=payload.week, instrument=payload.instrument, name=payload.name
    ).to_dict()


@router.get("/research/programs/{program_id}/nof1-pooled", response={200: dict[str, Any], 409: ConflictOut})
def nof1_pooled(request: HttpRequest, program_id: Id) -> Any:
    """Completed n-of-1 trials of one design pooled across participants, on the newest snapshot
    (``research.nof1_pool``): a group or condition below the snapshot's k is withheld; 409 without a snapshot."""
    program = access.get_research_program_for(request.user, program_id)
    return research_nof1_pool.report(program, actor=Actor.of(request.user)).to_dict()


@router.get("/research/programs/{program_id}/snapshots", response=list[SnapshotOut])
def list_snapshots(request: HttpRequest, program_id: Id) -> Any:
    program = access.get_research_program_for(request.user, program_id)
    return [
        {
            **{f: getattr(s, f) for f in ("snapshot_id", "created_at", "checksum", "consent_as_of", "k")},
            "counts": s.counts,
        }
        for s in research_snapshot.all_for(program)
    ]


@router.post("/research/programs/{program_id}/snapshots", response={202: JobOut})
def start_snapshot(request: HttpRequest, program_id: Id, payload: SnapshotIn) -> Any:
    program = access.get_research_program_for(request.user, program_id)
    job = long_jobs.start_research_snapshot(user=request.user, program=program, k=payload.k)
    return 202, progress.read(job, request.user).as_dict()


@router.get("/research/snapshot-jobs/{job_id}", response=JobOut)
def snapshot_status(request: HttpRequest, job_id: str) -> Any:
    job = progress.read(job_id, request.user)
    if job.kind != long_jobs.RESEARCH_SNAPSHOT:
        raise NotFound("job_id", job_id, f"job {job_id} not found")
    access.get_research_program_for(request.user, int(long_jobs.meta(job.id).get("program_id") or 0))
    done = job.status == "done"
    return {**job.as_dict(), "percent": 100 if done else job.percent}
