"""Text cleaning for medication names. Pure functions, standard library only."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# A strength: a number (or ratio of numbers) followed by a unit, e.g. "0.5 mg", "5/325mg", "100 mcg/h", "2%".
_STRENGTH = re.compile(
    r"(?<![a-z])\d+(?:[.,]\d+)?(?:\s*/\s*\d+(?:[.,]\d+)?)*\s*"
    r"(?:mg|mcg|ug|µg|μg|g|gm|ml|mL|l|iu|units?|%|meq|mmol)(?:\s*/\s*(?:h|hr|hour|ml|dose|actuation|day))?"
    r"(?![a-z])",
    re.IGNORECASE,
)
# Dose forms, release modifiers and sig words that are not part of a drug name.
DOSE_WORDS: frozenset[str] = frozenset(
    (
        "tab",
        "tabs",
        "tablet",
        "tablets",
        "cap",
        "caps",
        "capsule",
        "capsules",
        "er",
        "xr",
        "sr",
        "cr",
        "ir",
        "xl",
        "la",
        "dr",
        "ec",
        "odt",
        "sl",
        "soln",
        "solution",
        "oral",
        "liquid",
        "syrup",
        "susp",
        "suspension",
        "inj",
        "injection",
        "injectable",
        "patch",
        "film",
        "films",
        "spray",
        "nasal",
        "cream",
        "gel",
        "ointment",
        "drops",
        "chewable",
        "chew",
        "lozenge",
        "po",
        "prn",
        "bid",
        "tid",
        "qid",
        "qd",
        "qhs",
        "qam",
        "qpm",
        "daily",
        "nightly",
        "weekly",
        "monthly",
        "as",
        "needed",
        "each",
        "every",
        "take",
        "takes",
        "taking",
        "mg",
        "mcg",
        "ml",
        "hcl",
        "hydrochloride",
        "sodium",
        "er24",
        "extended",
        "release",
        "immediate",
        "delayed",
        "sublingual",
        "buccal",
        "transdermal",
        "generic",
        "brand",
        "x",
        "times",
        "per",
        "day",
        "dose",
        "doses",
    )
)
MAX_INPUT = 500


def clean_text(text: str) -> str:
    """Casefold, drop accents and punctuation, collapse whitespace: 'Tylenol #3 ' -> 'tylenol 3'."""
    folded = unicodedata.normalize("NFKD", text[:MAX_INPUT]).casefold()
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", ascii_only).strip()


def remove_strengths(text: str) -> str:
    """Remove strengths only, then clean: 'Tylenol #3 300/30 mg' -> 'tylenol 3'."""
    return clean_text(_STRENGTH.sub(" ", unicodedata.normalize("NFKC", text[:MAX_INPUT])))


def strip_strengths(text: str) -> str:
    """Remove strengths, dose-form words and bare numbers, then clean: 'Xanax 0.5 mg tab' -> 'xanax'."""
    words = [w for w in remove_strengths(text).split() if w not in DOSE_WORDS and not w.isdigit()]
    return " ".join(words)
