"""ConText on token positions: which modifiers (negation, hedging, strength) reach a target phrase.

Harkema H, Dowling JN, Thornblade T, Chapman WW. ConText: an algorithm for determining negation, experiencer, and
temporal status from clinical reports. J Biomed Inform 2009;42(5):839-851. doi:10.1016/j.jbi.2009.05.002.

A trigger phrase has a category and a direction. Its scope runs from the trigger forward (``forward``), backward
(``backward``) or both ways (``bidirectional``) and ends at a termination phrase or at the end of the sentence, as in
the paper. A pseudo-trigger ("not only", "no doubt") cancels any trigger it overlaps. A trigger never modifies a
target that contains it ("not an opioid" is one target phrase, not a negated "an opioid"). Positions are token
indexes inside one sentence, ``end`` exclusive. Pure: no spaCy, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Direction = Literal["forward", "backward", "bidirectional"]
Category = Literal["NEGATED", "HEDGED", "STRONG"]


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Trigger:
    category: Category
    direction: Direction
    span: Span


def _scope(trigger: Trigger, terminators: Sequence[Span], length: int) -> tuple[Span, ...]:
    """The token ranges a trigger reaches: to the nearest terminator on each side it looks to, or the sentence end."""
    out: list[Span] = []
    if trigger.direction in ("forward", "bidirectional"):
        stop = min((t.start for t in terminators if t.start >= trigger.span.end), default=length)
        out.append(Span(trigger.span.end, stop))
    if trigger.direction in ("backward", "bidirectional"):
        begin = max((t.end for t in terminators if t.end <= trigger.span.start), default=0)
        out.append(Span(begin, trigger.span.start))
    return tuple(s for s in out if s.end > s.start)


def live_triggers(triggers: Iterable[Trigger], pseudo: Sequence[Span]) -> tuple[Trigger, ...]:
    """The triggers that no pseudo-trigger overlaps (a trigger with exactly a pseudo-trigger's span stays: "no
    doubt" is not a negation but is a strong claim)."""
    return tuple(t for t in triggers if not any(t.span.overlaps(p) and t.span != p for p in pseudo))


def reaches(trigger: Trigger, target: Span, terminators: Sequence[Span], length: int) -> bool:
    """Whether ``trigger`` modifies ``target``. A negation inside the target never does; a hedge or strength word
    inside it does ("cures" is itself a strong claim)."""
    if trigger.span.overlaps(target):
        return trigger.category != "NEGATED"
    return any(s.overlaps(target) for s in _scope(trigger, terminators, length))


def modifiers(
    target: Span, triggers: Sequence[Trigger], terminators: Sequence[Span], length: int
) -> tuple[Trigger, ...]:
    """Every trigger whose scope reaches ``target``."""
    return tuple(t for t in triggers if reaches(t, target, terminators, length))


def is_negated(target: Span, triggers: Sequence[Trigger], terminators: Sequence[Span], length: int) -> bool:
    return any(t.category == "NEGATED" for t in modifiers(target, triggers, terminators, length))
