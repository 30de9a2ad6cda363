"""The words of an n-of-1 result: the patient card (plain language) and the clinician letter (the numbers).

Pure: it turns an :class:`kratomwatch.core.nof1.Analysis` and a :class:`TrialDescription` into structured text
(:class:`Card`: headed sections of short lines); the web page and the PDF lay it out. kratomwatch measures and
never recommends a dose: no line says a condition works, none suggests a dose or a change of dose, and the
section "What this does not mean" is always there.

Probability in words. One fixed mapping, used on the card and printed in the letter. The chance shown is the
probability as a whole number in 100, rounded down (so 0.949 is "94 in 100", never rounded up into the next
band); the word is chosen from that same whole number, each band including its lower bound:

    95 to 100 in 100   very likely
    80 to 94           likely
    60 to 79           more likely than not
    40 to 59           about as likely as not
    20 to 39           less likely than not
    5 to 19            unlikely
    0 to 4             very unlikely

"100 in 100" is never shown: a posterior probability of 1 is written "more than 99 in 100", and 0 "less than 1
in 100".

Adherence. When, for a condition, the actual mean mg a day (mitragynine or 7-OH) differs from the target by more
than ``deviation_fraction`` of the target (a target of 0 deviates when anything was taken), the card and the
letter say that the comparison is of what was taken, not what was planned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kratomwatch.core import nof1_design
from kratomwatch.core.errors import InputError
from kratomwatch.core.nof1 import Analysis

__all__ = [
    "PROBABILITY_WORDS",
    "Adherence",
    "Card",
    "Section",
    "TrialDescription",
    "chance_in_100",
    "clinician_letter",
    "likelihood_words",
    "patient_card",
]

PROBABILITY_WORDS: tuple[tuple[int, str], ...] = (
    (95, "very likely"),
    (80, "likely"),
    (60, "more likely than not"),
    (40, "about as likely as not"),
    (20, "less likely than not"),
    (5, "unlikely"),
    (0, "very unlikely"),
)
"""(lowest whole-number chance in 100, words), highest band first: the fixed mapping of probability to words."""

DEFAULT_DEVIATION_FRACTION = nof1_design.DEFAULT_ADHERENCE_TOLERANCE

COMPARED = "What was compared"
HAPPENED = "What happened"
HOW_SURE = "How sure we are"
NOT_MEAN = "What this does not mean"


@dataclass(frozen=True)
class Adherence:
    """Mean mg a day actually taken in a condition's periods against the period target (None: not set)."""

    target_mitragynine_mg: float | None = None
    actual_mitragynine_mg: float | None = None
    target_7oh_mg: float | None = None
    actual_7oh_mg: float | None = None


@dataclass(frozen=True)
class TrialDescription:
    """What the card needs besides the numbers. ``condition_labels`` maps each condition code to the clinician's
    plain words for it (a code without a label is shown as is); ``outcome`` is the outcome's name ("Pain"),
    ``unit``/``unit_one`` its unit in the plural and singular, ``scale`` e.g. "0 to 10 scale"; ``mcid_source``
    cites a published MCID or says it is a program choice (required when the analysis has an MCID)."""

    outcome: str
    condition_labels: Mapping[str, str] = field(default_factory=dict)
    unit: str = "points"
    unit_one: str = "point"
    scale: str | None = None
    mcid_source: str | None = None
    period_days: int | None = None
    blocks: int | None = None
    adherence: Mapping[str, Adherence] = field(default_factory=dict)
    deviation_fraction: float = DEFAULT_DEVIATION_FRACTION
    decimals: int = 1


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Card:
    """A titled list of sections; :meth:`text` is the plain-text form, :meth:`to_dict` the JSON form."""

    title: str
    sections: tuple[Section, ...]

    def section(self, heading: str) -> Section:
        for s in self.sections:
            if s.heading == heading:
                return s
        raise KeyError(heading)

    def text(self) -> str:
        parts = [self.title, ""]
        for s in self.sections:
            parts += [s.heading, *(f"- {line}" for line in s.lines), ""]
        return "\n".join(parts).rstrip() + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "sections": [{"heading": s.heading, "lines": list(s.lines)} for s in self.sections],
        }


def _whole_chance(p: float) -> int:
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise InputError("probability", p, "a probability is a number from 0 to 1")
    return min(100, math.floor(p * 100.0 + 1e-9))


