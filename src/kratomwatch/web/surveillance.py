"""The researcher's surveillance page, ``/research/surveillance/``: disproportionality signals for kratom, 7-OH and
mitragynine pseudoindoxyl in public spontaneous adverse-event reports (FDA FAERS), read from an analysis directory
written by ``kratomwatch signals scan`` (``surveillance.views``; the same numbers as ``GET
/api/v1/surveillance/...``).

Who: a researcher (in any program) or staff; anyone else gets the styled 403. The page reads no patient data and
writes nothing. Everything works without JavaScript: the filters, the sort (column headers are links) and the pages
are GET links and forms. The caveat of the analysis comes first; every chart is an inline SVG with an aria-label
that gives its numbers, and a table of the same numbers beside it. A bad filter is shown next to its field, in
words, with HTTP 400 (the rest of the page still shows, with that filter at its default); no analysis yet is a page
that says how to make one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from kratomwatch.core.errors import InputError
from kratomwatch.surveillance import CAVEAT
from kratomwatch.surveillance import views as sv
from kratomwatch.web import nav
from kratomwatch.web import surveillance_charts as charts
from kratomwatch.web.research import clinic_zone

__all__ = ["page"]

ROLES = frozenset({nav.RESEARCHER, nav.STAFF})
#: The columns of the signals table: (key, heading, sortable).
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("event", "Event", True),
    ("n", "n", True),
    ("expected", "Expected", True),
    ("prr", "PRR", True),
    ("ror", "ROR (95% CI)", True),
    ("ic", "IC", True),
    ("ic025", "IC025", True),
    ("ebgm", "EBGM", True),
    ("eb05", "EB05", True),
)
FILTER_KEYS = ("product", "event", "min_n", "signals_only", "sort", "order", "page")
BIASES: tuple[tuple[str, str], ...] = (
    (
        "Stimulated reporting",
        "publicity, warnings and regulatory action (FDA warnings on kratom and 7-OH products) bring more reports for "
        "a while: a rising count can be attention, not harm.",
    ),
    (
        "Duplicates",
        "the same case can reach the FDA from a consumer, a clinician and a manufacturer; only the latest version "
        "of each case is kept, but duplicates under different case numbers remain.",
    ),
    (
        "Co-reported products",
        "kratom is often reported with opioids, alcohol and other drugs (see the table below); an event reported "
        "with both is counted for each.",
    ),
    (
        "Confounding by indication",
        "people use kratom for pain, opioid withdrawal and low mood: events of the reason for use (withdrawal, "
        "dependence) appear as signals of the product.",
    ),
    (
        "No denominator",
        "nobody counts the people who use kratom without a report: no rate, risk or incidence can be computed.",
    ),
)


def _may_view(user: Any) -> bool:
    return bool(nav.roles_of(user) & ROLES)


def _query(params: QueryDict) -> tuple[sv.SignalQuery, dict[str, str]]:
    """The filters of the page, each bad one dropped (to its default) and reported by field."""
    values = {key: params.get(key, "") for key in FILTER_KEYS}
    errors: dict[str, str] = {}
    for _ in FILTER_KEYS:
        try:
            return sv.parse_query(values), errors
        except InputError as exc:
            errors[exc.field] = exc.message
            values[exc.field] = ""
    return sv.SignalQuery(), errors


def _link(base: dict[str, str], **changes: Any) -> str:
    """A query string of the page's parameters with ``changes`` (empty values left out)."""
    merged = {**base, **{k: str(v) for k, v in changes.items()}}
    q = QueryDict(mutable=True)
    for key, value in merged.items():
        if value not in ("", None):
            q[key] = value
    return "?" + q.urlencode()


