"""The n-of-1 analysis engine (core/nof1.py): calibration by simulation, the frequentist comparison against
statsmodels, missing and washout days, and each bad input."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from kratomwatch.core import nof1
from kratomwatch.core.errors import InputError

SIMULATIONS = 300


def simulate(
    rng: np.random.Generator, effect: float, *, rho: float = 0.5, blocks: int = 4, period: int = 14
) -> nof1.Trial:
    """2 conditions x ``blocks`` blocks x 2 periods of ``period`` days, random order in each block, a block drift,
    AR(1) errors with correlation ``rho`` and unit marginal SD; condition B is ``effect`` above A."""
    conds: list[str] = []
    blk: list[int] = []
    for b in range(blocks):
        for c in rng.permutation(["A", "B"]):
            conds += [str(c)] * period
            blk += [b + 1] * period
    n = len(conds)
    e = np.empty(n)
    e[0] = rng.normal()
    for t in range(1, n):
        e[t] = rho * e[t - 1] + rng.normal() * np.sqrt(1 - rho**2)
    y = 5.0 + effect * (np.array(conds) == "B") + 0.3 * np.array(blk) + e
    return nof1.Trial.of(np.arange(n), conds, y, block=blk)


def test_credible_interval_is_calibrated_with_a_known_effect() -> None:
    """300 simulated trials (2 conditions x 4 blocks x 2 periods of 14 days, AR(1) rho 0.5, true effect -1):
    the 95 % credible interval covered the true effect in 286/300 = 95.3 % (seed 1; docs/nof1.md)."""
    rng = np.random.default_rng(1)
    covered = 0
    for i in range(SIMULATIONS):
        est, _ = nof1.bayes(simulate(rng, -1.0), "A", draws=2000, seed=i)
        low, high = est["B"].interval_95
        covered += low <= -1.0 <= high
    coverage = covered / SIMULATIONS
    assert 0.90 <= coverage <= 0.99, coverage


def test_no_effect_gives_no_systematic_benefit() -> None:
    """300 simulated trials with no effect (seed 2): the mean P(better) was 0.505 and P(better) > 0.95 in
    10/300 = 3.3 % (a calibrated posterior gives it in about 5 % of trials; docs/nof1.md)."""
    rng = np.random.default_rng(2)
    probs = []
    for i in range(SIMULATIONS):
        est, _ = nof1.bayes(simulate(rng, 0.0), "A", draws=2000, seed=i)
        probs.append(est["B"].prob_better)
    p = np.array(probs)
    assert 0.4 <= p.mean() <= 0.6, p.mean()
    assert (p > 0.95).mean() <= 0.07, (p > 0.95).mean()


def test_a_real_benefit_is_detected_and_respects_the_direction() -> None:
    trial = simulate(np.random.default_rng(3), -1.5)
    lower, _ = nof1.bayes(trial, "A", mcid=0.5)
    higher, _ = nof1.bayes(trial, "A", mcid=0.5, lower_is_better=False)
    assert lower["B"].prob_better > 0.95
    assert lower["B"].prob_better_by_mcid is not None and lower["B"].prob_better_by_mcid > 0.5
    assert lower["B"].prob_better_by_mcid <= lower["B"].prob_better
    assert higher["B"].prob_better == pytest.approx(1 - lower["B"].prob_better, abs=1e-9)
    assert lower["B"].effect < 0


def test_frequentist_matches_statsmodels_ols_at_rho_zero() -> None:
    trial = simulate(np.random.default_rng(4), -1.0)
    freq, rho = nof1.frequentist(trial, "A", rho=0.0)
    blocks = trial.block
    assert blocks is not None
    x = np.column_stack(
        [np.ones(len(trial.day)), np.array(trial.condition) == "B"] + [blocks == b for b in (2, 3, 4)]
    ).astype(float)
    ref = sm.OLS(trial.outcome, x).fit()
    assert rho == 0.0
    assert freq["B"].effect == pytest.approx(ref.params[1], rel=1e-9)
    low, high = ref.conf_int(0.05)[1]
    assert freq["B"].interval_95[0] == pytest.approx(low, rel=1e-6)
    assert freq["B"].interval_95[1] == pytest.approx(high, rel=1e-6)
    assert freq["B"].p_value == pytest.approx(ref.pvalues[1], rel=1e-4, abs=1e-12)


def test_frequentist_at_a_fixed_rho_is_exact_gls_with_ar1_covariance() -> None:
    """With no gaps, Prais-Winsten at rho equals GLS with the AR(1) covariance rho^|i-j| (statsmodels GLS)."""
    trial = simulate(np.random.default_rng(5), -1.0)
    freq, _ = nof1.frequentist(trial, "A", rho=0.5)
    blocks = trial.block
    assert blocks is not None
    n = len(trial.day)
    x = np.column_stack([np.ones(n), np.array(trial.condition) == "B"] + [blocks == b for b in (2, 3, 4)]).astype(float)
    idx = np.arange(n)
    sigma = 0.5 ** np.abs(idx[:, None] - idx[None, :])
    ref = sm.GLS(trial.outcome, x, sigma=sigma).fit()
    assert freq["B"].effect == pytest.approx(ref.params[1], rel=1e-8)
    assert freq["B"].interval_95[1] - freq["B"].effect == pytest.approx(
        ref.conf_int(0.05)[1][1] - ref.params[1], rel=1e-6
    )


def test_missing_and_washout_days_are_excluded_and_counted() -> None:
    trial = simulate(np.random.default_rng(6), -1.0)
    y = trial.outcome.copy()
    y[[3, 4, 20]] = np.nan
    washout = np.zeros(len(y), dtype=bool)
    washout[[14, 15, 28, 29]] = True
    gappy = nof1.Trial.of(trial.day, trial.condition, y, block=trial.block, washout=washout)
    est, _ = nof1.bayes(gappy, "A", draws=2000)
    a_days = sum(1 for i, c in enumerate(trial.condition) if c == "A" and not np.isnan(y[i]) and not washout[i])
    b_days = sum(1 for i, c in enumerate(trial.condition) if c == "B" and not np.isnan(y[i]) and not washout[i])
    assert est["B"].n_days_used == b_days
    assert a_days + b_days == len(y) - 7
    analysis = nof1.analyse(gappy, "A", draws=2000)
    assert analysis.n_days_used == {"A": a_days, "B": b_days}


def test_washout_sensitivity_drops_days_at_the_start_of_each_period() -> None:
    trial = simulate(np.random.default_rng(7), -1.0)
    rows = nof1.washout_sensitivity(trial, "A", extra_days=(0, 1, 2), draws=2000)
    assert [r["extra_washout_days"] for r in rows] == [0, 1, 2]
    used = [r["conditions"]["B"]["n_days_used"] for r in rows]
    assert used == [56, 52, 48]  # 4 periods of condition B lose 1 more day each step
    too_many = nof1.washout_sensitivity(trial, "A", extra_days=(14,), draws=2000)
    assert "error" in too_many[0]


def test_exposure_adjusted_estimate_reports_the_mg_slope() -> None:
    trial = simulate(np.random.default_rng(8), -1.0)
    rng = np.random.default_rng(9)
    mg = np.where(np.array(trial.condition) == "A", 40.0, 20.0) + rng.normal(0, 3, len(trial.day))
    with_mg = nof1.Trial.of(trial.day, trial.condition, trial.outcome, block=trial.block, exposure_mg=mg)
    result = nof1.analyse(with_mg, "A", draws=2000).to_dict()
    adjusted = result["exposure_adjusted"]
    assert adjusted["status"] == "estimated"
    assert set(adjusted["conditions"]) == {"B"}
    low, high = adjusted["per_10_mg"]["interval_95"]
    assert low < adjusted["per_10_mg"]["effect"] < high


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("no_reference", "reference"),
        ("one_block", "block"),
        ("empty_condition", "condition"),
        ("too_few_days", "outcome"),
        ("duplicate_day", "day"),
        ("too_many_days", "day"),
        ("bad_mcid", "mcid"),
    ],
)
def test_bad_input_names_the_problem(change: str, field: str) -> None:
    trial = simulate(np.random.default_rng(10), -1.0)
    reference = "A"
    mcid = None
    if change == "no_reference":
        reference = "C"
    elif change == "one_block":
        trial = nof1.Trial.of(trial.day, trial.condition, trial.outcome, block=np.ones(len(trial.day)))
    elif change == "empty_condition":
        y = np.where(np.array(trial.condition) == "B", np.nan, trial.outcome)
        trial = nof1.Trial.of(trial.day, trial.condition, y, block=trial.block)
    elif change == "too_few_days":
        trial = nof1.Trial.of([0, 1, 2, 3], ["A", "B", "A", "B"], [1.0, 2.0, 1.5, 2.5], block=[1, 1, 2, 2])
    elif change == "duplicate_day":
        with pytest.raises(InputError) as caught:
            nof1.Trial.of([0, 1, 1], ["A", "B", "A"], [1.0, 2.0, 3.0])
        assert caught.value.field == field
        return
    elif change == "too_many_days":
        n = nof1.MAX_DAYS + 1
        with pytest.raises(InputError) as caught:
            nof1.Trial.of(np.arange(n), ["A", "B"] * (n // 2) + ["A"], np.zeros(n))
        assert caught.value.field == field
        return
    elif change == "bad_mcid":
        mcid = -1.0
    with pytest.raises(InputError) as caught:
        nof1.bayes(trial, reference, mcid=mcid, draws=500)
    assert caught.value.field == field
