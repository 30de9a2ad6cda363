"""Frozen, validated schema of an outcome-instrument definition.

A definition is data: items with their allowed answers, the scales computed from them (totals and
sub-scores), severity bands, flags, the clinically important change, LOINC codes, the licence and the
sources every clinical fact was read in. The validators below refuse a definition that could score
wrongly: bands that leave a gap or overlap, a LOINC code whose check digit is wrong, a flag on an item
that does not exist, a prorating rule on a scale that cannot be prorated, a citation without a PMID,
DOI or URL, and so on. Models are pydantic v2, ``frozen=True`` and ``extra="forbid"``.

The software measures, screens, flags and cites; nothing in a definition recommends a dose.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from kratomwatch.core.instruments.errors import UnknownScale

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_ID = r"^[a-z][a-z0-9_]*$"
_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_PMID = re.compile(r"^[1-9]\d{0,8}$")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_URL = re.compile(r"^https?://\S+$")


def loinc_check_digit(payload: str) -> int:
    """Mod-10 (Luhn) check digit LOINC uses for the part of a code before the hyphen."""
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:  # rightmost digit and every second one to its left are doubled
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid_loinc(code: str) -> bool:
    """True when ``code`` has LOINC's shape ``NNNNN-C`` and a correct check digit ``C``."""
    match = _LOINC.match(code)
    if match is None:
        return False
    return loinc_check_digit(match.group(1)) == int(match.group(2))


def _check_loinc(code: str) -> str:
    if not is_valid_loinc(code):
        raise ValueError(f"{code!r} is not a LOINC code with a valid check digit")
    return code


LoincCode = Annotated[str, AfterValidator(_check_loinc)]
"""A LOINC code whose shape and check digit have been verified."""


class MissingPolicy(StrEnum):
    """What to do with unanswered items. Always passed explicitly or taken from the definition."""

    REQUIRE_ALL = "require_all"
    """Any unanswered item of a scale makes that scale invalid (no value)."""
    PRORATE = "prorate"
    """Use the published prorating rule of a scale (e.g. BPI interference: mean of answered items when
    at least 4 of 7 are answered). Only allowed where a definition declares such a rule."""


class Aggregation(StrEnum):
    """How a scale turns item answers into a score."""

    SUM = "sum"
    MEAN = "mean"
    COUNT_AT_OR_ABOVE = "count_at_or_above"
    """Number of items whose answer is at or above that item's threshold (e.g. ASRS shaded boxes)."""


class ThresholdBasis(StrEnum):
    """Where a cut-off, band or change threshold comes from; shown next to every threshold."""

    VALIDATED = "validated"
    """Cut-off derived or tested against a reference standard in the cited study."""
    AUTHOR_DEFINED = "author_defined"
    """Interpretive bands or rules published by the instrument's authors or manual; the categories
    themselves were not validated against an external standard."""
    CONSENSUS = "consensus"
    """Expert-consensus benchmark (e.g. IMMPACT)."""
    CONVENTIONAL = "conventional"
    """A convention in use, not validated; the accompanying note says what it rests on."""


