"""Everything the alert rules need about one patient on one date, as plain frozen values.

An adapter (the alert sweep) assembles a :class:`PatientSnapshot` from stored records "as of" a date:
the exposure trend, a summary of recent doses, the screening of active medications, legal evaluations,
latest assessments, adverse events, labs, the pain trajectory and overdue schedules. The rules read only
this; they never query, read files or look at the clock. Validation here rejects values no rule can
judge (negative or non-finite numbers, an upper limit of normal of 0).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Literal

from kratomwatch.core.errors import InputError
from kratomwatch.core.exposure import Trend
from kratomwatch.core.instruments.scoring import ScoreResult
from kratomwatch.core.screening.types import (
    ContraindicationRule,
    LegalStatusResult,
    ProductEvaluation,
    ScreeningResult,
)

SeriousnessCriterion = Literal[
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "medically_important",
]
"""ICH E2A seriousness criteria (hospitalization = initial or prolonged in-patient stay)."""

SERIOUSNESS_CRITERIA: tuple[SeriousnessCriterion, ...] = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "medically_important",
)


def _finite(name: str, value: float | None, *, minimum: float = 0.0, strict: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(name, value, f"{name} must be a finite number")
    if value < minimum or (strict and value == minimum):
        raise InputError(name, value, f"{name} must be {'>' if strict else '>='} {minimum}")


# ----------------------------------------------------------------------------------------------- doses


@dataclass(frozen=True)
class SevenOhShare:
    """The highest 7-OH share of total alkaloids among lots used, with the lot and its certificate."""

    percent: float
    lot: str
    certificate: str

    def __post_init__(self) -> None:
        _finite("seven_oh_share_percent", self.percent)
        if self.percent > 100:
            raise InputError("seven_oh_share_percent", self.percent, "a share of total alkaloids is at most 100%")


@dataclass(frozen=True)
class ProductSevenOh:
    """A certified product used in the window with the highest 7-OH share of total alkaloids among its lots.

    The rules judge the share against the program's cap (``RuleConfig.seven_oh_cap_percent``); a flag stored with
    each dose at write time is never read, so a program's cap always decides.
    """

    product: str
    percent: float

    def __post_init__(self) -> None:
        _finite("seven_oh_share_percent", self.percent)
        if self.percent > 100:
            raise InputError("seven_oh_share_percent", self.percent, "a share of total alkaloids is at most 100%")


@dataclass(frozen=True)
class RecalledLot:
    """A lot used in the window that is under recall; ``notice`` is the recall notice (URL) when known."""

    lot: str
    product: str
    notice: str | None = None


@dataclass(frozen=True)
class DoseSummary:
    """Doses in the recent window (the adapter's window, normally the 7-day trend window)."""

    doses_in_window: int = 0
    unknown_potency_extract_products: tuple[str, ...] = ()
    """Products with at least one dose of an extract-type form without a certificate (potency unknown)."""
    max_seven_oh: SevenOhShare | None = None
    recalled_lots: tuple[RecalledLot, ...] = ()
    product_seven_oh: tuple[ProductSevenOh, ...] = ()
    """Certified products used, each with its highest 7-OH share (enhanced when above the program's cap)."""
    forms_used: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.doses_in_window, bool) or self.doses_in_window < 0:
            raise InputError("doses_in_window", self.doses_in_window, "doses_in_window must be >= 0")


# ---------------------------------------------------------------------------------------------- legal


@dataclass(frozen=True)
class ProductLegal:
    """``evaluate_product`` for one product used, in the patient's jurisdiction on ``as_of``."""

    product: str
    evaluation: ProductEvaluation
    evidence_as_of: dt.date | None = None
    """as_of of the jurisdiction record behind the evaluation (from the knowledge)."""


# ---------------------------------------------------------------------------------------- assessments


@dataclass(frozen=True)
class Assessment:
    """Latest administration of one instrument, with the previous total for change rules (SOWS rise)."""

    instrument_id: str
    total: float | None
    answers: tuple[int | None, ...]
    flags: tuple[str, ...]
    administered_at: dt.datetime
    previous_total: float | None = None
    previous_administered_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        _finite(f"{self.instrument_id}.total", self.total)
        _finite(f"{self.instrument_id}.previous_total", self.previous_total)

    @classmethod
    def from_score(
        cls,
        result: ScoreResult,
        administered_at: dt.datetime,
        *,
        previous: ScoreResult | None = None,
        previous_administered_at: dt.datetime | None = None,
    ) -> Assessment:
        """Build from scored results (``core.instruments.score``)."""
        total = result.total
        prev_total = previous.total if previous is not None else None
        return cls(
            instrument_id=result.instrument_id,
            total=None if total is None else float(total),
            answers=result.answers,
            flags=result.flag_ids,
            administered_at=administered_at,
            previous_total=None if prev_total is None else float(prev_total),
            previous_administered_at=previous_administered_at,
        )


# ------------------------------------------------------------------------------------ adverse events