def likelihood_words(p: float) -> str:
    """The fixed word band for a probability (see the module docstring)."""
    n = _whole_chance(p)
    for lowest, words in PROBABILITY_WORDS:
        if n >= lowest:
            return words
    raise AssertionError("unreachable: the last band starts at 0")


def chance_in_100(p: float) -> str:
    """The probability as a whole number in 100, rounded down; never "100 in 100" nor "0 in 100"."""
    n = _whole_chance(p)
    if n >= 100:
        return "more than 99 in 100"
    if n == 0:
        return "less than 1 in 100"
    return f"{n} in 100"


def _check(analysis: Analysis, description: TrialDescription) -> None:
    if not description.outcome.strip():
        raise InputError("outcome", description.outcome, "the outcome needs a name (e.g. Pain)")
    if not 0.0 < description.deviation_fraction <= 1.0:
        raise InputError(
            "deviation_fraction",
            description.deviation_fraction,
            "the adherence deviation is a fraction above 0 and at most 1",
        )
    if not 0 <= description.decimals <= 3:
        raise InputError("decimals", description.decimals, "show 0 to 3 decimals")
    if analysis.mcid is not None and not (description.mcid_source or "").strip():
        raise InputError(
            "mcid_source", description.mcid_source, "an MCID needs its source: a published value or 'program choice'"
        )
    known = {analysis.reference, *analysis.bayes}
    for name in description.adherence:
        if name not in known:
            raise InputError(
                "adherence", name, f"adherence is given for {name!r}, which is not a condition of the trial"
            )


class _Words:
    """Shared phrasing for one trial."""

    def __init__(self, analysis: Analysis, description: TrialDescription) -> None:
        _check(analysis, description)
        self.a = analysis
        self.d = description
        self.better = "lower" if analysis.lower_is_better else "higher"
        self.outcome = description.outcome.strip()
        # "Pain" -> "pain" inside a sentence, but an acronym ("PEG score") keeps its capitals
        keep = len(self.outcome) > 1 and self.outcome[1].isupper()
        self.outcome_lower = self.outcome if keep else self.outcome[0].lower() + self.outcome[1:]
        self.others = list(analysis.bayes)

    def label(self, condition: str) -> str:
        return (self.d.condition_labels.get(condition) or "").strip() or condition

    def amount(self, value: float, decimals: int | None = None) -> str:
        places = self.d.decimals if decimals is None else decimals
        text = f"{abs(value):.{places}f}"
        unit = self.d.unit_one if float(text) == 1.0 else self.d.unit
        return f"{text} {unit}"

    def difference(self, value: float) -> str:
        """'1.2 points lower', '0.4 points higher' or 'no difference' at the shown precision."""
        if round(abs(value), self.d.decimals) == 0:
            return "no difference"
        return f"{self.amount(value)} {'lower' if value < 0 else 'higher'}"

    def deviations(self) -> dict[str, list[tuple[str, float, float]]]:
        """Per condition, the (substance, target, actual) pairs that deviate by more than the fraction."""
        out: dict[str, list[tuple[str, float, float]]] = {}
        for name, adh in self.d.adherence.items():
            pairs = (
                ("mitragynine", adh.target_mitragynine_mg, adh.actual_mitragynine_mg),
                ("7-OH", adh.target_7oh_mg, adh.actual_7oh_mg),
            )
            for substance, target, actual in pairs:
                if target is None or actual is None:
                    continue
                if nof1_design.deviates(actual, target, self.d.deviation_fraction):
                    out.setdefault(name, []).append((substance, target, actual))
        return out


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _mg(value: float) -> str:
    """mg with the precision the amount needs: whole mg from 10, one decimal from 1, two below (7-OH)."""
    if value == 0:
        return "0 mg"
    places = 0 if abs(value) >= 10 else 1 if abs(value) >= 1 else 2
    return f"{value:.{places}f} mg"