class Citation(BaseModel):
    """A source that was read to confirm a fact, with the date it was read (as_of)."""

    model_config = _FROZEN

    label: str = Field(min_length=1)
    supports: str = Field(min_length=1, description="Which facts of the definition this source confirms.")
    as_of: date
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None

    @field_validator("pmid")
    @classmethod
    def _pmid_shape(cls, value: str | None) -> str | None:
        if value is not None and not _PMID.match(value):
            raise ValueError(f"PMID {value!r} must be 1-9 digits")
        return value

    @field_validator("doi")
    @classmethod
    def _doi_shape(cls, value: str | None) -> str | None:
        if value is not None and not _DOI.match(value):
            raise ValueError(f"DOI {value!r} must look like 10.NNNN/suffix")
        return value

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise ValueError(f"URL {value!r} must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _has_locator(self) -> Self:
        if self.pmid is None and self.doi is None and self.url is None:
            raise ValueError(f"citation {self.label!r} needs a PMID, a DOI or a URL")
        return self


class AnswerOption(BaseModel):
    """One allowed answer: the number scored and its label."""

    model_config = _FROZEN

    value: int
    label: str = Field(min_length=1)


class Item(BaseModel):
    """One item. ``text`` is the verbatim wording, or None when the licence forbids shipping it;
    ``label`` is always a short identifier or paraphrase that may be shipped."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    text: str | None = None
    options: tuple[AnswerOption, ...] = Field(min_length=1)
    loinc: LoincCode | None = None

    @field_validator("options")
    @classmethod
    def _strictly_increasing(cls, options: tuple[AnswerOption, ...]) -> tuple[AnswerOption, ...]:
        values = [option.value for option in options]
        if any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError(f"answer values must be strictly increasing, got {values}")
        return options

    @property
    def allowed_values(self) -> tuple[int, ...]:
        return tuple(option.value for option in self.options)

    @property
    def min_value(self) -> int:
        return self.options[0].value

    @property
    def max_value(self) -> int:
        return self.options[-1].value

    def label_for(self, value: int) -> str | None:
        """Label of an answer value, or None when the value is not allowed."""
        for option in self.options:
            if option.value == value:
                return option.label
        return None


class ItemThreshold(BaseModel):
    """Per-item threshold of a COUNT_AT_OR_ABOVE scale."""

    model_config = _FROZEN

    item_id: str = Field(pattern=_ID)
    at_or_above: int


class Band(BaseModel):
    """A severity band, inclusive at both ends, on an integer-valued scale."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    low: int
    high: int
    basis: ThresholdBasis
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low > self.high:
            raise ValueError(f"band {self.id}: low {self.low} is above high {self.high}")
        return self


class ImportantChange(BaseModel):
    """Clinically important change for one scale. Every scale here is scored so that a lower value is
    better, so an improvement is a decrease of at least ``points``."""

    model_config = _FROZEN

    points: float = Field(gt=0)
    basis: ThresholdBasis
    citation: Citation
    note: str | None = None


class ScaleRule(BaseModel):
    """A score computed from items: a total, or a sub-score such as BPI interference or ASRS Part A."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    item_ids: tuple[str, ...] = Field(min_length=1)
    aggregation: Aggregation
    thresholds: tuple[ItemThreshold, ...] = ()
    prorate_min_answered: int | None = Field(default=None, ge=1)
    """Published prorating rule: under MissingPolicy.PRORATE the scale is the mean of the answered items
    when at least this many are answered. None means the scale is never prorated."""
    excluded_when_supervised: tuple[str, ...] = ()
    """Items not counted when the substance is taken solely under appropriate medical supervision."""
    supervised_warning: str | None = None
    """Shown in the score's notes whenever ``supervised`` drops items: what the exclusion covers."""
    bands: tuple[Band, ...] = ()
    important_change: ImportantChange | None = None
    immpact_pain_intensity: bool = False
    """True for a 0-10 pain-intensity rating, to which IMMPACT percent-reduction categories apply."""
    loinc: LoincCode | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.item_ids)) != len(self.item_ids):
            raise ValueError(f"scale {self.id}: an item is listed twice")
        threshold_ids = [t.item_id for t in self.thresholds]
        if self.aggregation is Aggregation.COUNT_AT_OR_ABOVE:
            if sorted(threshold_ids) != sorted(self.item_ids):
                raise ValueError(f"scale {self.id}: a count scale needs exactly one threshold per item")
        elif self.thresholds:
            raise ValueError(f"scale {self.id}: thresholds are only meaningful on a count scale")
        if self.prorate_min_answered is not None:
            if self.aggregation is not Aggregation.MEAN:
                raise ValueError(f"scale {self.id}: only a mean can be prorated")
            if self.prorate_min_answered > len(self.item_ids):
                raise ValueError(f"scale {self.id}: prorating minimum exceeds the number of items")
        unknown = set(self.excluded_when_supervised) - set(self.item_ids)
        if unknown:
            raise ValueError(f"scale {self.id}: supervised exclusions {sorted(unknown)} are not its items")
        if len(set(self.excluded_when_supervised)) >= len(self.item_ids):
            raise ValueError(f"scale {self.id}: supervision cannot exclude every item")
        if self.bands and self.aggregation is Aggregation.MEAN:
            raise ValueError(f"scale {self.id}: bands are only defined on integer-valued scales")
        if len({band.id for band in self.bands}) != len(self.bands):
            raise ValueError(f"scale {self.id}: band ids must be unique")
        return self

    def counted_item_ids(self, *, supervised: bool = False) -> tuple[str, ...]:
        """Items that count towards the score (supervision removes tolerance/withdrawal-type items)."""
        if not supervised:
            return self.item_ids
        excluded = set(self.excluded_when_supervised)
        return tuple(item_id for item_id in self.item_ids if item_id not in excluded)

    def threshold_for(self, item_id: str) -> int:
        for threshold in self.thresholds:
            if threshold.item_id == item_id:
                return threshold.at_or_above
        raise KeyError(item_id)