def _row(row: dict[str, Any]) -> dict[str, str]:
    ror = charts.number(row.get("ror"))
    if row.get("ror") is not None:
        ror += f" ({charts.number(row.get('ror_lower95'))}–{charts.number(row.get('ror_upper95'))})"
    flagged = bool(
        (row.get("eb05") is not None and row["eb05"] >= sv.EB05_THRESHOLD)
        or (row.get("ebgm") is None and row.get("ic025") is not None and row["ic025"] > 0)
    )
    return {
        "event": str(row.get("event", "")),
        "n": f"{int(row['n']):,}" if row.get("n") is not None else "—",
        "expected": charts.number(row.get("expected")),
        "prr": charts.number(row.get("prr")),
        "ror": ror,
        "ic": charts.number(row.get("ic")),
        "ic025": charts.number(row.get("ic025")),
        "ebgm": charts.number(row.get("ebgm")),
        "eb05": charts.number(row.get("eb05")),
        "flagged": "yes" if flagged else "",
    }


def _headers(query: sv.SignalQuery, base: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for key, label, sortable in COLUMNS:
        current = query.sort == key
        flipped = "asc" if query.order == "desc" else "desc"
        order = flipped if current else ("asc" if key == "event" else "desc")
        out.append(
            {
                "key": key,
                "label": label,
                "num": key != "event",
                "url": _link(base, sort=key, order=order, page="") if sortable else "",
                "aria_sort": ("ascending" if query.order == "asc" else "descending") if current else "",
                "arrow": ("▲" if query.order == "asc" else "▼") if current else "",
                "next": "ascending" if order == "asc" else "descending",
            }
        )
    return out


def _provenance(analysis: sv.Analysis) -> dict[str, Any]:
    s = analysis.summary
    units = [str(u) for u in s.get("units") or []]
    fit = s.get("fit") or None
    names = s.get("names") or {}
    return {
        "units": units,
        "units_span": f"{units[0]} to {units[-1]}" if len(units) > 1 else (units[0] if units else "none"),
        "format": str(s.get("format") or ""),
        "role": str(s.get("role") or ""),
        "strata": [str(x) for x in s.get("strata") or []],
        "reports_read": s.get("reports_read"),
        "cases_kept": s.get("cases_kept"),
        "versions_dropped": s.get("versions_dropped"),
        "deleted_dropped": s.get("deleted_dropped"),
        "rejects": sorted((str(k), v) for k, v in (s.get("rejects") or {}).items()),
        "rejects_total": sum(int(v) for v in (s.get("rejects") or {}).values() if isinstance(v, int)),
        "pairs": s.get("pairs"),
        "fit": (
            [(k, charts.number(float(fit[k]), 4)) for k in ("alpha1", "beta1", "alpha2", "beta2", "p") if k in fit]
            if isinstance(fit, dict)
            else None
        ),
        "squashed_points": s.get("squashed_points"),
        "notes": [str(n) for n in s.get("notes") or []],
        "names_products": [(sv.PRODUCTS.get(str(k), str(k)), v) for k, v in (names.get("products") or {}).items()],
        "names_review": [list(r) for r in names.get("review") or []],
        "unmatched_total": names.get("unmatched_total"),
        "unmatched_top": [list(r) for r in names.get("unmatched_top") or []],
    }


@require_GET
@login_required
def page(request: HttpRequest) -> HttpResponse:
    if not _may_view(request.user):
        raise PermissionDenied("the surveillance page is for researchers and staff")
    zone = clinic_zone()
    found = sv.analyses()
    context: dict[str, Any] = {
        "caveat": CAVEAT,
        "biases": BIASES,
        "how_to_make": sv.HOW_TO_MAKE,
        "analyses": found,
        "analysis": None,
        "zone": zone,
        "errors": {},
    }
    if not found:
        return render(request, "web/surveillance/page.html", context)
    errors: dict[str, str] = {}
    chosen = request.GET.get("analysis", "").strip()
    analysis = found[0]
    if chosen:
        match = [a for a in found if a.name == chosen]
        if match:
            analysis = match[0]
        else:
            errors["analysis"] = f"There is no analysis named {chosen[:60]!r}: choose one of the list."
    query, query_errors = _query(request.GET)
    errors.update(query_errors)
    try:
        sv.check_product(analysis, query.product)
    except InputError as exc:
        errors["product"] = exc.message
        query = dataclasses.replace(query, product=analysis.products[0])
    product = query.product
    result = sv.signals(analysis, query)
    base = {
        "analysis": analysis.name if len(found) > 1 else "",
        "product": product,
        "event": query.event,
        "min_n": str(query.min_n) if query.min_n > 1 else "",
        "signals_only": "1" if query.signals_only else "",
        "sort": query.sort,
        "order": query.order,
    }
    events = sv.trend_events(analysis, product)
    trend_event = request.GET.get("trend", "").strip()
    if trend_event and trend_event not in events:
        errors["trend"] = f"{trend_event[:60]!r} has no trend for {sv.PRODUCTS[product]}: choose an event of the list."
        trend_event = ""
    trend_event = trend_event or (events[0] if events else "")
    trend_rows = sv.trend(analysis, product, trend_event) if trend_event else []
    points = sv.scatter_points(analysis, product)
    year_rows = sv.years(analysis, product)
    score_label = charts.SCORE_LABELS[analysis.score]
    scatter_title = f"{sv.PRODUCTS[product]}: {score_label} against the number of reports, each point an event"
    trend_title = f"{sv.PRODUCTS[product]}, {trend_event}: cumulative IC with its 95% interval by period"
    context.update(
        analysis=analysis,
        caveat=analysis.caveat,
        created_at=analysis.created_at,
        provenance=_provenance(analysis),
        products=[(p, sv.PRODUCTS[p]) for p in analysis.products],
        product=product,
        product_label=sv.PRODUCTS[product],
        query=query,
        result=result,
        rows=[_row(r) for r in result.rows],
        headers=_headers(query, base),
        prev_url=_link(base, page=query.page - 1) if query.page > 1 else "",
        next_url=_link(base, page=query.page + 1) if query.page < result.pages else "",
        first_url=_link(base, page=1) if query.page > result.pages else "",
        hidden={k: v for k, v in base.items() if k in ("analysis", "product") and v},
        score_label=score_label,
        threshold_words=(
            "EB05 of at least 2" if analysis.has_ebgm else "IC025 above 0 (the EBGM prior could not be fitted)"
        ),
        scatter_wide=mark_safe(charts.scatter(points, analysis.score, width=720, title=scatter_title)),  # noqa: S308 - our SVG, every text escaped
        scatter_narrow=mark_safe(charts.scatter(points, analysis.score, width=360, title=scatter_title)),  # noqa: S308
        scatter_top=[
            {"event": p["event"], "n": f"{p['n']:,}", "score": charts.number(p["score"])} for p in points[:15]
        ],
        points=len(points),
        events=events,
        trend_event=trend_event,
        trend_rows=[
            {
                "period": r["period"],
                "n_cum": r.get("n_cum"),
                "expected_cum": charts.number(r.get("expected_cum")),
                "ic": charts.number(r.get("ic")),
                "ic025": charts.number(r.get("ic025")),
                "ic975": charts.number(r.get("ic975")),
            }
            for r in trend_rows
        ],
        trend_wide=mark_safe(charts.trend(trend_rows, trend_event, width=720, title=trend_title)),  # noqa: S308
        trend_narrow=mark_safe(charts.trend(trend_rows, trend_event, width=360, title=trend_title)),  # noqa: S308
        years=year_rows,
        years_svg=mark_safe(charts.bars(year_rows, title=f"{sv.PRODUCTS[product]}: reports by year")),  # noqa: S308
        outcomes=sv.outcomes(analysis, product),
        coreported=sv.coreported(analysis, product),
        errors=errors,
    )
    return render(request, "web/surveillance/page.html", context, status=400 if errors else 200)
