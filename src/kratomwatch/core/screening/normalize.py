"""Medication-name normalization: typed text -> ingredient ids, with fuzzy suggestions for misspellings.

Pure: standard library only. Nothing is dropped: an entry that cannot be matched is returned as
``unmatched`` with the text as entered.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from kratomwatch.core.screening.text import clean_text, remove_strengths, strip_strengths
from kratomwatch.core.screening.types import MedicationIndex, MedicationMatch, Suggestion

SUGGEST_CUTOFF = 0.78
MAX_SUGGESTIONS = 3
_MAX_TOKENS = 12
_MIN_FUZZY_LEN = 4


def _ngrams(tokens: list[str]) -> Iterable[str]:
    """Contiguous word groups, longest first, then left to right."""
    for size in range(len(tokens), 0, -1):
        for start in range(len(tokens) - size + 1):
            yield " ".join(tokens[start : start + size])


def _matched(index: MedicationIndex, text: str, term: str) -> MedicationMatch:
    """An exact match of ``term``, with the interaction classes of its screened ingredients."""
    ids = index.terms[term]
    skipped = index.not_screened.get(term, ())
    classes: dict[str, None] = {}
    for ingredient_id in ids:
        ingredient = index.ingredients.get(ingredient_id)
        if ingredient is not None and ingredient_id not in skipped:
            classes.update(dict.fromkeys(ingredient.class_ids))
    return MedicationMatch(text, "matched", ids, term, 1.0, class_ids=tuple(classes))


def _exact(index: MedicationIndex, text: str) -> MedicationMatch | None:
    full = clean_text(text)
    if full in index.terms:
        return _matched(index, text, full)
    without_strength = remove_strengths(text)
    stripped = strip_strengths(text)
    for candidate in (without_strength, stripped):
        if candidate in index.terms:
            return _matched(index, text, candidate)
    for tokens in (without_strength.split()[:_MAX_TOKENS], stripped.split()[:_MAX_TOKENS]):
        for gram in _ngrams(tokens):
            if gram in index.terms:
                return _matched(index, text, gram)
    return None


def _suggest(index: MedicationIndex, text: str) -> tuple[Suggestion, ...]:
    stripped = strip_strengths(text)
    tokens = list(stripped.split()[:_MAX_TOKENS])
    probes = {stripped, *tokens, *(" ".join(tokens[i : i + 2]) for i in range(len(tokens) - 1))}
    scores: dict[str, float] = {}
    keys = list(index.terms)
    for probe in probes:
        if len(probe) < _MIN_FUZZY_LEN:
            continue
        for term in difflib.get_close_matches(probe, keys, n=MAX_SUGGESTIONS, cutoff=SUGGEST_CUTOFF):
            score = difflib.SequenceMatcher(None, probe, term).ratio()
            scores[term] = max(score, scores.get(term, 0.0))
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    out: list[Suggestion] = []
    seen: set[tuple[str, ...]] = set()
    for term, score in ranked:
        ids = index.terms[term]
        if ids in seen:
            continue
        seen.add(ids)
        out.append(Suggestion(term=term, ingredient_ids=ids, score=round(score, 3)))
        if len(out) == MAX_SUGGESTIONS:
            break
    return tuple(out)


def normalize_medication(text: str, index: MedicationIndex) -> MedicationMatch:
    """Map one typed medication entry to ingredient ids.

    Matching is case-, whitespace- and punctuation-insensitive on ids, synonyms, brands and combination
    product names; strengths and dose forms are ignored ("Xanax 0.5 mg tab" -> alprazolam). A misspelling
    yields ``suggested`` with ranked suggestions and the best similarity as ``confidence``: a suggestion is a
    question for a person ("confirm this medication"), never an identification, so it carries no
    ``class_ids`` and is not screened. Nothing close yields ``unmatched``. Never raises on arbitrary text.
    """
    if not isinstance(text, str):
        raise TypeError(f"medication text must be str, not {type(text).__name__}")
    exact = _exact(index, text)
    if exact is not None:
        return exact
    suggestions = _suggest(index, text)
    if suggestions:
        best = suggestions[0]
        return MedicationMatch(
            entered=text,
            status="suggested",
            ingredient_ids=best.ingredient_ids,
            matched_term=best.term,
            confidence=best.score,
            suggestions=suggestions,
        )
    return MedicationMatch(entered=text, status="unmatched")
