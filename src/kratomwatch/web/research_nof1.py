"""The researcher's page of pooled n-of-1 trials: completed trials of one design combined across participants on
the program's newest analysis snapshot (``research.nof1_pool``, the same report as ``GET
/api/v1/research/programs/{id}/nof1-pooled`` and ``kratomwatch research nof1-pool``).

Who: a researcher of the program, or staff (``access.get_research_program_for``): a clinician of it gets 403,
anyone else 404. The page shows aggregates only: a design group or a condition with fewer than k participants is
shown as withheld, with its reason; no per-participant estimate is shown. Viewing it is audited
(``research.nof1.pool``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kratomwatch import access
from kratomwatch.audit.log import Actor
from kratomwatch.core import instruments as ins
from kratomwatch.research import nof1_pool
from kratomwatch.web.research_cohorts import snapshot_status
from kratomwatch.web.security import login_and_access

__all__ = ["nof1_pooled"]


def _instrument(instrument_id: str) -> str:
    try:
        return ins.get(instrument_id).title
    except ins.UnknownInstrument:
        return instrument_id


def _group(group: dict[str, Any]) -> dict[str, Any]:
    design = group["design"]
    return {
        **group,
        "instrument_title": _instrument(design["primary_instrument"]),
        "direction": "lower is better" if design["lower_is_better"] else "higher is better",
    }


@login_and_access
@require_GET
def nof1_pooled(request: HttpRequest, program_id: int) -> HttpResponse:
    program = access.get_research_program_for(request.user, program_id)
    status = snapshot_status(program, request.user)
    context: dict[str, Any] = {"program": program, "report": None, "groups": [], "caveat": nof1_pool.CAVEAT, **status}
    if status["snapshot"] is not None:
        report = nof1_pool.report(program, actor=Actor.of(request.user)).to_dict()
        context.update(report=report, groups=[_group(g) for g in report["groups"]], method=report["method"])
    return render(request, "web/research/nof1_pool.html", context)