def patient_card(analysis: Analysis, description: TrialDescription) -> Card:
    """The patient card: what was compared, what happened, how sure we are, what this does not mean."""
    w = _Words(analysis, description)
    ref = analysis.reference
    compared = [
        f"We compared your {w.outcome_lower} on {_list([w.label(c) for c in [ref, *w.others]])}.",
        f"{w.label(ref)[0].upper()}{w.label(ref)[1:]} was the starting point for the comparison.",
    ]
    if description.period_days and description.blocks:
        compared.append(
            f"Each was used for periods of {description.period_days} days, in an order chosen at random, "
            f"{description.blocks} times over."
        )
    days = [f"{analysis.n_days_used[c]} days on {w.label(c)}" for c in [ref, *w.others]]
    compared.append(f"We used {_list(days)}.")
    compared.append(f"Washout days and days without a {w.outcome_lower} score were left out.")

    happened: list[str] = []
    for c in w.others:
        b = analysis.bayes[c]
        diff = w.difference(b.effect)
        scale = f" ({description.scale})" if description.scale else ""
        if diff == "no difference":
            happened.append(f"{w.outcome} was about the same on {w.label(c)} and on {w.label(ref)}.")
        else:
            happened.append(f"{w.outcome} was {diff}{scale} on {w.label(c)} than on {w.label(ref)}.")
        low, high = b.interval_95
        happened.append(
            f"Allowing for chance, the real difference could be anywhere from {w.difference(low)} "
            f"to {w.difference(high)}."
        )
    deviations = w.deviations()
    for name, pairs in deviations.items():
        for substance, target, actual in pairs:
            happened.append(
                f"On {w.label(name)}, the plan was {_mg(target)} of {substance} a day. "
                f"You took {_mg(actual)} a day on average."
            )
    if deviations:
        happened.append("So this compares what you actually took, not what was planned.")

    sure: list[str] = []
    for c in w.others:
        b = analysis.bayes[c]
        sure.append(
            f"It is {likelihood_words(b.prob_better)} ({chance_in_100(b.prob_better)}) that your {w.outcome_lower} "
            f"was {w.better} on {w.label(c)} than on {w.label(ref)}."
        )
        if analysis.mcid is not None and b.prob_better_by_mcid is not None:
            p = b.prob_better_by_mcid
            sure.append(
                f"It is {likelihood_words(p)} ({chance_in_100(p)}) that it was at least "
                f"{w.amount(analysis.mcid)} {w.better}."
            )
    if analysis.mcid is not None:
        sure.append(
            f"A difference of {w.amount(analysis.mcid)} is the smallest counted as important here "
            f"({description.mcid_source})."
        )

    not_mean = [
        "This is about you, during this trial only. It may be different at another time.",
        "It does not show what would happen to anyone else.",
        "It does not say what caused a difference.",
        "It is not advice on how much kratom to take. kratomwatch never suggests a dose.",
        "Any change to your treatment is a decision you make with your clinician.",
    ]
    return Card(
        title=f"Your trial result: {w.outcome}",
        sections=(
            Section(COMPARED, tuple(compared)),
            Section(HAPPENED, tuple(happened)),
            Section(HOW_SURE, tuple(sure)),
            Section(NOT_MEAN, tuple(not_mean)),
        ),
    )


def _prob(p: float | None) -> str:
    if p is None:
        return "n/a"
    if p > 0.995:
        return "> 0.99"
    if p < 0.005:
        return "< 0.01"
    return f"{p:.2f}"


def _p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _adherence_lines(w: _Words) -> list[str]:
    """The clinician's adherence lines: target and actual mean mg a day per condition, and any deviation."""
    description = w.d
    adherence: list[str] = []
    deviations = w.deviations()
    for c in [w.a.reference, *w.others]:
        adh = description.adherence.get(c)
        if adh is None:
            continue
        bits = []
        for substance, target, actual in (
            ("mitragynine", adh.target_mitragynine_mg, adh.actual_mitragynine_mg),
            ("7-OH", adh.target_7oh_mg, adh.actual_7oh_mg),
        ):
            if target is None and actual is None:
                continue
            t = "no target" if target is None else f"target {_mg(target)}/day"
            a = "not measured" if actual is None else f"actual mean {_mg(actual)}/day"
            bits.append(f"{substance} {t}, {a}")
        if bits:
            adherence.append(f"{c}: " + "; ".join(bits) + ".")
    if deviations:
        adherence.append(
            f"Adherence deviated by more than {description.deviation_fraction:.0%} of target on "
            f"{_list(list(deviations))}: the comparison is of what was taken, not what was planned."
        )
    return adherence or ["No adherence summary was given."]


