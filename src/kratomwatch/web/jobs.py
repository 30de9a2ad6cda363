"""Long jobs from the web: a program's dose export and dose import run by a worker, with a page that shows progress.

Who: a program admin of the program, or staff (``access.require_care_role(admin=True)``); anyone else gets 403 on
the start pages. A job's page, status and file are for the person who started it (or staff): anyone else gets the
same "not found" as for a job that does not exist (``jobs.progress.read``). The work itself is in
``jobs.long_jobs`` (the same code as ``kratomwatch export doses`` / ``import doses``); the page polls
``status.json`` with ``static/web/jobs.js`` (no inline script), and without JavaScript it refreshes itself.
Times are shown in the clinic's zone (``KRATOMWATCH_SWEEP_ZONE``), named.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from kratomwatch import access
from kratomwatch.core.errors import InputError
from kratomwatch.jobs import long_jobs, progress
from kratomwatch.web.program_admin import _admin_programs
from kratomwatch.web.program_admin import _program as _chosen
from kratomwatch.web.security import login_and_access

STATUS_WORDS = {"running": "Running", "done": "Done", "failed": "Failed"}
JOB_TEMPLATES = {  # the researcher's menu, not the admin's
    long_jobs.RESEARCH_EXPORT: "web/research/job.html",
    long_jobs.RESEARCH_SNAPSHOT: "web/research/snapshot_job.html",
}


def _zone() -> str:
    return str(settings.KRATOMWATCH_SWEEP_ZONE or "UTC")


def _row(job: progress.Progress) -> dict[str, Any]:
    started = long_jobs.meta(job.id)
    return {
        "job": job,
        "label": long_jobs.KIND_LABELS.get(job.kind, job.kind),
        "status": STATUS_WORDS.get(job.status, job.status),
        "program": started.get("program_name", ""),
        "file_name": started.get("file_name", ""),
    }


@login_and_access
@require_GET
def jobs_list(request: HttpRequest) -> HttpResponse:
    """My jobs (exports and imports I started), and the buttons that start them."""
    programs = _admin_programs(request.user)
    if not programs:
        raise PermissionDenied("exports and imports are for the program's admins")
    jobs = [_row(j) for j in progress.mine(request.user, kinds=long_jobs.KINDS)]
    return render(
        request,
        "web/jobs/list.html",
        {"programs": programs, "jobs": jobs, "zone": _zone(), "keep_days": long_jobs.keep_days()},
    )


@login_and_access
@require_http_methods(["GET", "POST"])
def export_start(request: HttpRequest) -> HttpResponse:
    program, programs = _chosen(request)
    if request.method == "POST":
        job = long_jobs.start_dose_export(user=request.user, program=program)
        return redirect("job-page", job_id=job)
    return render(request, "web/jobs/export.html", {"program": program, "programs": programs})


@login_and_access
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    program, programs = _chosen(request)
    context: dict[str, Any] = {
        "program": program,
        "programs": programs,
        "errors": {},
        "max_mb": long_jobs.MAX_IMPORT_BYTES // (1024 * 1024),
        "allow_partial": False,
    }
    if request.method == "GET":
        return render(request, "web/jobs/import.html", context)
    upload = request.FILES.get("file")
    allow_partial = request.POST.get("allow_partial") == "on"
    context["allow_partial"] = allow_partial
    if upload is None:
        context["errors"] = {"file": "Choose the dose CSV file to import."}
        return render(request, "web/jobs/import.html", context, status=400)
    name = upload.name or "doses.csv"
    if upload.size is None or upload.size > long_jobs.MAX_IMPORT_BYTES:
        context["errors"] = {
            "file": f"The file is larger than {context['max_mb']} MB. Split it into smaller files, "
            "or ask the site administrator to use `kratomwatch import doses`."
        }
        return render(request, "web/jobs/import.html", context, status=400)
    try:
        job = long_jobs.start_dose_import(
            user=request.user, program=program, data=upload.read(), file_name=name, allow_partial=allow_partial
        )
    except InputError as exc:
        if isinstance(exc, access.Forbidden | access.NotFound):
            raise
        context["errors"] = {"file": f"The file was not imported, nothing was saved. {exc.message}"}
        return render(request, "web/jobs/import.html", context, status=400)
    return redirect("job-page", job_id=job)


def _status(job: progress.Progress) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": job.status,
        "status_text": STATUS_WORDS.get(job.status, job.status),
        "done": job.done,
        "total": job.total,
        "percent": job.percent if job.status == "running" else (100 if job.status == "done" else job.percent),
        "error": job.error,
    }
    if job.kind in long_jobs.CONTENT_TYPES and job.status == "done":
        out["download_url"] = reverse("job-download", args=[job.id])
    return out


@login_and_access
@require_GET
def job_page(request: HttpRequest, job_id: str) -> HttpResponse:
    job = progress.read(str(job_id), request.user)
    row = _row(job)
    download = None
    if job.kind in long_jobs.CONTENT_TYPES and job.status == "done":
        try:
            long_jobs.result_file(job.id, request.user)
            download = reverse("job-download", args=[job.id])
        except access.NotFound:
            download = None
    result = long_jobs.import_result(job.id) if job.kind == long_jobs.IMPORT_DOSES and job.status == "done" else None
    return render(
        request,
        JOB_TEMPLATES.get(job.kind, "web/jobs/job.html"),
        {
            **row,
            "state": _status(job),
            "download": download,
            "result": result,
            "zone": _zone(),
            "keep_days": long_jobs.keep_days(),
            "status_url": reverse("job-status", args=[job.id]),
        },
    )


@login_and_access
@require_GET
def job_status(request: HttpRequest, job_id: str) -> HttpResponse:
    job = progress.read(str(job_id), request.user)
    response = JsonResponse(_status(job))
    response["Cache-Control"] = "no-store"
    return response


@login_and_access
@require_GET
def job_download(request: HttpRequest, job_id: str) -> HttpResponse:
    path, name, program_id = long_jobs.result_file(str(job_id), request.user)
    long_jobs.record_download(str(job_id), request.user, program_id)
    kind = progress.read(str(job_id), request.user).kind
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type=long_jobs.CONTENT_TYPES[kind]
    )
    response["Cache-Control"] = "no-store"
    return cast("HttpResponse", response)  # a streamed FileResponse: the decorators only pass it on
