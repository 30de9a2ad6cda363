"""Shared building blocks for the instrument modules: the as-of date, answer-option sets and sources
cited by more than one instrument. Private to the package."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from kratomwatch.core.instruments.schema import AnswerOption, Citation

AS_OF = date(2026, 11, 21)
"""Date on which every cited source in this package was read to confirm the facts it supports."""


def cite(
    label: str,
    *,
    supports: str,
    pmid: str | None = None,
    doi: str | None = None,
    url: str | None = None,
) -> Citation:
    return Citation(label=label, supports=supports, as_of=AS_OF, pmid=pmid, doi=doi, url=url)


def numeric_options(low: int, high: int, anchors: Mapping[int, str] | None = None) -> tuple[AnswerOption, ...]:
    """Options ``low..high``; anchored values get their anchor as label, the others their number."""
    anchors = anchors or {}
    return tuple(AnswerOption(value=v, label=anchors.get(v, str(v))) for v in range(low, high + 1))


def labelled_options(pairs: tuple[tuple[int, str], ...]) -> tuple[AnswerOption, ...]:
    return tuple(AnswerOption(value=value, label=label) for value, label in pairs)


YES_NO = labelled_options(((0, "no"), (1, "yes")))

PHQ_FREQUENCY = labelled_options(
    ((0, "not at all"), (1, "several days"), (2, "more than half the days"), (3, "nearly every day"))
)
"""Answer set shared by PHQ-9 and GAD-7 (0-3), confirmed in Kroenke 2001 and Spitzer 2006."""


def dworkin_2008(supports: str) -> Citation:
    """IMMPACT recommendations on interpreting the clinical importance of chronic-pain outcomes."""
    return cite(
        "Dworkin RH et al. Interpreting the clinical importance of treatment outcomes in chronic pain "
        "clinical trials: IMMPACT recommendations. J Pain 2008;9(2):105-121",
        supports=supports,
        pmid="18055266",
        doi="10.1016/j.jpain.2007.09.005",
    )
