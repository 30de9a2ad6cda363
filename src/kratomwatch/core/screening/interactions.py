"""Interaction screening of a medication list against the curated interaction classes. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from kratomwatch.core.screening.normalize import normalize_medication
from kratomwatch.core.screening.types import (
    SEVERITY_ORDER,
    InteractionFinding,
    MedicationMatch,
    ScreeningKnowledge,
    ScreeningResult,
)


class UnknownInteractionClass(KeyError):
    """An ingredient names an interaction class that the knowledge does not define."""


def _findings_for(match: MedicationMatch, knowledge: ScreeningKnowledge) -> list[InteractionFinding]:
    out: list[InteractionFinding] = []
    provisional = match.status == "suggested"
    skipped = knowledge.index.not_screened.get(match.matched_term or "", ())
    for ingredient_id in match.ingredient_ids:
        if ingredient_id in skipped:
            continue
        ingredient = knowledge.index.ingredients[ingredient_id]
        for class_id in ingredient.class_ids:
            rule = knowledge.interactions.get(class_id)
            if rule is None:
                raise UnknownInteractionClass(class_id)
            out.append(
                InteractionFinding(
                    medication=match.entered,
                    ingredient_id=ingredient.id,
                    ingredient_name=ingredient.display_name,
                    class_id=rule.id,
                    class_name=rule.name,
                    severity=rule.severity,
                    mechanism=rule.mechanism,
                    evidence_level=rule.evidence_level,
                    summary=rule.summary,
                    management=rule.management,
                    sources=rule.sources,
                    as_of=rule.as_of,
                    match_status=match.status,
                    confidence=match.confidence if provisional else 1.0,
                )
            )
    return out


def screen_interactions(medications: Iterable[str], knowledge: ScreeningKnowledge) -> ScreeningResult:
    """Screen typed medication entries for interaction classes with kratom.

    Every entry is normalized. Exact matches produce findings; a misspelling produces *provisional* findings
    for its best suggestion (``match_status="suggested"``) and is also listed in ``unresolved`` so a person
    confirms it; an unmatched entry produces no finding but is always listed in ``unresolved``.
    Findings are sorted most severe first, then by the order the medications were entered.
    """
    matches = tuple(normalize_medication(text, knowledge.index) for text in medications)
    findings: list[tuple[int, int, InteractionFinding]] = []
    for position, match in enumerate(matches):
        findings.extend((-SEVERITY_ORDER[f.severity], position, f) for f in _findings_for(match, knowledge))
    findings.sort(key=lambda item: (item[0], item[1], item[2].class_id, item[2].ingredient_id))
    unresolved = tuple(m for m in matches if m.status != "matched")
    return ScreeningResult(findings=tuple(f for _, _, f in findings), matches=matches, unresolved=unresolved)
