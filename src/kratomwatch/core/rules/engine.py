"""Run every alert rule over a snapshot: deduplicate and sort the findings. Pure and deterministic."""

from __future__ import annotations

from kratomwatch.core.rules.catalogue import RULES
from kratomwatch.core.rules.config import RuleConfig
from kratomwatch.core.rules.findings import Finding
from kratomwatch.core.rules.snapshot import PatientSnapshot


def _order(finding: Finding) -> tuple[int, str, str, str, str]:
    return (-finding.rank, finding.rule_id, finding.subject_key, finding.title, finding.reason)


def evaluate(snapshot: PatientSnapshot, config: RuleConfig | None = None) -> list[Finding]:
    """All findings for ``snapshot``: one per (rule id, subject key), the most severe kept, most severe first.

    Ties in severity are broken by rule id, subject key, title and reason, so the same snapshot always gives
    the same list.
    """
    cfg = config if config is not None else RuleConfig()
    best: dict[tuple[str, str], Finding] = {}
    for _rule_id, rule in RULES:
        for finding in rule(snapshot, cfg):
            current = best.get(finding.dedup_key)
            if current is None or _order(finding) < _order(current):
                best[finding.dedup_key] = finding
    return sorted(best.values(), key=_order)
