"""History-flag findings (liver, seizures, QT, respiratory, pregnancy, breastfeeding). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from kratomwatch.core.screening.types import ContraindicationFinding, ContraindicationRule, HistoryFlags


class MissingContraindicationRule(KeyError):
    """A history flag is set but the knowledge has no rule for it."""


def contraindications(
    flags: HistoryFlags, rules: Mapping[str, ContraindicationRule]
) -> tuple[ContraindicationFinding, ...]:
    """One sourced finding per active history flag, in the fixed flag order."""
    out: list[ContraindicationFinding] = []
    for name in flags.active():
        rule = rules.get(name)
        if rule is None:
            raise MissingContraindicationRule(name)
        out.append(
            ContraindicationFinding(
                flag=rule.flag,
                severity=rule.severity,
                evidence_level=rule.evidence_level,
                summary=rule.summary,
                management=rule.management,
                sources=rule.sources,
            )
        )
    return tuple(out)
