"""The result type of every alert rule: a frozen, sourced :class:`Finding`.

A finding screens and cites; it never recommends a dose. Each finding names the rule that raised it, a
``subject_key`` used to deduplicate (one open alert per rule and subject), plain-language ``reason`` text
with the numbers that triggered it, and either published ``sources`` (with the date they were checked,
``evidence_as_of``) or the names of the ``program_settings`` it used, or both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Severity = Literal["urgent", "high", "moderate", "info"]

SEVERITY_RANK: Mapping[str, int] = MappingProxyType({"urgent": 4, "high": 3, "moderate": 2, "info": 1})
"""Higher is more severe. ``evaluate`` sorts by this rank, most severe first."""

PROGRAM_SETTING = "program setting"
"""Label shown for a threshold that is a program's choice rather than published evidence."""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    subject_key: str
    title: str
    reason: str
    sources: tuple[str, ...] = ()
    """Citations (``PMID:``, ``PMC``, ``doi:`` or an http(s) URL) for the threshold or fact that fired."""
    evidence_as_of: dt.date | None = None
    """Date the cited sources were last checked (None only when the finding has no sources)."""
    program_settings: tuple[str, ...] = ()
    """Names of the :class:`RuleConfig` fields used that are program settings, not published evidence."""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {self.severity!r}")
        if not self.rule_id or not self.subject_key:
            raise ValueError("a finding needs a rule id and a subject key")
        if not self.sources and not self.program_settings:
            raise ValueError(f"finding {self.rule_id}/{self.subject_key} has neither sources nor a program setting")
        if self.sources and self.evidence_as_of is None:
            raise ValueError(f"finding {self.rule_id}/{self.subject_key} cites sources without an as-of date")

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]

    @property
    def basis(self) -> str:
        """``published``, ``program setting`` or ``published + program setting``."""
        if self.sources and self.program_settings:
            return f"published + {PROGRAM_SETTING}"
        return "published" if self.sources else PROGRAM_SETTING

    @property
    def dedup_key(self) -> tuple[str, str]:
        return (self.rule_id, self.subject_key)
