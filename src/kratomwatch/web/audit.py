"""The /audit/ page: staff see every event, program admins their programs' events. Every view is itself audited."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kratomwatch import access
from kratomwatch.audit import queries
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import InputError

PAGE_SIZE = 50


@never_cache
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not access.may_view_audit(request.user):
        raise PermissionDenied("the audit trail is for staff and program admins")
    get = request.GET
    error = None
    try:
        flt = queries.AuditFilter(
            actor=get.get("actor", "").strip()[:150],
            action=get.get("action", "").strip()[:64],
            patient_code=get.get("patient", "").strip()[:64],
            since=queries.parse_date("since", get.get("since")),
            until=queries.parse_date("until", get.get("until")),
        )
    except InputError as exc:
        error = exc.message
        flt = queries.AuditFilter()
    events = queries.apply(access.audit_events_for(request.user), flt).order_by("-id")
    page = Paginator(events, PAGE_SIZE).get_page(get.get("page"))
    record(
        Actor.of(request.user),
        "audit.read",
        object_type="audit_log",
        detail={"filters": flt.as_detail(), "page": page.number},
    )
    query = urlencode({k: str(v) for k, v in get.items() if k != "page" and v})
    context = {"page": page, "filters": get, "query": query, "error": error}
    return render(request, "web/audit_log.html", context, status=400 if error else 200)
