"""The exposure-outcome mixed model (``core/cohort_models.py``): it recovers a known slope from simulated data,
agrees with statsmodels' MixedLM (REML) on the same data, reduces to least squares when participants do not
differ, and says "not estimable" (never raises) for too few participants or weeks, a constant exposure, or a fit
that does not settle. Seeded: the same numbers every run."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from kratomwatch.core import cohort_models as cm
from kratomwatch.core.errors import InputError

TRUE_SLOPE = -0.3  # outcome points per 10 mg mitragynine per day


def simulate(
    people: int = 120, weeks: int = 12, *, between_sd: float = 1.5, seed: int = 11
) -> tuple[np.ndarray[Any, Any], ...]:
    """y = 6 + TRUE_SLOPE * mg/10 + 0.05 * week + u_i + e, with each participant's own usual dose plus weekly
    variation (so the slope is identified within and between participants)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(people), weeks)
    week = np.tile(np.arange(weeks), people).astype(float)
    usual = rng.uniform(10, 90, people)
    mg = np.clip(usual[g] + rng.normal(0, 10, g.size), 0, None)
    y = 6 + TRUE_SLOPE * mg / 10 + 0.05 * week + rng.normal(0, between_sd, people)[g] + rng.normal(0, 1, g.size)
    return g, y, mg, week


def test_recovers_a_known_slope() -> None:
    g, y, mg, week = simulate()
    fit = cm.exposure_outcome(g, y, mg, week, k=5)
    assert fit.status == "estimated" and fit.reason is None and fit.converged
    assert fit.coefficient is not None and fit.lower is not None and fit.upper is not None
    assert abs(fit.coefficient - TRUE_SLOPE) < 0.05
    assert fit.lower < TRUE_SLOPE < fit.upper and fit.upper - fit.lower < 0.2
    assert fit.p_value is not None and fit.p_value < 1e-6
    assert (fit.n_participants, fit.n_observations) == (120, 1440)
    assert "not an effect" in fit.note and fit.per == "10 mg mitragynine per day"
    assert "(1 | participant)" in fit.formula


def test_agrees_with_statsmodels_mixedlm_reml() -> None:
    from statsmodels.regression.mixed_linear_model import MixedLM

    g, y, mg, week = simulate(people=60, weeks=8, seed=5)
    ours = cm.exposure_outcome(g, y, mg, week, k=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MixedLM(y, np.column_stack([np.ones_like(mg), mg / 10, week]), groups=g).fit(reml=True)
    assert theirs.converged
    assert ours.coefficient == pytest.approx(float(theirs.fe_params[1]), rel=1e-4)
    lower, upper = theirs.conf_int()[1]
    # The interval: statsmodels' standard error comes from the observed information of every parameter, ours from
    # the fixed-effect block (s_e^2 A^-1); they agree to well under 1 %.
    assert ours.lower == pytest.approx(lower, rel=1e-2) and ours.upper == pytest.approx(upper, rel=1e-2)
    assert ours.p_value == pytest.approx(float(theirs.pvalues[1]), rel=0.1, abs=1e-12)


def test_without_between_participant_variance_it_is_least_squares() -> None:
    g, _, mg, week = simulate(between_sd=0.0, seed=3)
    # Residuals that sum to 0 within each participant (12 weeks each): no participant differs from another.
    y = 6 + TRUE_SLOPE * mg / 10 + 0.05 * week + np.resize([0.4, -0.4, 0.1, -0.1], g.size)
    fit = cm.exposure_outcome(g, y, mg, week, k=5)
    ols = np.linalg.lstsq(np.column_stack([np.ones_like(mg), mg / 10, week]), y, rcond=None)[0]
    assert fit.status == "estimated" and "reduces to least squares" in fit.note
    assert fit.coefficient == pytest.approx(float(ols[1]), rel=1e-6)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("few_people", "the model needs at least 5"),
        ("few_weeks", "in at least 3 weeks"),
        ("constant_exposure", "exposure does not vary"),
        ("one_week", "needs at least"),
        ("empty", "0 participant(s)"),
        ("no_within_variation", "converge"),
    ],
)
def test_not_estimable_says_why(case: str, reason: str) -> None:
    g, y, mg, week = simulate(people=20, weeks=6)
    if case == "few_people":
        keep = g < 4
        g, y, mg, week = g[keep], y[keep], mg[keep], week[keep]
    elif case == "few_weeks":
        keep = week < 2
        g, y, mg, week = g[keep], y[keep], mg[keep], week[keep]
    elif case == "constant_exposure":
        mg = np.full_like(mg, 40.0)
    elif case == "one_week":
        week = np.zeros_like(week)
        g = np.arange(g.size)  # one row per participant
    elif case == "empty":
        g, y, mg, week = g[:0], y[:0], mg[:0], week[:0]
    elif case == "no_within_variation":
        y = np.asarray(g, dtype=float) * 2.0  # every participant's outcome constant: no residual within anyone
    fit = cm.exposure_outcome(g, y, mg, week, k=5)
    assert fit.status == "not_estimable" and not fit.converged
    assert fit.reason is not None and reason in fit.reason, fit.reason
    assert fit.coefficient is None and fit.lower is None and fit.p_value is None
    assert "not an effect" in fit.note


def test_missing_values_are_left_out_and_bad_input_is_named() -> None:
    g, y, mg, week = simulate(people=30, weeks=6)
    y_gaps = y.copy()
    y_gaps[::7] = np.nan
    fit = cm.exposure_outcome(g, y_gaps, mg, week, k=5)
    assert fit.status == "estimated" and fit.n_observations == int(np.isfinite(y_gaps).sum())
    with pytest.raises(InputError) as k_low:
        cm.exposure_outcome(g, y, mg, week, k=1)
    assert k_low.value.field == "k"
    with pytest.raises(InputError) as shape:
        cm.exposure_outcome(g, y[:-1], mg, week, k=5)
    assert shape.value.field == "outcome"
