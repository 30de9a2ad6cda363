"""A program's settings: the alert thresholds and the dose-conversion choices, each documented as published or
a program setting.

A program admin may change any field; a deployment sets the defaults from the environment
(``kratomwatch.accounts.program_settings``). A field whose default is published evidence (IMMPACT 30%, the 2%
7-OH cap) stays "published" only while it keeps the published value; changed, it becomes a program setting
and findings say so (:meth:`RuleConfig.is_program_setting`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from kratomwatch.core.errors import InputError
from kratomwatch.core.rules import sources as src
from kratomwatch.core.rules.findings import PROGRAM_SETTING


@dataclass(frozen=True)
class ThresholdDoc:
    """What a threshold means and where it comes from (``sources`` empty = program setting)."""

    description: str
    sources: tuple[str, ...] = ()
    published_value: float | None = None
    as_of: dt.date = src.EVIDENCE_AS_OF

    @property
    def basis(self) -> str:
        return "published" if self.sources else PROGRAM_SETTING


THRESHOLD_DOCS: Mapping[str, ThresholdDoc] = MappingProxyType(
    {
        "escalation_ratio": ThresholdDoc(
            "7-day mean mg/day divided by the 28-day baseline at or above which use is escalating"
        ),
        "min_baseline_mg": ThresholdDoc(
            "28-day baseline mean mg/day below which the ratio is not judged (too little use)"
        ),
        "gap_shrink_fraction": ThresholdDoc(
            "fraction by which the recent mean inter-dose gap is shorter than the baseline gap"
        ),
        "first_dose_earlier_minutes": ThresholdDoc(
            "minutes by which the recent mean first-dose time is earlier than the baseline mean"
        ),
        "sows_rise_points": ThresholdDoc("rise of the SOWS total from the previous administration"),
        "no_benefit_weeks": ThresholdDoc("weeks after the pain baseline before benefit is judged (program default: 8)"),
        "no_benefit_percent": ThresholdDoc(
            "pain reduction from baseline (percent) that counts as moderately important (IMMPACT)",
            src.IMMPACT,
            30.0,
        ),
        "missed_followup_grace_days": ThresholdDoc("days a scheduled questionnaire may be overdue before an alert"),
        "missed_followup_moderate_days": ThresholdDoc("days overdue at which a missed follow-up becomes moderate"),
        "seven_oh_cap_percent": ThresholdDoc(
            "7-OH share of total alkaloids above which a product is enhanced (Kratom Consumer Protection Acts)",
            src.SEVEN_OH_CAP,
            2.0,
        ),
        "grams_per_teaspoon": ThresholdDoc(
            "grams of powder in a level teaspoon, for lots without their own calibration (doses are 'estimated')"
        ),
        "grams_per_teaspoon_low": ThresholdDoc("low end of the grams-per-teaspoon range for uncalibrated lots"),
        "grams_per_teaspoon_high": ThresholdDoc("high end of the grams-per-teaspoon range for uncalibrated lots"),
        "nof1_adherence_tolerance_percent": ThresholdDoc(
            "percent by which an n-of-1 period's measured mg/day may differ from its target before it is shown as a"
            " deviation"
        ),
    }
)


def _positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise InputError(name, value, f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}")


@dataclass(frozen=True)
class RuleConfig:
    """Thresholds a program may configure. Defaults: see :data:`THRESHOLD_DOCS` and docs/alerts.md."""

    escalation_ratio: float = 1.5
    min_baseline_mg: float = 10.0
    gap_shrink_fraction: float = 0.25
    first_dose_earlier_minutes: float = 60.0
    sows_rise_points: float = 10.0
    no_benefit_weeks: int = 8
    no_benefit_percent: float = 30.0
    missed_followup_grace_days: int = 3
    missed_followup_moderate_days: int = 14
    seven_oh_cap_percent: float = 2.0
    grams_per_teaspoon: float = 2.5
    grams_per_teaspoon_low: float = 1.5
    grams_per_teaspoon_high: float = 3.5
    nof1_adherence_tolerance_percent: float = 20.0

    def __post_init__(self) -> None:
        _positive("escalation_ratio", self.escalation_ratio)
        if self.escalation_ratio <= 1:
            raise InputError("escalation_ratio", self.escalation_ratio, "escalation_ratio must be above 1")
        _positive("min_baseline_mg", self.min_baseline_mg, allow_zero=True)
        _positive("gap_shrink_fraction", self.gap_shrink_fraction)
        if self.gap_shrink_fraction >= 1:
            raise InputError("gap_shrink_fraction", self.gap_shrink_fraction, "gap_shrink_fraction must be below 1")
        _positive("first_dose_earlier_minutes", self.first_dose_earlier_minutes)
        _positive("sows_rise_points", self.sows_rise_points)
        _positive("no_benefit_weeks", self.no_benefit_weeks)
        _positive("no_benefit_percent", self.no_benefit_percent)
        if self.no_benefit_percent > 100:
            raise InputError("no_benefit_percent", self.no_benefit_percent, "no_benefit_percent must be at most 100")
        _positive("missed_followup_grace_days", self.missed_followup_grace_days, allow_zero=True)
        _positive("missed_followup_moderate_days", self.missed_followup_moderate_days)
        if self.missed_followup_moderate_days <= self.missed_followup_grace_days:
            raise InputError(
                "missed_followup_moderate_days",
                self.missed_followup_moderate_days,
                "missed_followup_moderate_days must be above missed_followup_grace_days",
            )
        _positive("seven_oh_cap_percent", self.seven_oh_cap_percent)
        if self.seven_oh_cap_percent > 100:
            raise InputError("seven_oh_cap_percent", self.seven_oh_cap_percent, "seven_oh_cap_percent must be <= 100")
        for name in ("grams_per_teaspoon", "grams_per_teaspoon_low", "grams_per_teaspoon_high"):
            _positive(name, getattr(self, name))
        if not self.grams_per_teaspoon_low <= self.grams_per_teaspoon <= self.grams_per_teaspoon_high:
            raise InputError(
                "grams_per_teaspoon",
                self.grams_per_teaspoon,
                f"grams_per_teaspoon must lie between grams_per_teaspoon_low ({self.grams_per_teaspoon_low}) "
                f"and grams_per_teaspoon_high ({self.grams_per_teaspoon_high})",
            )
        _positive("nof1_adherence_tolerance_percent", self.nof1_adherence_tolerance_percent)
        if self.nof1_adherence_tolerance_percent > 100:
            raise InputError(
                "nof1_adherence_tolerance_percent",
                self.nof1_adherence_tolerance_percent,
                "nof1_adherence_tolerance_percent must be at most 100",
            )
        if self.grams_per_teaspoon_high > 20:  # the same plausibility bound as a lot's calibration (core.units)
            raise InputError(
                "grams_per_teaspoon_high", self.grams_per_teaspoon_high, "grams_per_teaspoon_high must be at most 20"
            )

    def is_program_setting(self, name: str) -> bool:
        """True when ``name`` has no published basis, or its published value was changed by the program."""
        doc = THRESHOLD_DOCS[name]
        if not doc.sources:
            return True
        return float(getattr(self, name)) != doc.published_value

    def citation(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(sources, program_settings) to attach to a finding that used threshold ``name``."""
        if self.is_program_setting(name):
            return (), (name,)
        return THRESHOLD_DOCS[name].sources, ()