@dataclass(frozen=True)
class AdverseEvent:
    id: str
    term: str
    onset: dt.date
    grade: int | None = None
    """CTCAE v5 grade 1-5, when graded."""
    seriousness: tuple[SeriousnessCriterion, ...] = ()

    def __post_init__(self) -> None:
        if self.grade is not None and (isinstance(self.grade, bool) or self.grade not in (1, 2, 3, 4, 5)):
            raise InputError("grade", self.grade, "CTCAE grade must be 1-5")
        for criterion in self.seriousness:
            if criterion not in SERIOUSNESS_CRITERIA:
                raise InputError("seriousness", criterion, f"unknown ICH E2A criterion {criterion!r}")


# ---------------------------------------------------------------------------------------------- labs


@dataclass(frozen=True)
class LabValue:
    value: float
    uln: float
    """Upper limit of normal of the reporting laboratory, same unit as ``value``."""
    observed_on: dt.date

    def __post_init__(self) -> None:
        _finite("value", self.value)
        _finite("uln", self.uln, strict=True)

    @property
    def times_uln(self) -> float:
        return self.value / self.uln


@dataclass(frozen=True)
class Labs:
    alt: LabValue | None = None
    ast: LabValue | None = None
    bilirubin: LabValue | None = None
    """Total bilirubin."""
    qtc_ms: float | None = None
    qtc_on: dt.date | None = None
    qtc_baseline_ms: float | None = None
    qtc_baseline_on: dt.date | None = None
    alp: LabValue | None = None
    """Alkaline phosphatase."""
    sodium_mmol_l: float | None = None
    """The latest serum sodium, mmol/L."""
    sodium_on: dt.date | None = None

    def __post_init__(self) -> None:
        _finite("qtc_ms", self.qtc_ms, strict=True)
        _finite("sodium_mmol_l", self.sodium_mmol_l, strict=True)
        _finite("qtc_baseline_ms", self.qtc_baseline_ms, strict=True)


# ---------------------------------------------------------------------------------------------- pain


@dataclass(frozen=True)
class PainTrajectory:
    """Pain intensity (0-10 NRS or PEG) at the program baseline and at the latest assessment."""

    instrument_id: str
    baseline_on: dt.date
    baseline_value: float
    latest_on: dt.date
    latest_value: float

    def __post_init__(self) -> None:
        _finite("baseline_value", self.baseline_value)
        _finite("latest_value", self.latest_value)
        if self.latest_on < self.baseline_on:
            raise InputError("latest_on", self.latest_on.isoformat(), "latest pain value precedes the baseline")


@dataclass(frozen=True)
class OverdueSchedule:
    instrument_id: str
    days_overdue: int
    due_on: dt.date | None = None

    def __post_init__(self) -> None:
        if isinstance(self.days_overdue, bool) or self.days_overdue < 0:
            raise InputError("days_overdue", self.days_overdue, "days_overdue must be >= 0")


# ------------------------------------------------------------------------------------------ snapshot


@dataclass(frozen=True)
class PatientSnapshot:
    patient_code: str
    as_of: dt.date
    jurisdiction: str
    """ISO 3166-1 alpha-2 or ISO 3166-2 code of where the patient lives."""
    pregnant: bool = False
    breastfeeding: bool = False
    history: tuple[str, ...] = ()
    """Other active history flags (``liver_disease``, ``seizure_disorder``, ``cardiac_qt``, ...)."""
    contraindications: tuple[ContraindicationRule, ...] = ()
    """The curated record of each active history flag (``core.screening.contraindications.contraindication_rules``):
    summary, management, severity, sources and as-of date. A flag in ``history`` without a record here is still
    flagged, as a program setting."""
    trend: Trend | None = None
    doses: DoseSummary = field(default_factory=DoseSummary)
    medications: ScreeningResult | None = None
    legal_status: LegalStatusResult | None = None
    product_legal: tuple[ProductLegal, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = ()
    labs: Labs = field(default_factory=Labs)
    pain: PainTrajectory | None = None
    overdue: tuple[OverdueSchedule, ...] = ()

    def __post_init__(self) -> None:
        if not self.patient_code:
            raise InputError("patient_code", self.patient_code, "patient_code is required")
        if self.trend is not None and self.trend.as_of != self.as_of:
            raise InputError(
                "trend.as_of", self.trend.as_of.isoformat(), f"trend is as of a different date than {self.as_of}"
            )

    def assessment(self, instrument_id: str) -> Assessment | None:
        """The latest administration of ``instrument_id`` (the most recent if several are given)."""
        matches = [a for a in self.assessments if a.instrument_id == instrument_id]
        return max(matches, key=lambda a: a.administered_at) if matches else None

    @property
    def uses_kratom(self) -> bool:
        """Any dose in the recent window, or any exposure in the 7-day trend."""
        if self.doses.doses_in_window > 0:
            return True
        return self.trend is not None and (self.trend.recent_doses_per_day > 0 or self.trend.recent_mean_mg > 0)
