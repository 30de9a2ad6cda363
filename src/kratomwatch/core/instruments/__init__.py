"""Validated outcome instruments: definitions as data, pure scoring and change analysis.

Registry::

    from kratomwatch.core import instruments
    phq9 = instruments.get("phq9")
    result = instruments.score(phq9, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    result.total, result.band, result.flags

Every definition carries its sources (PMID, DOI or URL, read as of 2026-11-21) and says which facts could
not be confirmed. The core measures, screens, flags and cites; it never recommends a dose. Pure: standard
library and pydantic only, no I/O, no clock.
"""

from __future__ import annotations

from kratomwatch.core.instruments import (
    asrs,
    bpi_sf,
    cows,
    craving_nrs,
    dn4,
    dn4_interview,
    dsm5_sud,
    gad7,
    pain_nrs,
    peg,
    pgic,
    phq9,
    sleep_nrs,
    sows,
)
from kratomwatch.core.instruments.change import (
    ChangeResult,
    PainReductionCategory,
    Trajectory,
    TrajectoryPoint,
    change_from_baseline,
    immpact_pain_category,
    percent_change,
    trajectory,
)
from kratomwatch.core.instruments.errors import (
    AnswerOutOfRange,
    AnswerParseError,
    InstrumentError,
    InstrumentMismatch,
    MixedTimezones,
    ScoreOutOfRange,
    UnknownInstrument,
    UnknownScale,
    UnsupportedMissingPolicy,
    WrongAnswerCount,
)
from kratomwatch.core.instruments.parse import parse_answers
from kratomwatch.core.instruments.schema import (
    Aggregation,
    Band,
    Citation,
    FlagKind,
    FlagRule,
    ImportantChange,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)
from kratomwatch.core.instruments.scoring import (
    BandResult,
    Flag,
    ScaleScore,
    ScoreResult,
    format_value,
    score,
)


def _build_registry(definitions: tuple[InstrumentDefinition, ...]) -> dict[str, InstrumentDefinition]:
    registry: dict[str, InstrumentDefinition] = {}
    for definition in definitions:
        if definition.id in registry:
            raise ValueError(f"two instrument definitions share the id {definition.id!r}")
        registry[definition.id] = definition
    return dict(sorted(registry.items()))


_REGISTRY = _build_registry(
    (
        phq9.DEFINITION,
        gad7.DEFINITION,
        peg.DEFINITION,
        pain_nrs.DEFINITION,
        pgic.DEFINITION,
        bpi_sf.DEFINITION,
        dn4.DEFINITION,
        dn4_interview.DEFINITION,
        asrs.DEFINITION,
        cows.DEFINITION,
        sows.DEFINITION,
        craving_nrs.DEFINITION,
        sleep_nrs.DEFINITION,
        dsm5_sud.DEFINITION,
    )
)


def get(instrument_id: str) -> InstrumentDefinition:
    """The definition registered under ``instrument_id``; raises UnknownInstrument otherwise."""
    try:
        return _REGISTRY[instrument_id]
    except KeyError:
        raise UnknownInstrument(instrument_id, list(_REGISTRY)) from None


def all_definitions() -> tuple[InstrumentDefinition, ...]:
    """Every registered definition, sorted by id."""
    return tuple(_REGISTRY.values())


def instrument_ids() -> tuple[str, ...]:
    return tuple(_REGISTRY)


__all__ = [
    "Aggregation",
    "AnswerOutOfRange",
    "AnswerParseError",
    "Band",
    "BandResult",
    "ChangeResult",
    "Citation",
    "Flag",
    "FlagKind",
    "FlagRule",
    "ImportantChange",
    "InstrumentDefinition",
    "InstrumentError",
    "InstrumentMismatch",
    "Item",
    "MissingPolicy",
    "MixedTimezones",
    "PainReductionCategory",
    "ScaleRule",
    "ScaleScore",
    "ScoreOutOfRange",
    "ScoreResult",
    "ThresholdBasis",
    "Trajectory",
    "TrajectoryPoint",
    "UnknownInstrument",
    "UnknownScale",
    "UnsupportedMissingPolicy",
    "WrongAnswerCount",
    "all_definitions",
    "change_from_baseline",
    "format_value",
    "get",
    "immpact_pain_category",
    "instrument_ids",
    "parse_answers",
    "percent_change",
    "score",
    "trajectory",
]
