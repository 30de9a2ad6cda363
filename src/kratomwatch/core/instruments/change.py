"""Change analysis: change from baseline, clinically important change, IMMPACT pain categories and
per-patient trajectories.

Every scale in this package is scored so that a lower value is better, so an *improvement* is a decrease.
Time is always a parameter (``datetime`` values handed in with each observation); nothing reads a clock.
No value is rounded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from kratomwatch.core.instruments._shared import dworkin_2008
from kratomwatch.core.instruments.errors import InstrumentMismatch, MixedTimezones, ScoreOutOfRange
from kratomwatch.core.instruments.schema import Citation, InstrumentDefinition
from kratomwatch.core.instruments.scoring import ScoreResult

_FROZEN = ConfigDict(frozen=True, extra="forbid")

TOLERANCE = 1e-9
"""Absorbs binary floating-point error when comparing a change of means (e.g. 36/7 - 29/7) with a
threshold; it is not rounding and is far below any clinically meaningful difference."""


class PainReductionCategory(StrEnum):
    """IMMPACT categories of percent reduction in a 0-10 pain-intensity rating (Dworkin 2008)."""

    NONE = "none"
    """Less than 10% reduction (including no change and worsening)."""
    MINIMAL = "minimal"
    """10% to less than 30%. Dworkin 2008 names 10-20% minimally important; 20% to < 30% is placed here by
    convention (next category starts at 30%)."""
    MODERATE = "moderate"
    """30% to less than 50%."""
    SUBSTANTIAL = "substantial"
    """50% or more."""


IMMPACT_PAIN_CITATION: Citation = dworkin_2008(
    "pain-intensity reductions: 10-20% minimally important, >= 30% moderately important, >= 50% substantial"
)


def percent_change(baseline: float, follow_up: float) -> float | None:
    """(follow_up - baseline) / baseline * 100, or None when the baseline is 0 (undefined)."""
    if baseline == 0:
        return None
    return (follow_up - baseline) / baseline * 100.0


def immpact_pain_category(baseline: float, follow_up: float) -> PainReductionCategory | None:
    """IMMPACT category of the percent *reduction* from ``baseline`` to ``follow_up``; None when the
    baseline is 0 or below, where a percent reduction is undefined."""
    if baseline <= 0:
        return None
    reduction = (baseline - follow_up) / baseline * 100.0
    if reduction >= 50.0 - TOLERANCE:
        return PainReductionCategory.SUBSTANTIAL
    if reduction >= 30.0 - TOLERANCE:
        return PainReductionCategory.MODERATE
    if reduction >= 10.0 - TOLERANCE:
        return PainReductionCategory.MINIMAL
    return PainReductionCategory.NONE


class ChangeResult(BaseModel):
    model_config = _FROZEN

    instrument_id: str
    scale_id: str
    baseline: int | float
    follow_up: int | float
    absolute_change: int | float
    """follow_up - baseline (negative = lower = better); an int when both scores are ints."""
    percent_change: float | None
    """absolute_change / baseline * 100; None when the baseline is 0."""
    improved: bool
    worsened: bool
    important_change_points: float | None
    """Published clinically important change for this scale, or None when none is encoded."""
    important_improvement: bool | None
    """Decrease of at least the clinically important change; None when there is no published value."""
    important_worsening: bool | None
    pain_category: PainReductionCategory | None
    """IMMPACT category, only for 0-10 pain-intensity scales (None elsewhere or with a 0 baseline)."""
    responder: bool | None
    responder_rule: str | None
    citations: tuple[Citation, ...]


def change_from_baseline(
    definition: InstrumentDefinition,
    baseline: int | float,
    follow_up: int | float,
    *,
    scale_id: str | None = None,
    supervised: bool = False,
) -> ChangeResult:
    """Change of one scale (the primary one by default) between two valid scores.

    Responder status: the published clinically important improvement when the scale has one; otherwise,
    on a 0-10 pain-intensity scale, an IMMPACT reduction of at least 30% (moderately important);
    otherwise None (no published rule).
    """
    rule = definition.scale(scale_id or definition.primary_scale_id)
    low, high = definition.score_range(rule.id, supervised=supervised)
    for value in (baseline, follow_up):
        if not low <= value <= high:
            raise ScoreOutOfRange(definition.id, rule.id, value, low, high)

    delta = follow_up - baseline
    improvement = baseline - follow_up
    citations: list[Citation] = []
    points: float | None = None
    important_improvement: bool | None = None
    important_worsening: bool | None = None
    if rule.important_change is not None:
        points = rule.important_change.points
        important_improvement = improvement >= points - TOLERANCE
        important_worsening = -improvement >= points - TOLERANCE
        citations.append(rule.important_change.citation)

    category: PainReductionCategory | None = None
    if rule.immpact_pain_intensity:
        category = immpact_pain_category(baseline, follow_up)
        citations.append(IMMPACT_PAIN_CITATION)

    responder: bool | None = None
    responder_rule: str | None = None
    if important_improvement is not None:
        responder = important_improvement
        responder_rule = f"decrease of at least {points:g} points (clinically important change)"
    elif rule.immpact_pain_intensity and category is not None:
        responder = category in (PainReductionCategory.MODERATE, PainReductionCategory.SUBSTANTIAL)
        responder_rule = "reduction of at least 30% (IMMPACT moderately important)"

    return ChangeResult(
        instrument_id=definition.id,
        scale_id=rule.id,
        baseline=baseline,
        follow_up=follow_up,
        absolute_change=delta,
        percent_change=percent_change(baseline, follow_up),
        improved=improvement > TOLERANCE,
        worsened=-improvement > TOLERANCE,
        important_change_points=points,
        important_improvement=important_improvement,
        important_worsening=important_worsening,
        pain_category=category,
        responder=responder,
        responder_rule=responder_rule,
        citations=tuple(citations),
    )


class TrajectoryPoint(BaseModel):
    model_config = _FROZEN

    at: datetime
    value: int | float | None
    valid: bool
    band_id: str | None


class Trajectory(BaseModel):
    model_config = _FROZEN

    instrument_id: str
    scale_id: str
    points: tuple[TrajectoryPoint, ...]
    """All observations, sorted by time (ties keep input order)."""
    valid_points: int
    baseline: TrajectoryPoint | None
    """First valid observation."""
    latest: TrajectoryPoint | None
    """Last valid observation."""
    change: ChangeResult | None
    """Baseline to latest; None with fewer than two valid observations."""
    responder: bool | None


def trajectory(
    definition: InstrumentDefinition,
    observations: Sequence[tuple[datetime, ScoreResult]],
    *,
    scale_id: str | None = None,
) -> Trajectory:
    """Per-patient trajectory of one scale (the primary one by default) over (time, score) observations."""
    rule = definition.scale(scale_id or definition.primary_scale_id)
    aware: bool | None = None
    for position, (at, result) in enumerate(observations, start=1):
        if result.instrument_id != definition.id:
            raise InstrumentMismatch(definition.id, result.instrument_id, position)
        is_aware = at.tzinfo is not None and at.utcoffset() is not None
        if aware is None:
            aware = is_aware
        elif aware != is_aware:
            raise MixedTimezones(position)

    points: list[TrajectoryPoint] = []
    supervised_flags: list[bool] = []
    for at, result in sorted(observations, key=lambda observation: observation[0]):
        scale = result.scale(rule.id)
        points.append(
            TrajectoryPoint(
                at=at,
                value=scale.value,
                valid=scale.valid,
                band_id=scale.band.id if scale.band is not None else None,
            )
        )
        supervised_flags.append(result.supervised)

    valid = [(point, supervised) for point, supervised in zip(points, supervised_flags, strict=True) if point.valid]
    baseline = valid[0][0] if valid else None
    latest = valid[-1][0] if valid else None
    change: ChangeResult | None = None
    if len(valid) >= 2 and baseline is not None and latest is not None:
        if baseline.value is None or latest.value is None:  # a valid point always has a value
            raise ValueError("valid trajectory point without a value")
        change = change_from_baseline(
            definition,
            baseline.value,
            latest.value,
            scale_id=rule.id,
            supervised=valid[0][1] and valid[-1][1],
        )
    return Trajectory(
        instrument_id=definition.id,
        scale_id=rule.id,
        points=tuple(points),
        valid_points=len(valid),
        baseline=baseline,
        latest=latest,
        change=change,
        responder=change.responder if change is not None else None,
    )
