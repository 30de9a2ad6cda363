"""The researcher's pages: start the de-identified research export of one program as a background job.

Who: a researcher of the program, or staff (``access.get_research_program_for``): a clinician of it gets 403,
anyone else the same 404 as for a program that does not exist. A researcher never sees an identifiable record:
these pages show counts, options and the job; the export itself is ``research.export`` (the same as ``kratomwatch
research export``), run by a worker through ``jobs.long_jobs`` and followed on the job page of ``web/jobs.py``
(progress, then the ZIP, for the person who started it only). Bad options (an unknown format or date mode, k below
2, k not a whole number) are shown next to their field with HTTP 400 and no job; a server without the research
secret says what the administrator must set.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.core import deid
from kratomwatch.core.errors import InputError
from kratomwatch.jobs import long_jobs, progress
from kratomwatch.research import export as research_export
from kratomwatch.web.jobs import _row as job_row
from kratomwatch.web.jobs import _zone as clinic_zone
from kratomwatch.web.security import login_and_access

__all__ = ["clinic_zone", "export_start", "recent_exports"]

DATE_LABELS = {
    "shifted": "Shifted dates (each participant's dates moved by their own secret offset)",
    "study-days": "Study days (days since enrolment, no calendar dates)",
}


def recent_exports(user: Any) -> list[dict[str, Any]]:
    """The research exports ``user`` started, newest first (for the researcher's home)."""
    return [job_row(j) for j in progress.mine(user, kinds=(long_jobs.RESEARCH_EXPORT,), limit=20)]


FORMAT_LABELS = {"csv": "CSV", "parquet": "Parquet", "fhir": "FHIR R4 (Bulk Data NDJSON)"}


@login_and_access
@require_http_methods(["GET", "POST"])
def export_start(request: HttpRequest, program_id: int) -> HttpResponse:
    program = access.get_research_program_for(request.user, program_id)
    values: dict[str, Any] = {"formats": list(research_export.FORMATS), "dates": "shifted", "k": str(deid.DEFAULT_K)}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {
            "formats": request.POST.getlist("format"),
            "dates": request.POST.get("dates", ""),
            "k": request.POST.get("k", "").strip(),
        }
        k = 0
        try:
            k = int(values["k"])
        except ValueError:
            errors["k"] = f"Enter k as a whole number of at least {deid.MIN_K} (5 is the usual choice)."
        if not values["formats"]:
            errors["format"] = "Choose at least one file format (CSV, Parquet or FHIR)."
        if not errors:
            try:
                job = long_jobs.start_research_export(
                    user=request.user, program=program, formats=",".join(values["formats"]), dates=values["dates"], k=k
                )
            except InputError as exc:
                if isinstance(exc, access.Forbidden | access.NotFound):
                    raise
                errors[exc.field] = exc.message
            else:
                return redirect("job-page", job_id=job)
    context = {
        "program": program,
        "values": values,
        "errors": errors,
        "format_choices": [(f, FORMAT_LABELS.get(f, f)) for f in research_export.ALL_FORMATS],
        "date_labels": DATE_LABELS,
        "missing_secret": long_jobs.research_secret_missing(program),
        "keep_days": long_jobs.keep_days(),
    }
    return render(request, "web/research/export.html", context, status=400 if errors else 200)
