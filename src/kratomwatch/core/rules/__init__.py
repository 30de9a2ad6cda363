"""Pure alert rules over a patient snapshot.

::

    from kratomwatch.core.rules import PatientSnapshot, RuleConfig, evaluate
    findings = evaluate(snapshot, RuleConfig())

Each rule is a pure function ``(PatientSnapshot, RuleConfig) -> list[Finding]``. Every finding cites its
published source with an as-of date, or names the program settings it used. The rules measure, screen,
flag and cite; they never recommend a dose. See docs/alerts.md for the rule table.
"""

from kratomwatch.core.rules.catalogue import (
    RULES,
    Rule,
    cardiac_rule,
    dependence_rule,
    escalation_rule,
    history_rule,
    interaction_rule,
    legal_rule,
    missed_followup_rule,
    mood_rule,
    naloxone_rule,
    no_benefit_rule,
    pregnancy_rule,
    risky_product_rule,
    serious_adverse_event_rule,
    sodium_rule,
    suicidality_rule,
    withdrawal_rule,
)
from kratomwatch.core.rules.config import THRESHOLD_DOCS, RuleConfig, ThresholdDoc
from kratomwatch.core.rules.engine import evaluate
from kratomwatch.core.rules.findings import PROGRAM_SETTING, SEVERITY_RANK, Finding, Severity
from kratomwatch.core.rules.liver import liver_rule
from kratomwatch.core.rules.snapshot import (
    SERIOUSNESS_CRITERIA,
    AdverseEvent,
    Assessment,
    DoseSummary,
    Labs,
    LabValue,
    OverdueSchedule,
    PainTrajectory,
    PatientSnapshot,
    ProductLegal,
    RecalledLot,
    SeriousnessCriterion,
    SevenOhShare,
)

__all__ = [
    "PROGRAM_SETTING",
    "RULES",
    "SERIOUSNESS_CRITERIA",
    "SEVERITY_RANK",
    "THRESHOLD_DOCS",
    "AdverseEvent",
    "Assessment",
    "DoseSummary",
    "Finding",
    "LabValue",
    "Labs",
    "OverdueSchedule",
    "PainTrajectory",
    "PatientSnapshot",
    "ProductLegal",
    "RecalledLot",
    "Rule",
    "RuleConfig",
    "SeriousnessCriterion",
    "SevenOhShare",
    "Severity",
    "ThresholdDoc",
    "cardiac_rule",
    "dependence_rule",
    "escalation_rule",
    "evaluate",
    "history_rule",
    "interaction_rule",
    "legal_rule",
    "liver_rule",
    "missed_followup_rule",
    "mood_rule",
    "naloxone_rule",
    "no_benefit_rule",
    "pregnancy_rule",
    "risky_product_rule",
    "serious_adverse_event_rule",
    "sodium_rule",
    "suicidality_rule",
    "withdrawal_rule",
]
