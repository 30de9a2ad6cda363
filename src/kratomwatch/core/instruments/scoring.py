"""Score answers against an instrument definition.

``score(definition, answers, *, missing_policy=None, supervised=False)`` validates every answer against the
item's allowed values, computes every scale (total and sub-scores) at full precision (ints for sums and
counts, floats for means; no rounding here, see :func:`format_value`), attaches the severity band of each
valid banded scale, raises flags, and reports validity with reasons and answered/missing counts.

Nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from kratomwatch.core.instruments.errors import (
    AnswerOutOfRange,
    UnknownScale,
    UnsupportedMissingPolicy,
    WrongAnswerCount,
)
from kratomwatch.core.instruments.schema import (
    Aggregation,
    FlagKind,
    FlagRule,
    InstrumentDefinition,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

Answer = int | None
"""One answer: the item's numeric score, or None for a blank."""


class BandResult(BaseModel):
    model_config = _FROZEN

    id: str
    label: str
    basis: ThresholdBasis


class ScaleScore(BaseModel):
    """One computed scale. ``value`` is None when the scale is invalid."""

    model_config = _FROZEN

    scale_id: str
    label: str
    value: int | float | None
    valid: bool
    reasons: tuple[str, ...]
    """Why the scale is invalid (empty when valid)."""
    notes: tuple[str, ...]
    """Information that does not invalidate the score (prorating, supervised exclusions)."""
    counted_items: int
    answered: int
    missing: int
    prorated: bool
    score_min: float
    score_max: float
    band: BandResult | None


class Flag(BaseModel):
    model_config = _FROZEN

    id: str
    label: str
    reason: str
    basis: ThresholdBasis


class ScoreResult(BaseModel):
    model_config = _FROZEN

    instrument_id: str
    instrument_version: str
    missing_policy: MissingPolicy
    supervised: bool
    answers: tuple[Answer, ...]
    answered: int
    missing: int
    primary_scale_id: str
    scales: tuple[ScaleScore, ...]
    flags: tuple[Flag, ...]
    valid: bool
    """True when every scale of the instrument could be computed."""
    reasons: tuple[str, ...]
    notes: tuple[str, ...]

    def scale(self, scale_id: str) -> ScaleScore:
        for scale in self.scales:
            if scale.scale_id == scale_id:
                return scale
        raise UnknownScale(self.instrument_id, scale_id, [s.scale_id for s in self.scales])

    @property
    def primary(self) -> ScaleScore:
        return self.scale(self.primary_scale_id)

    @property
    def total(self) -> int | float | None:
        """Value of the primary scale (None when it is invalid)."""
        return self.primary.value

    @property
    def band(self) -> BandResult | None:
        return self.primary.band

    @property
    def flag_ids(self) -> tuple[str, ...]:
        return tuple(flag.id for flag in self.flags)

    def has_flag(self, flag_id: str) -> bool:
        return flag_id in self.flag_ids


def check_answers(definition: InstrumentDefinition, answers: Sequence[Answer]) -> tuple[Answer, ...]:
    """Validate count and values of ``answers`` (item order); return them as a tuple.

    Raises WrongAnswerCount or AnswerOutOfRange (which names the item, its position and the value).
    """
    if len(answers) != len(definition.items):
        raise WrongAnswerCount(definition.id, len(definition.items), len(answers))
    checked: list[Answer] = []
    for position, (item, answer) in enumerate(zip(definition.items, answers, strict=True), start=1):
        if answer is None:
            checked.append(None)
            continue
        # bool is an int subclass; True must not silently score as 1.
        if isinstance(answer, bool) or not isinstance(answer, int) or answer not in item.allowed_values:
            raise AnswerOutOfRange(definition.id, item.id, position, answer, item.allowed_values)
        checked.append(answer)
    return tuple(checked)


def score(
    definition: InstrumentDefinition,
    answers: Sequence[Answer],
    *,
    missing_policy: MissingPolicy | None = None,
    supervised: bool = False,
) -> ScoreResult:
    """Score ``answers`` (one per item, in item order, None for a blank).

    ``missing_policy`` defaults to the definition's declared default; a policy the definition does not
    support raises UnsupportedMissingPolicy. ``supervised`` drops the items a scale excludes when the
    substance is taken solely under appropriate medical supervision (DSM-5 tolerance and withdrawal); it
    has no effect on instruments without such exclusions.
    """
    supported = [p.value for p in definition.supported_missing_policies]
    if missing_policy is None:
        policy = definition.default_missing_policy
    else:
        try:
            policy = MissingPolicy(missing_policy)
        except ValueError:
            raise UnsupportedMissingPolicy(definition.id, str(missing_policy), supported) from None
    if policy not in definition.supported_missing_policies:
        raise UnsupportedMissingPolicy(definition.id, policy.value, supported)
    checked = check_answers(definition, answers)
    by_id = {item.id: answer for item, answer in zip(definition.items, checked, strict=True)}

    scales = tuple(_score_scale(definition, rule, by_id, policy, supervised) for rule in definition.scales)
    scale_by_id = {scale.scale_id: scale for scale in scales}
    flags = tuple(
        flag
        for rule in definition.flag_rules
        if (flag := _evaluate_flag(definition, rule, by_id, scale_by_id)) is not None
    )
    answered = sum(answer is not None for answer in checked)
    reasons = tuple(f"{s.scale_id}: {reason}" for s in scales for reason in s.reasons)
    notes = tuple(f"{s.scale_id}: {note}" for s in scales for note in s.notes)
    return ScoreResult(
        instrument_id=definition.id,
        instrument_version=definition.version,
        missing_policy=policy,
        supervised=supervised,
        answers=checked,
        answered=answered,
        missing=len(checked) - answered,
        primary_scale_id=definition.primary_scale_id,
        scales=scales,
        flags=flags,
        valid=all(s.valid for s in scales),
        reasons=reasons,
        notes=notes,
    )


