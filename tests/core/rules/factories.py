"""Small builders for rule tests: plain values, no knowledge files, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from kratomwatch.core.exposure import Trend
from kratomwatch.core.rules import Assessment, PatientSnapshot
from kratomwatch.core.screening import InteractionFinding, ScreeningResult

AS_OF = dt.date(2026, 11, 21)
AT = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


def trend(**changes: Any) -> Trend:
    base = Trend(
        as_of=AS_OF,
        recent_mean_mg=30.0,
        baseline_mean_mg=30.0,
        ratio=1.0,
        recent_doses_per_day=2.0,
        baseline_doses_per_day=2.0,
        recent_mean_gap_hours=12.0,
        baseline_mean_gap_hours=12.0,
        recent_mean_first_dose_minute=480.0,
        baseline_mean_first_dose_minute=480.0,
    )
    return dataclasses.replace(base, **changes)


def snapshot(**changes: Any) -> PatientSnapshot:
    values: dict[str, Any] = {"patient_code": "P-001", "as_of": AS_OF, "jurisdiction": "US-OK"}
    values.update(changes)
    return PatientSnapshot(**values)


def assessment(instrument_id: str, total: float | None, answers: tuple[int | None, ...] = (), **kw: Any) -> Assessment:
    return Assessment(
        instrument_id=instrument_id,
        total=total,
        answers=answers,
        flags=kw.pop("flags", ()),
        administered_at=kw.pop("administered_at", AT),
        **kw,
    )


def phq9(item9: int | None, total: float | None = None, flags: tuple[str, ...] = ()) -> Assessment:
    answers: tuple[int | None, ...] = (1, 1, 1, 1, 1, 1, 1, 1, item9)
    computed = None if item9 is None else 8 + item9
    return assessment("phq9", computed if total is None else total, answers, flags=flags)


def interaction(
    ingredient_id: str,
    class_id: str,
    severity: str,
    *,
    name: str | None = None,
    match_status: str = "matched",
    sources: tuple[str, ...] = ("PMID:36924284",),
) -> InteractionFinding:
    return InteractionFinding(
        medication=name or ingredient_id,
        ingredient_id=ingredient_id,
        ingredient_name=(name or ingredient_id).title(),
        class_id=class_id,
        class_name=class_id.replace("_", " "),
        severity=severity,  # type: ignore[arg-type]
        mechanism="both",
        evidence_level="clinical_study",
        summary="summary",
        management="Flag for prescriber review.",
        sources=sources,
        as_of=AS_OF,
        match_status=match_status,  # type: ignore[arg-type]
    )


def screening(*findings: InteractionFinding) -> ScreeningResult:
    return ScreeningResult(findings=tuple(findings), matches=(), unresolved=())