def clinician_letter(analysis: Analysis, description: TrialDescription) -> Card:
    """The clinician letter: the design, both estimates, rho, washout sensitivity, the exposure-adjusted
    estimate, adherence, the model formula, the limits, and the word mapping used on the patient card."""
    w = _Words(analysis, description)
    ref = analysis.reference
    dp = description.decimals + 1

    def num(v: float) -> str:
        return f"{v:.{dp}f}"

    def ci(pair: tuple[float, float] | list[float]) -> str:
        return f"{num(pair[0])} to {num(pair[1])}"

    unit = description.unit + (f", {description.scale}" if description.scale else "")
    design = [
        "Conditions: "
        + "; ".join(
            f"{c} ({w.label(c)}{', reference' if c == ref else ''})"
            if w.label(c) != c
            else f"{c}{' (reference)' if c == ref else ''}"
            for c in [ref, *w.others]
        )
        + ".",
        f"Primary outcome: {w.outcome} ({unit}); {w.better} is better.",
    ]
    if description.period_days and description.blocks:
        design.append(
            f"Periods of {description.period_days} days; {description.blocks} blocks, order randomized within blocks."
        )
    design.append(
        "Days used: "
        + ", ".join(f"{c} {analysis.n_days_used[c]}" for c in [ref, *w.others])
        + " (missing and washout days excluded)."
    )
    if analysis.mcid is not None:
        design.append(f"MCID: {w.amount(analysis.mcid)} ({description.mcid_source}).")

    results = []
    for c in w.others:
        b = analysis.bayes[c]
        mcid = (
            f"; P(better by >= {w.amount(analysis.mcid)}) {_prob(b.prob_better_by_mcid)}"
            if analysis.mcid is not None
            else ""
        )
        results.append(
            f"{c} vs {ref}: posterior mean {num(b.effect)} (95 % CrI {ci(b.interval_95)}); "
            f"P(better) {_prob(b.prob_better)}{mcid}; {b.n_days_used} days."
        )
    for c in w.others:
        f = analysis.frequentist[c]
        results.append(
            f"{c} vs {ref}, feasible GLS: {num(f.effect)} (95 % CI {ci(f.interval_95)}), {_p_value(f.p_value)}."
        )
    results.append(
        f"Day-to-day correlation rho: posterior mean {analysis.rho:.2f}, maximum likelihood {analysis.rho_ml:.2f}."
    )

    sensitivity = []
    for row in analysis.sensitivity:
        extra = row["extra_washout_days"]
        if "error" in row:
            sensitivity.append(f"+{extra} washout days: not estimable ({row['error']}).")
            continue
        parts = [
            f"{c} {num(e['effect'])} ({ci(e['interval_95'])}), P(better) {_prob(e['prob_better'])}"
            for c, e in row["conditions"].items()
        ]
        sensitivity.append(f"+{extra} washout days: " + "; ".join(parts) + ".")

    exposure: list[str]
    adj = analysis.exposure_adjusted
    if adj is None:
        exposure = ["Not estimated: no measured mg per day."]
    elif adj.get("status") != "estimated":
        exposure = [f"Not estimable: {adj.get('reason', 'no reason given')}."]
    else:
        exposure = [
            f"{c} vs {ref} beyond the measured mg: {num(e['effect'])} (95 % CrI {ci(e['interval_95'])}), "
            f"P(better) {_prob(e['prob_better'])}."
            for c, e in adj["conditions"].items()
        ]
        per10 = adj["per_10_mg"]
        exposure.append(
            f"Outcome change per 10 mg measured: {num(per10['effect'])} (95 % CrI {ci(per10['interval_95'])}); "
            "an association within this patient, not a dose-response relation."
        )

    adherence = _adherence_lines(w)

    limits = [
        "One patient, one period of time: the result does not generalise to other patients and may change.",
        "P(better) does not identify the cause: expectation, unblinded conditions, co-treatments and life events "
        "can contribute.",
        "This is not dosing advice: kratomwatch never suggests a dose. Treatment decisions rest with the patient "
        "and clinician.",
        "Words on the patient card: "
        + "; ".join(f"{words} from {lowest} in 100" for lowest, words in PROBABILITY_WORDS)
        + " (chance rounded down to a whole number in 100).",
    ]
    return Card(
        title=f"N-of-1 trial result: {w.outcome}",
        sections=(
            Section("Design", tuple(design)),
            Section("Results", tuple(results)),
            Section("Washout sensitivity", tuple(sensitivity) or ("Not computed.",)),
            Section("Exposure-adjusted estimate", tuple(exposure)),
            Section("Adherence", tuple(adherence)),
            Section("Model", (analysis.model,)),
            Section("Limits", tuple(limits)),
        ),
    )
