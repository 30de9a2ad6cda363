"""Kratom and 7-OH in verbatim product names: the curated patterns of ``data/product_names.yaml`` (sources and
as_of in the file) and a matcher. Every name is either given a concept (with the basis: ``pattern`` or ``brand``,
the latter to be reviewed by a person) or counted as unmatched and listed: nothing is dropped silently.

Matching is per distinct name (a FAERS quarter has some hundred thousand distinct drug names for millions of
rows), then joined back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl
import yaml

__all__ = ["Concept", "Match", "Matcher", "Summary", "canonical", "matcher", "normalise"]

_SPACES = re.compile(r"\s+")


def canonical(name: str) -> str:
    """Upper case, runs of whitespace collapsed, trimmed (how names are compared)."""
    return _SPACES.sub(" ", name).strip().upper()


@dataclass(frozen=True)
class Concept:
    id: str
    display_name: str
    patterns: tuple[re.Pattern[str], ...]
    brands: re.Pattern[str] | None


@dataclass(frozen=True)
class Match:
    concept: str
    basis: str  # "pattern" or "brand" (a brand alone: review before trusting)


@dataclass(frozen=True)
class Summary:
    """How many rows each concept got, and the names left unmatched with their row counts (most frequent first)."""

    matched: dict[str, int]
    by_brand_only: dict[str, int]
    unmatched_rows: int
    unmatched: list[tuple[str, int]]


class Matcher:
    def __init__(self, concepts: Iterable[Concept], as_of: str) -> None:
        self.concepts = tuple(concepts)
        self.as_of = as_of

    def match(self, name: str) -> Match | None:
        text = canonical(name)
        for concept in self.concepts:
            if any(p.search(text) for p in concept.patterns):
                return Match(concept.id, "pattern")
            if concept.brands is not None and concept.brands.search(text):
                return Match(concept.id, "brand")
        return None

    def summarise(self, names: Iterable[str]) -> Summary:
        """Classify every name (one per row); each distinct name is matched once."""
        rows = Counter(canonical(n) for n in names)
        return self.summarise_counts((name, count, self.match(name)) for name, count in rows.items())

    @staticmethod
    def summarise_counts(classified: Iterable[tuple[str, int, Match | None]]) -> Summary:
        """Totals from (name, rows, match) triples."""
        matched: Counter[str] = Counter()
        by_brand: Counter[str] = Counter()
        unmatched: Counter[str] = Counter()
        for name, count, found in classified:
            if found is None:
                unmatched[canonical(name)] += count
            else:
                matched[found.concept] += count
                if found.basis == "brand":
                    by_brand[found.concept] += count
        listed = sorted(unmatched.items(), key=lambda item: (-item[1], item[0]))
        return Summary(
            matched=dict(matched),
            by_brand_only=dict(by_brand),
            unmatched_rows=sum(unmatched.values()),
            unmatched=listed,
        )


def _brand_pattern(brands: list[str]) -> re.Pattern[str] | None:
    if not brands:
        return None
    words = "|".join(re.escape(canonical(b)) for b in sorted(brands, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Z])(?:{words})(?![0-9A-Z])")


@cache
def matcher() -> Matcher:
    """The matcher of the shipped data file (loaded once)."""
    text = resources.files("kratomwatch.surveillance").joinpath("data", "product_names.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    concepts = [
        Concept(
            id=str(c["id"]),
            display_name=str(c["display_name"]),
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in c["patterns"]),
            brands=_brand_pattern([str(b) for b in c.get("brands") or []]),
        )
        for c in data["concepts"]
    ]
    return Matcher(concepts, as_of=str(data["as_of"]))


def normalise(frame: pl.DataFrame, column: str = "var1") -> tuple[pl.DataFrame, Summary]:
    """Replace the names in ``column`` that match a concept by the concept id (e.g. every kratom spelling becomes
    ``kratom``), leave the others as they are, and summarise (counts per concept, brand-only matches, the
    unmatched names with their row counts). Each distinct name is matched once."""
    distinct = frame.group_by(column).len()
    found = [matcher().match(str(name)) for name in distinct[column].to_list()]
    mapping = pl.DataFrame(
        {column: distinct[column], "_concept": [None if f is None else f.concept for f in found]},
        schema={column: pl.String, "_concept": pl.String},
    )
    summary = matcher().summarise_counts(zip(distinct[column].to_list(), distinct["len"].to_list(), found, strict=True))
    out = (
        frame.join(mapping, on=column, how="left")
        .with_columns(pl.coalesce("_concept", column).alias(column))
        .drop("_concept")
    )
    return out, summary
