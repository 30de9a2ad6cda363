"""Surveillance of public adverse-event reports from the API: the analyses written by ``kratomwatch signals scan``
and, for one analysis and one watched product, its signals (filtered, sorted, paged), the cumulative IC trend of one
event, reports by year, serious outcomes and co-reported products (``surveillance.views``, the same numbers as the
page ``/research/surveillance/``).

Contract: a researcher (in any program) or staff; anyone else gets 403 in the one error shape. A bad parameter is a
400 naming it (``field``) and its value; an analysis that does not exist or is not complete yet is a 404 on
``analysis_slug`` whose message says how to make one. Every answer carries ``caveat``: spontaneous reports cannot give
incidence or causation. JSON has no infinity: an infinite ratio (a PRR when no other product has the event) is the
string ``"Infinity"``; a value that could not be computed is ``null``.
"""

import math
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kratomwatch.accounts.models import Membership, Role
from kratomwatch.core.errors import Forbidden, InputError
from kratomwatch.surveillance import CAVEAT
from kratomwatch.surveillance import views as sv

router = Router(tags=["surveillance"])
#: The path parameter naming an analysis (``faers-ps``); errors about it name this field.
FIELD = "analysis_slug"

Params = str | None


def _require_role(request: HttpRequest) -> None:
    user: Any = request.user
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return
    if Membership.objects.filter(user_id=user.pk, role=Role.RESEARCHER).exists():
        return
    raise Forbidden("role", "", "surveillance is for researchers and staff")


def _json(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _about(analysis: sv.Analysis) -> dict[str, Any]:
    s = analysis.summary
    return {
        "name": analysis.name,
        "format": s.get("format"),
        "synthetic": analysis.synthetic,
        "collection": s.get("collection"),
        "role": s.get("role"),
        "strata": s.get("strata") or [],
        "created_at": s.get("created_at"),
        "units": s.get("units") or [],
        "reports_read": s.get("reports_read"),
        "cases_kept": s.get("cases_kept"),
        "versions_dropped": s.get("versions_dropped"),
        "deleted_dropped": s.get("deleted_dropped"),
        "rejects": s.get("rejects") or {},
        "pairs": s.get("pairs"),
        "fit": s.get("fit"),
        "squashed_points": s.get("squashed_points"),
        "notes": s.get("notes") or [],
        "names": s.get("names") or {},
        "products": analysis.products,
        "score": analysis.score,
    }


def _product(analysis: sv.Analysis, product: Params) -> str:
    query = sv.parse_query({"product": product or ""})
    return sv.check_product(analysis, query.product)


@router.get("/surveillance/analyses", response=dict[str, Any])
def list_analyses(request: HttpRequest) -> Any:
    """Every complete analysis, newest first, with its provenance; ``message`` says how to make one when none."""
    _require_role(request)
    found = sv.analyses()
    return _json(
        {
            "caveat": found[0].caveat if found else CAVEAT,
            "analyses": [_about(a) for a in found],
            "message": None if found else sv.no_analysis_message(),
        }
    )


class SignalFilters(Schema):
    """The filters of the signals table, as text (parsed by ``surveillance.views.parse_query``: a bad value is a 400
    naming the parameter)."""

    product: str | None = Field(None, max_length=100, description=", ".join(sv.PRODUCTS) + " (default kratom)")
    event: str | None = Field(None, max_length=sv.MAX_EVENT_TEXT, description="Text the event contains (any case)")
    min_n: str | None = Field(None, max_length=20, description="At least this many reports (default 1)")
    signals_only: str | None = Field(
        None, max_length=10, description="true: EB05 >= 2, or IC025 > 0 where EBGM is null (default false)"
    )
    sort: str | None = Field(None, max_length=20, description=", ".join(sv.SORTS) + " (default eb05, or ic025)")
    order: str | None = Field(None, max_length=10, description="asc or desc (default desc; asc for event)")
    page: str | None = Field(None, max_length=20, description="From 1 (default 1)")
    page_size: str | None = Field(None, max_length=20, description=f"1 to {sv.MAX_PAGE_SIZE} (default {sv.PAGE_SIZE})")


@router.get("/surveillance/analyses/{analysis_slug}/signals", response=dict[str, Any])
def signals(request: HttpRequest, analysis_slug: str, filters: Query[SignalFilters]) -> Any:
    """The product-event pairs of one watched product, filtered, sorted (nulls last) and paged."""
    _require_role(request)
    analysis = sv.load(analysis_slug, field=FIELD)
    query = sv.parse_query(filters.dict(), default_sort=analysis.score)
    result = sv.signals(analysis, query)
    return _json(
        {
            "caveat": analysis.caveat,
            "analysis": analysis.name,
            "product": query.product,
            "filters": {
                "event": query.event,
                "min_n": query.min_n,
                "signals_only": query.signals_only,
                "sort": query.sort,
                "order": query.order,
            },
            "score": result.score,
            "page": query.page,
            "page_size": query.page_size,
            "pages": result.pages,
            "total": result.total,
            "pairs": result.pairs,
            "rows": result.rows,
        }
    )


@router.get("/surveillance/analyses/{analysis_slug}/trend", response=dict[str, Any])
def trend(request: HttpRequest, analysis_slug: str, product: Params = None, event: Params = None) -> Any:
    """The cumulative IC with its IC025-IC975 interval by period for one event (default: the event with the
    highest EB05, or IC025 without an EBGM prior); ``events`` lists the events with a trend."""
    _require_role(request)
    analysis = sv.load(analysis_slug, field=FIELD)
    chosen = _product(analysis, product)
    events = sv.trend_events(analysis, chosen)
    wanted = (event or "").strip()
    if wanted and wanted not in events:
        raise InputError("event", wanted[:200], f"event {wanted[:200]!r} has no trend for {chosen}")
    wanted = wanted or (events[0] if events else "")
    rows = sv.trend(analysis, chosen, wanted) if wanted else []
    return _json(
        {
            "caveat": analysis.caveat,
            "analysis": analysis.name,
            "product": chosen,
            "event": wanted or None,
            "events": events,
            "rows": rows,
        }
    )


def _table(analysis_slug: str, product: Params, rows_of: Any) -> Any:
    analysis = sv.load(analysis_slug, field=FIELD)
    chosen = _product(analysis, product)
    return _json(
        {"caveat": analysis.caveat, "analysis": analysis.name, "product": chosen, "rows": rows_of(analysis, chosen)}
    )


@router.get("/surveillance/analyses/{analysis_slug}/years", response=dict[str, Any])
def years(request: HttpRequest, analysis_slug: str, product: Params = None) -> Any:
    """Cases naming the product by year of FDA receipt."""
    _require_role(request)
    return _table(analysis_slug, product, sv.years)


@router.get("/surveillance/analyses/{analysis_slug}/outcomes", response=dict[str, Any])
def outcomes(request: HttpRequest, analysis_slug: str, product: Params = None) -> Any:
    """Serious outcomes (DE death, LT life-threatening, HO hospitalisation, ...) in cases naming the product."""
    _require_role(request)
    return _table(analysis_slug, product, sv.outcomes)


@router.get("/surveillance/analyses/{analysis_slug}/coreported", response=dict[str, Any])
def coreported(request: HttpRequest, analysis_slug: str, product: Params = None) -> Any:
    """Other products named in the same cases (the 50 most frequent)."""
    _require_role(request)
    return _table(analysis_slug, product, sv.coreported)
