"""The one home for program settings: every value that is a program's choice rather than published evidence.

A setting's value for a program is, in order: the program's own override (``ProgramSettings``, set by a program
admin through ``alerts.actions.set_rule_config`` or ``PUT /programs/{id}/rule-config``), else the deployment's
default from the environment, else the built-in default of :class:`kratomwatch.core.rules.RuleConfig`.

| setting | environment default |
|---|---|
| ``seven_oh_cap_percent`` | ``KRATOMWATCH_SEVEN_OH_CAP`` (2.0, the cap of the Kratom Consumer Protection Acts) |
| ``grams_per_teaspoon`` (``_low``, ``_high``) | ``KRATOMWATCH_G_PER_TSP`` (``_LOW``, ``_HIGH``): 2.5 (1.5-3.5) |
| ``missed_followup_grace_days`` | ``KRATOMWATCH_ASSESSMENT_GRACE_DAYS`` (3): days a questionnaire may be overdue |
| every other alert threshold | the built-in default (docs/alerts.md) |

The dose write path, the alert rules, the questionnaire schedules, the pages and the exports all read from here,
so they agree. A value derived from a setting and stored (a dose's mg from the teaspoon default, its
``enhanced`` flag) is recomputed when the program changes that setting (``records.actions.reapply_program_settings``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from kratomwatch.core.errors import InputError
from kratomwatch.core.rules import THRESHOLD_DOCS, RuleConfig

if TYPE_CHECKING:
    from kratomwatch.accounts.models import ProgramSettings

# The model is imported inside the functions that query it, so that the defaults (environment and core only) are
# usable before Django is set up, e.g. by `kratomwatch dose`, which needs no database.

FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RuleConfig))
_INT_FIELDS = frozenset(f.name for f in dataclasses.fields(RuleConfig) if f.type in (int, "int"))

ENVIRONMENT: Mapping[str, str] = {
    "seven_oh_cap_percent": "KRATOMWATCH_SEVEN_OH_CAP",
    "grams_per_teaspoon": "KRATOMWATCH_G_PER_TSP",
    "grams_per_teaspoon_low": "KRATOMWATCH_G_PER_TSP_LOW",
    "grams_per_teaspoon_high": "KRATOMWATCH_G_PER_TSP_HIGH",
    "missed_followup_grace_days": "KRATOMWATCH_ASSESSMENT_GRACE_DAYS",
}
"""Settings whose deployment-wide default may come from an environment variable."""

DOSE_SETTINGS = frozenset(
    {"seven_oh_cap_percent", "grams_per_teaspoon", "grams_per_teaspoon_low", "grams_per_teaspoon_high"}
)
"""Settings that stored dose values depend on (recomputed when a program changes one)."""


def _number(name: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(name, value, f"{name} must be a number")
    if name in _INT_FIELDS:
        if float(value) != int(value):
            raise InputError(name, value, f"{name} must be a whole number")
        return int(value)
    return float(value)


def environment_defaults(environ: Mapping[str, str] | None = None) -> dict[str, float | int]:
    """The deployment's defaults from the environment (only the variables that are set)."""
    env = os.environ if environ is None else environ
    out: dict[str, float | int] = {}
    for name, variable in ENVIRONMENT.items():
        raw = env.get(variable)
        if raw is None or not raw.strip():
            continue
        try:
            number = float(raw)
        except ValueError:
            raise InputError(variable, raw, f"{variable} must be a number, got {raw!r}") from None
        if name in _INT_FIELDS and not number.is_integer():
            raise InputError(variable, raw, f"{variable} must be a whole number of days, got {raw!r}")
        out[name] = _number(name, int(number) if name in _INT_FIELDS else number)
    return out


def defaults() -> RuleConfig:
    """The settings of a program that changed nothing: environment defaults over the built-in ones."""
    return RuleConfig(**cast(dict[str, Any], environment_defaults()))


def validate_overrides(overrides: Mapping[str, Any]) -> dict[str, float | int]:
    """Check names and values against ``RuleConfig``; raises InputError naming the field."""
    if not isinstance(overrides, Mapping):
        raise InputError("overrides", overrides, "overrides must be an object of setting name -> number")
    clean: dict[str, float | int] = {}
    for name, value in overrides.items():
        if name not in FIELDS:
            raise InputError(name, value, f"unknown setting {name!r}; known: {', '.join(FIELDS)}")
        clean[name] = _number(name, value)
    apply(clean)  # the core validates ranges and cross-field rules (InputError names the field)
    return clean


