"""The /audit/ page: staff see every event, program admins their programs' events. Every view is itself audited."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kratomwatch import access
from kratomwatch.audit import queries
from kratomwatch.audit.log import Actor, record
from kratomwatch.audit.models import AuditEvent
from kratomwatch.core.csvsafe import safe_row
from kratomwatch.core.errors import InputError

PAGE_SIZE = 50

FILTER_LABELS = {"since": "From", "until": "To"}
DATE_ERROR = "{label}: “{value}” is not a date. Pick a day, or type it as year-month-day (2026-12-01)."
CSV_HEADER = ("id", "at_utc", "actor", "action", "object_type", "object_id", "patient_code", "remote_addr")


def _csv_download(request: HttpRequest, events: QuerySet[AuditEvent], flt: queries.AuditFilter) -> HttpResponse:
    """The filtered events as CSV (times in UTC), itself audited as an export of the audit trail."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    count = 0
    for e in events.iterator():
        count += 1
        at = e.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        row = (e.id, at, e.actor_label, e.action, e.object_type, e.object_id, e.patient_code, e.remote_addr)
        writer.writerow(safe_row(row))
    record(
        Actor.of(request.user),
        "audit.export",
        object_type="audit_log",
        detail={"filters": flt.as_detail(), "rows": count, "format": "csv"},
    )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}.csv"'
    return response


@never_cache
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not access.may_view_audit(request.user):
        raise PermissionDenied("the audit trail is for staff and program admins")
    get = request.GET
    error = None
    error_field = ""
    try:
        flt = queries.AuditFilter(
            actor=get.get("actor", "").strip()[:150],
            action=get.get("action", "").strip()[:64],
            patient_code=get.get("patient", "").strip()[:64],
            since=queries.parse_date("since", get.get("since")),
            until=queries.parse_date("until", get.get("until")),
        )
    except InputError as exc:
        error = DATE_ERROR.format(label=FILTER_LABELS.get(exc.field, exc.field), value=str(exc.value)[:40])
        error_field = exc.field
        flt = queries.AuditFilter()
    events = queries.apply(access.audit_events_for(request.user), flt).order_by("-id")
    if error:
        events = events.none()  # a filter that could not be read matches nothing, never everything
    elif get.get("download") == "csv":
        return _csv_download(request, events, flt)
    page = Paginator(events, PAGE_SIZE).get_page(get.get("page"))
    record(
        Actor.of(request.user),
        "audit.read",
        object_type="audit_log",
        detail={"filters": flt.as_detail(), "page": page.number},
    )
    query = urlencode({k: str(v) for k, v in get.items() if k not in ("page", "download") and v})
    context = {"page": page, "filters": get, "query": query, "error": error, "error_field": error_field}
    return render(request, "web/audit_log.html", context, status=400 if error else 200)
