"""The clinic alert queue: filtered, sorted and paginated; acknowledge one or many; resolve with a note.

Views only: alerts are scoped by ``access.alerts_for`` (another clinic's alert is "not found"), filters and order
by ``alerts/queries.py``, the lifecycle by ``alerts.actions`` (each change audited per alert). After an action the
clinician returns to the same page of the queue, with the same filters, at the same card (``#alert-<id>``). An
empty resolution note shows the queue again at that card with the error under the note (HTTP 400).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kratomwatch import access
from kratomwatch.alerts import actions as alert_actions
from kratomwatch.alerts import queries as alert_queries
from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.audit.log import Actor
from kratomwatch.core.errors import InputError
from kratomwatch.web import forms, pages
from kratomwatch.web.security import clinician_required

PAGE_SIZE = 25
SORT_LABELS = {
    "severity": "Most severe first, then newest",
    "newest": "Newest first",
    "oldest": "Oldest first",
    "patient": "By patient code",
}
STATUS_LABELS = {
    "active": "Open or acknowledged",
    "open": "Open",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "all": "Any status",
}
MAX_BULK = 200


@dataclass(frozen=True)
class QueueCard:
    """One card of the queue: the alert as ``pages.AlertView`` shows it, and the error under its note, if any."""

    alert: Alert
    sources: list[pages.SourceLink]
    program_settings: list[str]
    error: str = ""


def _cards(alerts: list[Alert], errors: dict[int, str]) -> list[QueueCard]:
    return [
        QueueCard(v.alert, v.sources, v.program_settings, errors.get(v.alert.pk, "")) for v in pages.alert_views(alerts)
    ]


def _rule_label(rule_id: str) -> str:
    return forms.rule_words(rule_id)


def _filter_query(selected: dict[str, str]) -> str:
    """The filters as a query string (defaults left out), for page links and the return after an action."""
    defaults = {"status": "active", "sort": "severity"}
    return urlencode({k: v for k, v in selected.items() if v and defaults.get(k) != v})


def _queue(
    request: HttpRequest,
    params: QueryDict,
    *,
    card_errors: dict[int, str] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    programs = list(access.programs_for(request.user).order_by("name"))
    flt, selected = forms.parse_queue_filter(params, {p.pk for p in programs})
    scoped = access.alerts_for(request.user)
    paginator = Paginator(alert_queries.apply(scoped, flt), PAGE_SIZE)
    page = paginator.get_page(params.get("page"))
    access.audit_list(request.user, "alerts", count=paginator.count)
    query = _filter_query(selected)
    here = reverse("clinic-alerts") + "?" + urlencode({**dict(QueryDict(query).items()), "page": page.number})
    return render(
        request,
        "web/clinician/alerts.html",
        {
            "alerts": _cards(list(page.object_list), card_errors or {}),
            "page": page,
            "paginator": paginator,
            "query": query,
            "severities": pages.SEVERITIES,
            "statuses": [(s, STATUS_LABELS.get(s, s)) for s in alert_queries.STATUS_FILTERS],
            "sorts": list(SORT_LABELS.items()),
            "rules": [(r, _rule_label(r)) for r in alert_queries.rule_ids(scoped)],
            "programs": programs,
            "selected": selected,
            "error": error,
            "next": here,
            "alert_heading": 2,
        },
        status=status,
    )


@clinician_required
def alert_queue(request: HttpRequest) -> HttpResponse:
    return _queue(request, request.GET)


def _next(request: HttpRequest) -> str:
    """The page the action came from (this site only), else the queue."""
    target = str(request.POST.get("next", ""))
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target.split("#", 1)[0]
    return reverse("clinic-alerts")


def _back(request: HttpRequest, alert_id: int | None = None) -> HttpResponse:
    return redirect(_next(request) + (f"#alert-{alert_id}" if alert_id is not None else ""))


def _queue_again(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """The queue page the form came from, shown again (with an error) instead of a redirect."""
    parts = urlsplit(_next(request))
    if parts.path != reverse("clinic-alerts"):
        parts = urlsplit(reverse("clinic-alerts"))
    return _queue(request, QueryDict(parts.query), status=400, **kwargs)


@clinician_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = access.get_alert_for(request.user, alert_id)
    access.require_care_team_for(request.user, alert.patient)
    try:
        alert_actions.acknowledge(actor=Actor.of(request.user), alert=alert)
    except InputError as exc:
        return _queue_again(request, error=f"{alert.title} ({alert.patient.code}): {exc.message}")
    return _back(request, alert.pk)


@clinician_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = access.get_alert_for(request.user, alert_id)
    access.require_care_team_for(request.user, alert.patient)
    try:
        alert_actions.resolve(actor=Actor.of(request.user), alert=alert, note=request.POST.get("note", ""))
    except InputError as exc:
        if exc.field == "note":
            return _queue_again(request, card_errors={alert.pk: "Write a resolution note before resolving."})
        return _queue_again(request, error=f"{alert.title} ({alert.patient.code}): {exc.message}")
    return _back(request, alert.pk)


@clinician_required
@require_POST
def alert_bulk_acknowledge(request: HttpRequest) -> HttpResponse:
    """Acknowledge the selected open alerts, each through ``alerts.actions.acknowledge`` (one audit event each).

    Every id must be an alert this user may see: a forged or foreign id is "not found" and nothing changes."""
    raw = request.POST.getlist("ids")
    if not raw:
        return _queue_again(request, error="Choose at least one alert to acknowledge.")
    if len(raw) > MAX_BULK or not all(v.isdigit() for v in raw):
        raise Http404("not found")
    ids = {int(v) for v in raw}
    actor = Actor.of(request.user)
    with transaction.atomic():
        alerts = list(access.alerts_for(request.user).filter(pk__in=ids))
        if len(alerts) != len(ids):
            raise Http404("not found")
        for alert in alerts:
            access.require_care_team_for(request.user, alert.patient)
        done = 0
        for alert in alerts:
            if alert.status != AlertStatus.OPEN:
                continue
            try:
                alert_actions.acknowledge(actor=actor, alert=alert)
            except InputError:  # a colleague acted on it a moment ago
                continue
            done += 1
    skipped = len(alerts) - done
    text = f"Acknowledged {done} alert{'' if done == 1 else 's'}."
    if skipped:
        text += f" {skipped} {'was' if skipped == 1 else 'were'} already acknowledged or resolved."
    messages.success(request, text)
    return _back(request)


__all__ = ["alert_acknowledge", "alert_bulk_acknowledge", "alert_queue", "alert_resolve"]
