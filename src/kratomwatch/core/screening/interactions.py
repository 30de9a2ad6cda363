"""Interaction screening of a medication list against the curated interaction classes. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from kratomwatch.core.screening.normalize import normalize_medication
from kratomwatch.core.screening.types import (
    POSITIVE_CLASSES,
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
    if match.status != "matched":
        # A fuzzy suggestion is never screened as the suggested drug ("kava" is not clonidine): it is listed
        # in ``unresolved`` / ``to_confirm`` so a person confirms the medication first.
        return out
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
                    confidence=1.0,
                )
            )
    return out


def screen_interactions(medications: Iterable[str], knowledge: ScreeningKnowledge) -> ScreeningResult:
    """Screen typed medication entries for interaction classes with kratom.

    Every entry is normalized. Exact matches (ids, synonyms, brands, product names) produce findings. A
    misspelling produces NO finding: its suggestions are listed in ``unresolved`` (and ``to_confirm``) so a
    person confirms the medication, because a close name can be a different drug (clarithromycin is not
    azithromycin). An unmatched entry produces no finding but is always listed in ``unresolved``.
    Classes that are not adverse interactions (``POSITIVE_CLASSES``: a rescue medication such as naloxone on
    file) go to ``positives``, never to ``findings``.
    Findings are sorted most severe first, then by the order the medications were entered.
    """
    matches = tuple(normalize_medication(text, knowledge.index) for text in medications)
    findings: list[tuple[int, int, InteractionFinding]] = []
    positives: list[InteractionFinding] = []
    for position, match in enumerate(matches):
        for f in _findings_for(match, knowledge):
            if f.class_id in POSITIVE_CLASSES:
                positives.append(f)
            else:
                findings.append((-SEVERITY_ORDER[f.severity], position, f))
    findings.sort(key=lambda item: (item[0], item[1], item[2].class_id, item[2].ingredient_id))
    unresolved = tuple(m for m in matches if m.status != "matched")
    return ScreeningResult(
        findings=tuple(f for _, _, f in findings), matches=matches, unresolved=unresolved, positives=tuple(positives)
    )