def apply(overrides: Mapping[str, Any] | None) -> RuleConfig:
    """The deployment defaults with ``overrides`` (already validated names and numbers) on top."""
    return dataclasses.replace(defaults(), **cast(dict[str, Any], dict(overrides or {})))


def stored(program_id: int) -> ProgramSettings | None:
    """The program's stored overrides row (with who changed it last), or None if it never changed any."""
    from kratomwatch.accounts.models import ProgramSettings  # noqa: PLC0415 - see the note on the import above

    return ProgramSettings.objects.select_related("updated_by").filter(program_id=program_id).first()


def for_program(program_id: int) -> RuleConfig:
    """One program's settings."""
    return for_programs([program_id])[program_id]


def for_programs(program_ids: Iterable[int]) -> dict[int, RuleConfig]:
    """Settings per program (one query); programs without overrides get the deployment defaults."""
    from kratomwatch.accounts.models import ProgramSettings  # noqa: PLC0415 - see the note on the import above

    ids = sorted(set(program_ids))
    stored = dict(ProgramSettings.objects.filter(program_id__in=ids).values_list("program_id", "overrides"))
    base = defaults()
    return {pid: dataclasses.replace(base, **stored[pid]) if stored.get(pid) else base for pid in ids}


def describe(config: RuleConfig, overrides: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every setting with its value, default and basis (published with source, or program setting)."""
    base = defaults()
    out = []
    for name in FIELDS:
        doc = THRESHOLD_DOCS[name]
        program_setting = config.is_program_setting(name)
        out.append(
            {
                "name": name,
                "value": getattr(config, name),
                "default": getattr(base, name),
                "overridden": name in overrides,
                "basis": "program setting" if program_setting else "published",
                "sources": [] if program_setting else list(doc.sources),
                "evidence_as_of": None if program_setting else doc.as_of,
                "published_value": doc.published_value,
                "description": doc.description,
            }
        )
    return out


# --- consent overrides (D6) ----------------------------------------------------------------------------------------

CONSENT_OVERRIDE_LABEL = (
    "program choice (not evidence): how long and how often the care team may record care data without the "
    "patient's care consent"
)


@dataclasses.dataclass(frozen=True)
class ConsentOverridePolicy:
    """How long a clinician's documented override of missing care consent lasts, and how many one withdrawal (or the
    time before a first signature) allows. A program's choice, not evidence; each has a hard ceiling."""

    hours: int = 72
    per_withdrawal: int = 1

    HOURS_CEILING = 168  # one week: an override bridges an emergency, it does not replace consent
    PER_WITHDRAWAL_CEILING = 3
    basis = CONSENT_OVERRIDE_LABEL


CONSENT_OVERRIDE_ENVIRONMENT: Mapping[str, str] = {
    "hours": "KRATOMWATCH_CONSENT_OVERRIDE_HOURS",
    "per_withdrawal": "KRATOMWATCH_CONSENT_OVERRIDES_PER_WITHDRAWAL",
}


def consent_override_policy(
    program_id: int | None = None, environ: Mapping[str, str] | None = None
) -> ConsentOverridePolicy:
    """The override limits of a program: the deployment's choice from the environment (the same for every program
    today), else 72 hours and 1 override per withdrawal. A value outside 1..ceiling is refused, naming the variable."""
    env = os.environ if environ is None else environ
    values: dict[str, int] = {}
    ceilings = {
        "hours": ConsentOverridePolicy.HOURS_CEILING,
        "per_withdrawal": ConsentOverridePolicy.PER_WITHDRAWAL_CEILING,
    }
    for name, variable in CONSENT_OVERRIDE_ENVIRONMENT.items():
        raw = (env.get(variable) or "").strip()
        if not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= ceilings[name]:
            message = f"{variable} must be a whole number from 1 to {ceilings[name]}, got {raw!r}"
            raise InputError(variable, raw, message)
        values[name] = int(raw)
    return ConsentOverridePolicy(**values)