class FlagKind(StrEnum):
    ITEM_AT_OR_ABOVE = "item_at_or_above"
    SCALE_AT_OR_ABOVE = "scale_at_or_above"


class FlagRule(BaseModel):
    """A flag raised from one item (e.g. PHQ-9 item 9 > 0, whatever the total) or from a valid scale
    score (e.g. DN4 total >= 4: ``screen_positive``). A flag screens; it never recommends anything."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    kind: FlagKind
    target_id: str = Field(pattern=_ID)
    at_or_above: float
    basis: ThresholdBasis
    citation: Citation
    flag_when_unanswered: bool = False
    """Item flags only: raise ``<id>_unassessed`` when the item is blank, since a blank cannot rule
    the condition out."""
    note: str | None = None

    @model_validator(mode="after")
    def _unanswered_only_for_items(self) -> Self:
        if self.flag_when_unanswered and self.kind is not FlagKind.ITEM_AT_OR_ABOVE:
            raise ValueError(f"flag {self.id}: flag_when_unanswered applies to item flags only")
        return self


class InstrumentDefinition(BaseModel):
    """A validated, immutable definition of one instrument."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    version: str = Field(min_length=1, description="Version of this definition (not of the instrument).")
    title: str = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)
    recall_period: str = Field(min_length=1)
    scales: tuple[ScaleRule, ...] = Field(min_length=1)
    primary_scale_id: str = Field(pattern=_ID)
    flag_rules: tuple[FlagRule, ...] = ()
    default_missing_policy: MissingPolicy
    supported_missing_policies: tuple[MissingPolicy, ...] = Field(min_length=1)
    missing_policy_note: str = Field(min_length=1)
    loinc_panel: LoincCode | None = None
    licence: str = Field(min_length=1)
    citations: tuple[Citation, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()
    not_confirmed: tuple[str, ...] = ()
    """Facts that were looked for and could not be confirmed in a source, and are therefore left out."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        item_ids = [item.id for item in self.items]
        if len(set(item_ids)) != len(item_ids):
            raise ValueError(f"{self.id}: item ids must be unique")
        scale_ids = [scale.id for scale in self.scales]
        if len(set(scale_ids)) != len(scale_ids):
            raise ValueError(f"{self.id}: scale ids must be unique")
        if self.primary_scale_id not in scale_ids:
            raise ValueError(f"{self.id}: primary scale {self.primary_scale_id!r} is not defined")
        items = {item.id: item for item in self.items}
        covered: set[str] = set()
        for scale in self.scales:
            unknown = [item_id for item_id in scale.item_ids if item_id not in items]
            if unknown:
                raise ValueError(f"{self.id}: scale {scale.id} refers to unknown items {unknown}")
            covered.update(scale.item_ids)
            for threshold in scale.thresholds:
                item = items[threshold.item_id]
                if threshold.at_or_above not in item.allowed_values:
                    raise ValueError(
                        f"{self.id}: scale {scale.id} threshold {threshold.at_or_above} for item "
                        f"{item.id} is not one of its answers {item.allowed_values}"
                    )
            if scale.bands:
                self._check_bands(scale, items)
        orphans = [item_id for item_id in item_ids if item_id not in covered]
        if orphans:
            raise ValueError(f"{self.id}: items {orphans} belong to no scale")
        for rule in self.flag_rules:
            self._check_flag(rule, items)
        policies = list(self.supported_missing_policies)
        if len(set(policies)) != len(policies):
            raise ValueError(f"{self.id}: supported missing policies are listed twice")
        if self.default_missing_policy not in policies:
            raise ValueError(f"{self.id}: default missing policy must be one of the supported ones")
        if MissingPolicy.PRORATE in policies and not any(
            scale.prorate_min_answered is not None for scale in self.scales
        ):
            raise ValueError(f"{self.id}: PRORATE is supported but no scale has a prorating rule")
        return self

    def _check_bands(self, scale: ScaleRule, items: dict[str, Item]) -> None:
        low, high = _bounds(scale, items, supervised=False)
        bands = sorted(scale.bands, key=lambda band: band.low)
        if bands[0].low != low or bands[-1].high != high:
            raise ValueError(
                f"{self.id}: bands of {scale.id} cover {bands[0].low}..{bands[-1].high}, "
                f"but the scale ranges {low}..{high}"
            )
        for previous, following in itertools.pairwise(bands):
            if following.low != previous.high + 1:
                raise ValueError(
                    f"{self.id}: bands {previous.id} ({previous.low}..{previous.high}) and {following.id} "
                    f"({following.low}..{following.high}) of {scale.id} leave a gap or overlap"
                )

    def _check_flag(self, rule: FlagRule, items: dict[str, Item]) -> None:
        if rule.kind is FlagKind.ITEM_AT_OR_ABOVE:
            item = items.get(rule.target_id)
            if item is None:
                raise ValueError(f"{self.id}: flag {rule.id} refers to unknown item {rule.target_id}")
            if not item.min_value < rule.at_or_above <= item.max_value:
                raise ValueError(f"{self.id}: flag {rule.id} threshold is outside item {item.id}'s answers")
        else:
            scales = {scale.id: scale for scale in self.scales}
            scale = scales.get(rule.target_id)
            if scale is None:
                raise ValueError(f"{self.id}: flag {rule.id} refers to unknown scale {rule.target_id}")
            low, high = _bounds(scale, items, supervised=False)
            if not low < rule.at_or_above <= high:
                raise ValueError(f"{self.id}: flag {rule.id} threshold is outside scale {scale.id}'s range")

    # -- lookups ---------------------------------------------------------------------------------

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def position_of(self, item_id: str) -> int:
        """1-based position of an item in answer order."""
        for position, item in enumerate(self.items, start=1):
            if item.id == item_id:
                return position
        raise KeyError(item_id)

    def scale(self, scale_id: str) -> ScaleRule:
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        raise UnknownScale(self.id, scale_id, [scale.id for scale in self.scales])

    @property
    def primary_scale(self) -> ScaleRule:
        return self.scale(self.primary_scale_id)

    def score_range(self, scale_id: str, *, supervised: bool = False) -> tuple[float, float]:
        """Lowest and highest score the scale can take (integers for sums and counts)."""
        items = {item.id: item for item in self.items}
        return _bounds(self.scale(scale_id), items, supervised=supervised)

    @property
    def ships_item_text(self) -> bool:
        return any(item.text is not None for item in self.items)


def _bounds(scale: ScaleRule, items: dict[str, Item], *, supervised: bool) -> tuple[int, int]:
    """Range of a scale. For a mean the range is min/max over its items, which also bounds any
    prorated mean of a subset of them."""
    counted = [items[item_id] for item_id in scale.counted_item_ids(supervised=supervised)]
    if scale.aggregation is Aggregation.SUM:
        return sum(item.min_value for item in counted), sum(item.max_value for item in counted)
    if scale.aggregation is Aggregation.MEAN:
        return min(item.min_value for item in counted), max(item.max_value for item in counted)
    return 0, len(counted)
