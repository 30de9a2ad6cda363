"""History-flag findings (liver, seizures, QT, respiratory, pregnancy, breastfeeding). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from kratomwatch.core.screening.types import ContraindicationFinding, ContraindicationRule, HistoryFlags


class MissingContraindicationRule(KeyError):
    """A history flag is set but the knowledge has no rule for it."""


def contraindication_rules(
    flags: HistoryFlags, rules: Mapping[str, ContraindicationRule]
) -> tuple[ContraindicationRule, ...]:
    """The curated record (text, sources, as-of date) of each active history flag, in the fixed flag order.

    The alert sweep passes these to the rules in the patient snapshot, so the alert text and sources are the
    curated ones (knowledge/data/contraindications.yaml), never a copy."""
    out: list[ContraindicationRule] = []
    for name in flags.active():
        rule = rules.get(name)
        if rule is None:
            raise MissingContraindicationRule(name)
        out.append(rule)
    return tuple(out)


def contraindications(
    flags: HistoryFlags, rules: Mapping[str, ContraindicationRule]
) -> tuple[ContraindicationFinding, ...]:
    """One sourced finding per active history flag, in the fixed flag order."""
    return tuple(
        ContraindicationFinding(
            flag=rule.flag,
            severity=rule.severity,
            evidence_level=rule.evidence_level,
            summary=rule.summary,
            management=rule.management,
            sources=rule.sources,
        )
        for rule in contraindication_rules(flags, rules)
    )
