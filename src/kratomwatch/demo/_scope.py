"""The demo's reads, all through ``kratomwatch.access`` as the ``demo`` operator (who sees the registry as staff do).

No audit events: list scoping through ``access`` is not audited, so a second demo run still writes nothing.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from kratomwatch import access
from kratomwatch.accounts.models import Program
from kratomwatch.records.models import Patient

OPERATOR_LOGIN = "demo"


def _operator() -> access.Operator:
    return access.operator(OPERATOR_LOGIN)


def find_program(slug: str) -> Program | None:
    return access.programs_for(_operator()).filter(slug=slug).first()


def patients_of(program: Program) -> QuerySet[Patient]:
    """The program's patients, by code."""
    return access.patients_for(_operator()).filter(program=program).order_by("code")


def dose_count(program: Program) -> int:
    counted = access.patients_for(_operator()).filter(program=program).aggregate(n=Count("doses"))
    return int(counted["n"] or 0)
