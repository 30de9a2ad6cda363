"""Program-level rule thresholds: ``RuleConfig`` overrides stored per program, validated by the core."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from kratomwatch.alerts.models import ProgramRuleConfig
from kratomwatch.core.errors import InputError
from kratomwatch.core.rules import THRESHOLD_DOCS, RuleConfig

FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RuleConfig))
_INT_FIELDS = frozenset(f.name for f in dataclasses.fields(RuleConfig) if f.type in (int, "int"))


def validate_overrides(overrides: Mapping[str, Any]) -> dict[str, float | int]:
    """Check names and values against ``RuleConfig``; raises InputError naming the field."""
    if not isinstance(overrides, Mapping):
        raise InputError("overrides", overrides, "overrides must be an object of threshold name -> number")
    clean: dict[str, float | int] = {}
    for name, value in overrides.items():
        if name not in FIELDS:
            raise InputError(name, value, f"unknown threshold {name!r}; known: {', '.join(FIELDS)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(name, value, f"{name} must be a number")
        if name in _INT_FIELDS:
            if float(value) != int(value):
                raise InputError(name, value, f"{name} must be a whole number")
            clean[name] = int(value)
        else:
            clean[name] = float(value)
    RuleConfig(
        **cast(dict[str, Any], clean)
    )  # the core validates ranges and cross-field rules (InputError names the field)
    return clean


def rule_config(overrides: Mapping[str, Any] | None) -> RuleConfig:
    return RuleConfig(**cast(dict[str, Any], validate_overrides(overrides or {})))


def configs_for(program_ids: set[int] | list[int]) -> dict[int, RuleConfig]:
    """RuleConfig per program (one query); programs without overrides get the defaults."""
    stored = dict(
        ProgramRuleConfig.objects.filter(program_id__in=list(program_ids)).values_list("program_id", "overrides")
    )
    return {pid: rule_config(stored.get(pid)) for pid in program_ids}


def describe(config: RuleConfig, overrides: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every threshold with its value, default and basis (published with source, or program setting)."""
    defaults = RuleConfig()
    out = []
    for name in FIELDS:
        doc = THRESHOLD_DOCS[name]
        program_setting = config.is_program_setting(name)
        out.append(
            {
                "name": name,
                "value": getattr(config, name),
                "default": getattr(defaults, name),
                "overridden": name in overrides,
                "basis": "program setting" if program_setting else "published",
                "sources": [] if program_setting else list(doc.sources),
                "evidence_as_of": None if program_setting else doc.as_of,
                "published_value": doc.published_value,
                "description": doc.description,
            }
        )
    return out