def _score_scale(
    definition: InstrumentDefinition,
    rule: ScaleRule,
    by_id: dict[str, Answer],
    policy: MissingPolicy,
    supervised: bool,
) -> ScaleScore:
    counted = rule.counted_item_ids(supervised=supervised)
    low, high = definition.score_range(rule.id, supervised=supervised)
    notes: list[str] = []
    if supervised and rule.excluded_when_supervised:
        notes.append("supervised use: not counted: " + ", ".join(rule.excluded_when_supervised))
        if rule.supervised_warning:
            notes.append(rule.supervised_warning)
    answered = [(item_id, by_id[item_id]) for item_id in counted if by_id[item_id] is not None]
    missing = [item_id for item_id in counted if by_id[item_id] is None]
    values = [answer for _, answer in answered if answer is not None]

    value: int | float | None = None
    reasons: list[str] = []
    prorated = False
    if not missing:
        value = _aggregate(rule, answered)
    elif policy is MissingPolicy.PRORATE and rule.prorate_min_answered is not None:
        if len(values) >= rule.prorate_min_answered:
            value = sum(values) / len(values)
            prorated = True
            notes.append(
                f"prorated: mean of {len(values)} of {len(counted)} answered items "
                f"(published minimum {rule.prorate_min_answered})"
            )
        else:
            reasons.append(
                f"only {len(values)} of {len(counted)} items answered; prorating needs at least "
                f"{rule.prorate_min_answered} (missing: {_describe(definition, missing)})"
            )
    else:
        reasons.append(f"unanswered items: {_describe(definition, missing)} (policy {policy.value})")

    band = None
    if value is not None:
        for candidate in rule.bands:
            if candidate.low <= value <= candidate.high:
                band = BandResult(id=candidate.id, label=candidate.label, basis=candidate.basis)
                break
    return ScaleScore(
        scale_id=rule.id,
        label=rule.label,
        value=value,
        valid=value is not None,
        reasons=tuple(reasons),
        notes=tuple(notes),
        counted_items=len(counted),
        answered=len(values),
        missing=len(missing),
        prorated=prorated,
        score_min=low,
        score_max=high,
        band=band,
    )


def _aggregate(rule: ScaleRule, answered: list[tuple[str, Answer]]) -> int | float:
    values = [answer for _, answer in answered if answer is not None]
    if rule.aggregation is Aggregation.SUM:
        return sum(values)
    if rule.aggregation is Aggregation.MEAN:
        return sum(values) / len(values)
    return sum(1 for item_id, answer in answered if answer is not None and answer >= rule.threshold_for(item_id))


def _describe(definition: InstrumentDefinition, item_ids: Sequence[str]) -> str:
    return ", ".join(f"{item_id} (position {definition.position_of(item_id)})" for item_id in item_ids)


def _evaluate_flag(
    definition: InstrumentDefinition,
    rule: FlagRule,
    by_id: dict[str, Answer],
    scales: dict[str, ScaleScore],
) -> Flag | None:
    if rule.kind is FlagKind.ITEM_AT_OR_ABOVE:
        answer = by_id[rule.target_id]
        position = definition.position_of(rule.target_id)
        if answer is None:
            if not rule.flag_when_unanswered:
                return None
            return Flag(
                id=f"{rule.id}_unassessed",
                label=f"{rule.label}: item left blank",
                reason=f"item {rule.target_id} (position {position}) is unanswered, so this cannot be ruled out",
                basis=rule.basis,
            )
        if answer >= rule.at_or_above:
            return Flag(
                id=rule.id,
                label=rule.label,
                reason=f"item {rule.target_id} (position {position}) = {answer} (>= {_number(rule.at_or_above)})",
                basis=rule.basis,
            )
        return None
    scale = scales[rule.target_id]
    if scale.value is not None and scale.value >= rule.at_or_above:
        return Flag(
            id=rule.id,
            label=rule.label,
            reason=f"{scale.scale_id} = {scale.value} (>= {_number(rule.at_or_above)})",
            basis=rule.basis,
        )
    return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def format_value(value: int | float | None, decimals: int = 1) -> str:
    """Display helper: the only place where a score is rounded. Integers print as they are, floats with
    ``decimals`` places, None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{decimals}f}"
