"""The words of an n-of-1 result (core/nof1_card.py): the words follow the numbers, the limits are always there,
no line recommends a dose, adherence deviations are named, and the probability-to-words mapping at its bounds."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from kratomwatch.core import nof1, nof1_card
from kratomwatch.core.errors import InputError
from kratomwatch.core.nof1_card import Adherence, TrialDescription

FORBIDDEN = re.compile(
    r"should take|increase your|decrease your|reduce your|recommend|\bworks?\b|\bhelps?\b|\bbenefit", re.IGNORECASE
)

PAIN = TrialDescription(
    outcome="Pain",
    condition_labels={"A": "your usual routine", "B": "the reduced routine"},
    scale="0 to 10 scale",
    mcid_source="published: Farrar et al. 2001",
    period_days=14,
    blocks=4,
)


def simulated(effect: float, *, seed: int, exposure: bool = False) -> nof1.Trial:
    """2 conditions x 4 blocks x 2 periods of 14 days, AR(1) errors (rho 0.4, SD 1); B is ``effect`` above A."""
    rng = np.random.default_rng(seed)
    conds: list[str] = []
    blk: list[int] = []
    for b in range(4):
        for c in rng.permutation(["A", "B"]):
            conds += [str(c)] * 14
            blk += [b + 1] * 14
    n = len(conds)
    e = np.empty(n)
    e[0] = rng.normal()
    for t in range(1, n):
        e[t] = 0.4 * e[t - 1] + rng.normal() * np.sqrt(1 - 0.16)
    is_b = np.array(conds) == "B"
    y = 5.0 + effect * is_b + e
    mg = np.where(is_b, 20.0, 40.0) + rng.normal(0, 5, n) if exposure else None
    return nof1.Trial.of(np.arange(n), conds, y, block=blk, exposure_mg=mg)


def analysis(effect: float, *, seed: int, lower_is_better: bool = True, exposure: bool = False) -> nof1.Analysis:
    return nof1.analyse(
        simulated(effect, seed=seed, exposure=exposure),
        "A",
        mcid=1.0,
        lower_is_better=lower_is_better,
        draws=4000,
        sensitivity_days=(0, 1),
    )


def all_text(card: nof1_card.Card) -> str:
    return card.text()


@pytest.fixture(scope="module")
def clear() -> nof1.Analysis:
    return analysis(-2.0, seed=11, exposure=True)


@pytest.fixture(scope="module")
def none() -> nof1.Analysis:
    return analysis(0.0, seed=12)


def test_clear_effect_lower_is_better(clear: nof1.Analysis) -> None:
    b = clear.bayes["B"]
    assert b.effect < -1.0 and b.prob_better > 0.99
    card = nof1_card.patient_card(clear, PAIN)
    happened = card.section(nof1_card.HAPPENED).lines
    assert happened[0] == (
        f"Pain was {abs(b.effect):.1f} points lower (0 to 10 scale) on the reduced routine than on your usual routine."
    )
    low, high = b.interval_95
    assert happened[1] == (
        f"Allowing for chance, the real difference could be anywhere from {abs(low):.1f} points lower "
        f"to {abs(high):.1f} points lower."
    )
    sure = card.section(nof1_card.HOW_SURE).lines
    assert sure[0] == (
        f"It is very likely ({nof1_card.chance_in_100(b.prob_better)}) that your pain was lower on the reduced "
        "routine than on your usual routine."
    )
    assert b.prob_better_by_mcid is not None
    assert sure[1].startswith(f"It is {nof1_card.likelihood_words(b.prob_better_by_mcid)} (")
    assert sure[1].endswith("that it was at least 1.0 point lower.")
    assert "(published: Farrar et al. 2001)" in sure[2]
    assert card.section(nof1_card.COMPARED).lines[-2] == (
        f"We used {clear.n_days_used['A']} days on your usual routine and {clear.n_days_used['B']} days on the "
        "reduced routine."
    )


def test_no_effect_reads_as_uncertain(none: nof1.Analysis) -> None:
    b = none.bayes["B"]
    assert 0.05 < b.prob_better < 0.95
    card = nof1_card.patient_card(none, PAIN)
    sure = card.section(nof1_card.HOW_SURE).lines[0]
    assert "very likely" not in sure
    assert f"It is {nof1_card.likelihood_words(b.prob_better)} ({nof1_card.chance_in_100(b.prob_better)})" in sure
    happened = card.section(nof1_card.HAPPENED).lines[1]
    # the interval crosses zero, and the card says so in its two ends
    assert "lower to" in happened and happened.endswith("higher.")
    assert b.prob_better_by_mcid is not None and b.prob_better_by_mcid < 0.2
    assert nof1_card.likelihood_words(b.prob_better_by_mcid) in {"unlikely", "very unlikely"}


def test_higher_is_better() -> None:
    """Sleep quality 1.5 higher on B, higher is better: 'higher' in every sentence, 'very likely' it was higher."""
    a = analysis(1.5, seed=13, lower_is_better=False)
    b = a.bayes["B"]
    assert b.effect > 1.0 and b.prob_better > 0.95
    sleep = TrialDescription(outcome="Sleep quality", scale="0 to 10 scale", mcid_source="program choice")
    card = nof1_card.patient_card(a, sleep)
    assert card.section(nof1_card.HAPPENED).lines[0] == (
        f"Sleep quality was {b.effect:.1f} points higher (0 to 10 scale) on B than on A."
    )
    assert card.section(nof1_card.HOW_SURE).lines[0].startswith("It is very likely (")
    assert card.section(nof1_card.HOW_SURE).lines[0].endswith("that your sleep quality was higher on B than on A.")
    letter = nof1_card.clinician_letter(a, sleep)
    assert "Primary outcome: Sleep quality (points, 0 to 10 scale); higher is better." in letter.text()


def test_does_not_mean_is_always_there_and_nothing_recommends_a_dose(clear: nof1.Analysis, none: nof1.Analysis) -> None:
    for a in (clear, none):
        for description in (PAIN, TrialDescription(outcome="Pain", mcid_source="program choice")):
            card = nof1_card.patient_card(a, description)
            lines = card.section(nof1_card.NOT_MEAN).lines
            assert any("anyone else" in line for line in lines)
            assert any("not advice on how much kratom to take" in line for line in lines)
            assert any("decision you make with your clinician" in line for line in lines)
            assert any("during this trial only" in line for line in lines)
            letter = nof1_card.clinician_letter(a, description)
            for text in (card.text(), letter.text()):
                assert FORBIDDEN.search(text) is None, FORBIDDEN.search(text)


def test_short_sentences_on_the_card(clear: nof1.Analysis) -> None:
    """Reading level: no sentence of the patient card is longer than 25 words."""
    for sentence in re.split(
        r"(?<=[.])\s+", " ".join(" ".join(s.lines) for s in nof1_card.patient_card(clear, PAIN).sections)
    ):
        assert len(sentence.split()) <= 25, sentence


def test_clinician_letter_has_the_numbers(clear: nof1.Analysis) -> None:
    letter = nof1_card.clinician_letter(clear, PAIN)
    text = letter.text()
    b, f = clear.bayes["B"], clear.frequentist["B"]
    assert f"B vs A: posterior mean {b.effect:.2f} (95 % CrI {b.interval_95[0]:.2f} to {b.interval_95[1]:.2f})" in text
    assert f"B vs A, feasible GLS: {f.effect:.2f} (95 % CI {f.interval_95[0]:.2f} to {f.interval_95[1]:.2f})" in text
    assert f"rho: posterior mean {clear.rho:.2f}, maximum likelihood {clear.rho_ml:.2f}" in text
    assert "+0 washout days: B" in text and "+1 washout days: B" in text
    assert "Outcome change per 10 mg measured" in text
    assert clear.model in text
    assert "MCID: 1.0 point (published: Farrar et al. 2001)." in text
    assert "very likely from 95 in 100" in text


def test_adherence_deviation_is_named(clear: nof1.Analysis) -> None:
    """B's target was 20 mg mitragynine a day, 26 mg taken (30 % over, above the 20 % fraction): the card and the
    letter say the comparison is of what was taken. Within the fraction nothing is said."""
    off = TrialDescription(
        outcome="Pain",
        mcid_source="program choice",
        adherence={
            "A": Adherence(target_mitragynine_mg=40, actual_mitragynine_mg=41),
            "B": Adherence(target_mitragynine_mg=20, actual_mitragynine_mg=26, target_7oh_mg=0.5, actual_7oh_mg=0.55),
        },
    )
    card = nof1_card.patient_card(clear, off).text()
    assert "On B, the plan was 20 mg of mitragynine a day. You took 26 mg a day on average." in card
    assert "So this compares what you actually took, not what was planned." in card
    assert "7-OH" not in card  # 0.55 against 0.5 is within 20 %
    letter = nof1_card.clinician_letter(clear, off).text()
    assert (
        "B: mitragynine target 20 mg/day, actual mean 26 mg/day; 7-OH target 0.50 mg/day, actual mean 0.55 mg/day."
        in letter
    )
    assert "Adherence deviated by more than 20% of target on B: the comparison is of what was taken" in letter

    on_plan = TrialDescription(outcome="Pain", mcid_source="program choice", adherence={"B": Adherence(20, 23)})
    assert "what was planned" not in nof1_card.patient_card(clear, on_plan).text()
    none_planned = TrialDescription(outcome="Pain", mcid_source="program choice", adherence={"B": Adherence(0, 3)})
    assert (
        "the plan was 0 mg of mitragynine a day. You took 3.0 mg a day"
        in nof1_card.patient_card(clear, none_planned).text()
    )


@pytest.mark.parametrize(
    ("p", "words", "chance"),
    [
        (1.0, "very likely", "more than 99 in 100"),
        (0.95, "very likely", "95 in 100"),
        (0.9499, "likely", "94 in 100"),
        (0.80, "likely", "80 in 100"),
        (0.7999, "more likely than not", "79 in 100"),
        (0.60, "more likely than not", "60 in 100"),
        (0.5999, "about as likely as not", "59 in 100"),
        (0.40, "about as likely as not", "40 in 100"),
        (0.3999, "less likely than not", "39 in 100"),
        (0.20, "less likely than not", "20 in 100"),
        (0.1999, "unlikely", "19 in 100"),
        (0.05, "unlikely", "5 in 100"),
        (0.0499, "very unlikely", "4 in 100"),
        (0.004, "very unlikely", "less than 1 in 100"),
        (0.0, "very unlikely", "less than 1 in 100"),
    ],
)
def test_probability_words_at_the_bounds(p: float, words: str, chance: str) -> None:
    assert nof1_card.likelihood_words(p) == words
    assert nof1_card.chance_in_100(p) == chance


@pytest.mark.parametrize("p", [-0.1, 1.01, float("nan")])
def test_probability_out_of_range(p: float) -> None:
    with pytest.raises(InputError) as err:
        nof1_card.likelihood_words(p)
    assert err.value.field == "probability"


def test_without_an_mcid_nothing_is_said_of_one(clear: nof1.Analysis) -> None:
    no_mcid = dataclasses.replace(clear, mcid=None)
    card = nof1_card.patient_card(no_mcid, TrialDescription(outcome="Pain"))
    assert len(card.section(nof1_card.HOW_SURE).lines) == 1
    assert "MCID" not in nof1_card.clinician_letter(no_mcid, TrialDescription(outcome="Pain")).text()


def test_acronym_outcome_and_missing_label(none: nof1.Analysis) -> None:
    peg = TrialDescription(outcome="PEG score", condition_labels={"A": "usual", "B": " "}, mcid_source="program choice")
    text = nof1_card.patient_card(none, peg).text()
    assert "your PEG score was lower on B than on usual." in text
    assert "We compared your PEG score on usual and B." in text


def test_bad_description(clear: nof1.Analysis) -> None:
    with pytest.raises(InputError) as err:
        nof1_card.patient_card(clear, TrialDescription(outcome="Pain"))
    assert (err.value.field, err.value.value) == ("mcid_source", None)
    with pytest.raises(InputError) as err:
        nof1_card.patient_card(clear, TrialDescription(outcome="Pain", mcid_source="x", adherence={"C": Adherence()}))
    assert (err.value.field, err.value.value) == ("adherence", "C")
    with pytest.raises(InputError) as err:
        nof1_card.clinician_letter(clear, TrialDescription(outcome="Pain", mcid_source="x", deviation_fraction=0))
    assert err.value.field == "deviation_fraction"
