"""Disproportionality statistics against hand-computed 2x2 tables and the model's own identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kratomwatch.core import disproportionality as dp

# One hand-worked table: a = 20 reports of the event with the product, b = 80 other reports with the product,
# c = 200 reports of the event without it, d = 9700 other reports. n1. = 100, n.1 = 220, N = 10000.
A, B, C, D = 20.0, 80.0, 200.0, 9700.0
N1, M1, TOTAL = A + B, A + C, A + B + C + D


def test_prr_by_hand() -> None:
    result = dp.prr([A], [N1], [M1], [TOTAL])
    expected_prr = (20 / 100) / (200 / 9900)  # 9.9
    assert result.prr[0] == pytest.approx(expected_prr)
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 200 - 1 / 9900)
    assert result.lower95[0] == pytest.approx(math.exp(math.log(expected_prr) - 1.959964 * se), rel=1e-6)
    assert result.upper95[0] == pytest.approx(math.exp(math.log(expected_prr) + 1.959964 * se), rel=1e-6)
    chi2 = TOTAL * (A * D - B * C) ** 2 / (N1 * (C + D) * M1 * (B + D))
    assert result.chi2[0] == pytest.approx(chi2)
    # The Pearson statistic is scipy's uncorrected chi-square on the same table; Yates matches the corrected one.
    assert result.chi2[0] == pytest.approx(stats.chi2_contingency([[A, B], [C, D]], correction=False)[0])
    yates = dp.prr([A], [N1], [M1], [TOTAL], yates=True)
    assert yates.chi2[0] == pytest.approx(stats.chi2_contingency([[A, B], [C, D]], correction=True)[0])
    assert yates.chi2[0] < result.chi2[0]


def test_evans_rule_needs_three_reports_prr_two_and_chi2_four() -> None:
    a = np.array([20.0, 2.0, 20.0])
    n1 = np.array([100.0, 10.0, 1000.0])
    m1 = np.array([220.0, 22.0, 220.0])
    result = dp.prr(a, n1, m1, np.full(3, TOTAL))
    flags = dp.prr_signal(a, result)
    assert flags.tolist() == [True, False, False]  # 2 reports is too few; the third has PRR below 2
    assert result.prr[1] >= 2 and result.prr[2] < 2


def test_ror_by_hand_with_woolf_interval() -> None:
    result = dp.ror([A], [N1], [M1], [TOTAL])
    expected_ror = (A * D) / (B * C)
    se = math.sqrt(1 / A + 1 / B + 1 / C + 1 / D)
    assert result.ror[0] == pytest.approx(expected_ror)  # 12.125
    assert result.lower95[0] == pytest.approx(math.exp(math.log(expected_ror) - 1.959964 * se), rel=1e-6)
    assert result.upper95[0] == pytest.approx(math.exp(math.log(expected_ror) + 1.959964 * se), rel=1e-6)


def test_zero_cells_give_inf_not_a_warning() -> None:
    # The event is only ever reported with this product (c = 0): PRR and ROR are infinite, as openEBGM prints.
    result = dp.prr([1.0], [1.0], [1.0], [3356.0])
    assert result.prr[0] == math.inf
    assert dp.ror([1.0], [1.0], [1.0], [3356.0]).ror[0] == math.inf


def test_ic_by_hand() -> None:
    expected = N1 * M1 / TOTAL  # 2.2
    result = dp.ic([A], [expected])
    assert result.ic[0] == pytest.approx(math.log2(20.5 / 2.7))
    assert result.ic025[0] == pytest.approx(math.log2(stats.gamma.ppf(0.025, 20.5, scale=1 / 2.7)))
    assert result.ic975[0] == pytest.approx(math.log2(stats.gamma.ppf(0.975, 20.5, scale=1 / 2.7)))
    assert result.ic025[0] > 0  # a signal by IC025 > 0
    # Shrinkage: one report where 0.01 were expected is not a strong signal.
    single = dp.ic([1.0], [0.01])
    assert single.ic[0] == pytest.approx(math.log2(1.5 / 0.51)) and single.ic025[0] < 0


def test_expected_counts_use_floats_for_large_margins() -> None:
    big = np.array([3_000_000_000], dtype=np.int64)
    assert dp.expected_counts(big, big, big * 2)[0] == pytest.approx(1.5e9)


THETA = np.array([3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557])


def test_qn_matches_the_mixture_weights() -> None:
    n, e = np.array([1.0, 5.0]), np.array([0.04, 0.3])
    f1 = stats.nbinom.pmf(n, THETA[0], THETA[1] / (THETA[1] + e))
    f2 = stats.nbinom.pmf(n, THETA[2], THETA[3] / (THETA[3] + e))
    expected = THETA[4] * f1 / (THETA[4] * f1 + (1 - THETA[4]) * f2)
    assert dp.qn(THETA, n, e) == pytest.approx(expected, rel=1e-10)


def test_posterior_quantiles_solve_the_mixture_cdf() -> None:
    n, e = np.array([1.0, 3.0, 16.0, 200.0]), np.array([0.0003, 0.9, 0.41, 40.0])
    scores = dp.gps_scores(THETA, n, e)
    for prob, values in ((0.05, scores.eb05), (0.95, scores.eb95)):
        cdf = scores.qn * stats.gamma.cdf(values, THETA[0] + n, scale=1 / (THETA[1] + e)) + (1 - scores.qn) * (
            stats.gamma.cdf(values, THETA[2] + n, scale=1 / (THETA[3] + e))
        )
        assert cdf == pytest.approx(np.full(n.size, prob), abs=1e-6)
    assert np.all(scores.eb05 < scores.ebgm) and np.all(scores.ebgm < scores.eb95)


def test_negative_log_likelihood_matches_scipy_truncated_mixture() -> None:
    n, e, w = np.array([1.0, 2.0, 7.0]), np.array([0.05, 0.5, 1.3]), np.array([10.0, 3.0, 1.0])
    parts = []
    for alpha, beta in ((THETA[0], THETA[1]), (THETA[2], THETA[3])):
        prob = beta / (beta + e)
        parts.append(stats.nbinom.pmf(n, alpha, prob) / (1 - stats.nbinom.pmf(0, alpha, prob)))
    expected = -np.sum(w * np.log(THETA[4] * parts[0] + (1 - THETA[4]) * parts[1]))
    assert dp.neg_log_likelihood(THETA, n, e, w) == pytest.approx(expected, rel=1e-10)


def test_squash_bins_in_order_of_expected_count() -> None:
    n = np.array([1.0] * 7 + [2.0])
    e = np.array([0.7, 0.1, 0.5, 0.3, 0.2, 0.6, 0.4, 9.0])
    out = dp.squash(n, e, count=1, bin_size=2, keep_pts=2)
    assert out.n.tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 2.0]
    assert out.e.tolist() == pytest.approx([0.15, 0.35, 0.5, 0.6, 0.7, 9.0])  # (0.1,0.2), (0.3,0.4), (0.5), kept
    assert out.weight.tolist() == [2.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    assert out.weight.sum() == n.size  # no point lost
    with pytest.raises(ValueError, match="too few points"):
        dp.squash(n, e, count=1, bin_size=10, keep_pts=2)


def test_fit_on_squashed_points_matches_the_fit_on_every_pair() -> None:
    """DuMouchel & Pregibon's point: squashing changes the likelihood's cost, not its answer."""
    rng = np.random.default_rng(7)
    size = 20_000
    e = rng.lognormal(-1.0, 1.2, size)
    first = rng.random(size) < 0.1
    lam = np.where(first, rng.gamma(4.0, 1 / 0.5, size), rng.gamma(3.0, 1 / 3.0, size))
    n = rng.poisson(lam * e).astype(float)
    keep = n >= 1
    squashed = dp.auto_squash(n[keep], e[keep])
    assert squashed.n.size < keep.sum() / 3 and squashed.weight.sum() == keep.sum()
    fit = dp.fit_gps(squashed.n, squashed.e, squashed.weight)
    full = dp.fit_gps(n[keep], e[keep], starts=dp.DEFAULT_STARTS[:3])
    assert fit.num_close >= 1 and full.num_close >= 1
    assert abs(fit.alpha1 - full.alpha1) < 0.05 and abs(fit.beta1 - full.beta1) < 0.05
    assert abs(fit.alpha2 - full.alpha2) < 0.2 and abs(fit.beta2 - full.beta2) < 0.2
    assert abs(fit.p - full.p) < 0.025
    # It is a minimum: moving any parameter by 2% makes the likelihood worse.
    for index in range(5):
        moved = fit.theta.copy()
        moved[index] *= 1.02
        assert dp.neg_log_likelihood(moved, squashed.n, squashed.e, squashed.weight) > fit.minimum


def test_fit_refuses_zero_counts() -> None:
    with pytest.raises(ValueError, match="non-zero"):
        dp.fit_gps([0.0, 1.0], [0.1, 0.2])
