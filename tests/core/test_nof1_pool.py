"""Pooling n-of-1 trials across patients (core/nof1_pool.py): the eight schools against an independent brute-force
grid and BDA3, DerSimonian-Laird against statsmodels, coverage by simulation, and each bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from kratomwatch.core import nof1_pool
from kratomwatch.core.errors import InputError
from kratomwatch.core.nof1_pool import PatientEffect, TauPrior

# Rubin (1981), J Educ Stat 6:377-401; Gelman et al., Bayesian Data Analysis, 3rd ed., 2013, Table 5.2.
SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SCHOOLS_SE = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
SIMULATIONS = 200


def schools() -> list[PatientEffect]:
    return [PatientEffect("ABCDEFGH"[j], float(SCHOOLS_Y[j]), float(SCHOOLS_SE[j])) for j in range(8)]


def brute_force_schools() -> dict[str, float]:
    """The joint posterior p(mu, tau | y) proportional to prod_j N(y_j | mu, s_j^2 + tau^2) (flat mu, uniform
    tau) on a plain 2-D grid: mu in [-60, 80] by 0.1, tau in (0, 150] by 0.05. Nothing of the module is used."""
    mu = np.arange(-60.0, 80.0001, 0.1)
    tau = np.arange(0.025, 150.0, 0.05)
    logp = np.zeros((mu.size, tau.size))
    for y, s in zip(SCHOOLS_Y, SCHOOLS_SE, strict=True):
        logp += stats.norm.logpdf(y, loc=mu[:, None], scale=np.sqrt(s**2 + tau[None, :] ** 2))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    p_mu = p.sum(axis=1)
    p_tau = p.sum(axis=0)
    cmu = np.cumsum(p_mu)
    ctau = np.cumsum(p_tau)
    # E(theta_A | y) = sum over (mu, tau) of E(theta_A | mu, tau, y), the precision-weighted mean (BDA3 eq. 5.17)
    s_a, y_a = SCHOOLS_SE[0], SCHOOLS_Y[0]
    prec = 1.0 / s_a**2 + 1.0 / tau[None, :] ** 2
    theta_a = (y_a / s_a**2 + mu[:, None] / tau[None, :] ** 2) / prec
    return {
        "mu_mean": float(mu @ p_mu),
        "mu_low": float(np.interp(0.025, cmu, mu)),
        "mu_high": float(np.interp(0.975, cmu, mu)),
        "p_mu_positive": float(p_mu[mu > 0].sum()),
        "tau_median": float(np.interp(0.5, ctau, tau)),
        "tau_low": float(np.interp(0.025, ctau, tau)),
        "tau_high": float(np.interp(0.975, ctau, tau)),
        "theta_a_mean": float((theta_a * p).sum()),
    }


def test_eight_schools_matches_a_brute_force_grid() -> None:
    """Posterior mean of mu 7.93, 95 % interval [-2.1, 18.2], tau median 5.2 [0.24, 20.8] (uniform tau): the
    one-dimensional quadrature agrees with the independent 2-D grid to within its resolution."""
    ref = brute_force_schools()
    got = nof1_pool.pool(schools(), lower_is_better=False)
    assert got.mu.mean == pytest.approx(ref["mu_mean"], abs=0.02)
    assert got.mu.interval_95[0] == pytest.approx(ref["mu_low"], abs=0.1)
    assert got.mu.interval_95[1] == pytest.approx(ref["mu_high"], abs=0.1)
    assert got.mu.prob_better == pytest.approx(ref["p_mu_positive"], abs=0.003)
    assert got.tau_median == pytest.approx(ref["tau_median"], abs=0.05)
    assert got.tau_interval_95[0] == pytest.approx(ref["tau_low"], abs=0.05)
    assert got.tau_interval_95[1] == pytest.approx(ref["tau_high"], abs=0.15)
    assert got.shrunken["A"].mean == pytest.approx(ref["theta_a_mean"], abs=0.05)


def test_eight_schools_agrees_with_bda3_table_5_3() -> None:
    """BDA3 Table 5.3 (200 simulation draws, rounded to whole points): mu 2.5 %, 50 %, 97.5 % = -2, 8, 18;
    tau median 5.1, 97.5 % 21; school A 2.5 %, 97.5 % = -2, 31. Tolerances allow for the 200-draw noise."""
    got = nof1_pool.pool(schools(), lower_is_better=False)
    assert got.mu.interval_95 == pytest.approx((-2.0, 18.0), abs=1.0)
    assert got.mu.mean == pytest.approx(8.0, abs=0.5)
    assert got.tau_median == pytest.approx(5.1, abs=0.6)
    assert got.tau_interval_95[1] == pytest.approx(21.0, abs=2.0)
    assert got.shrunken["A"].interval_95 == pytest.approx((-2.0, 31.0), abs=1.5)
    # shrinkage: every school is pulled toward mu, the extreme ones most
    for j, label in enumerate("ABCDEFGH"):
        assert abs(got.shrunken[label].mean - got.mu.mean) < abs(SCHOOLS_Y[j] - got.mu.mean) + 1e-9
    # a new school is more uncertain than the population mean
    assert got.predictive.mean == pytest.approx(got.mu.mean)
    width = got.predictive.interval_95[1] - got.predictive.interval_95[0]
    assert width > got.mu.interval_95[1] - got.mu.interval_95[0]


@pytest.mark.parametrize("effects", [[0.0, 100.0, 50.0], [-3.0, 4.0, 0.5, 10.0, -8.0]])
def test_exact_limit_when_each_patient_is_measured_without_error(effects: list[float]) -> None:
    """With s_j -> 0 and a uniform prior on tau, the model has a closed form: tau^2 | y ~ Inv-Gamma((J - 2)/2,
    S/2) with S = sum (y_j - ybar)^2, and mu | y ~ ybar + sqrt(S / (J (J - 2))) t_{J-2} (the normal scale mixture).
    The grid must also reach a tau far above every s_j (here 1e-6)."""
    y = np.array(effects)
    j = y.size
    ss = float(((y - y.mean()) ** 2).sum())
    got = nof1_pool.pool([PatientEffect(f"P{i}", e, 1e-6) for i, e in enumerate(effects)])
    tau2 = stats.invgamma((j - 2) / 2, scale=ss / 2)
    assert got.tau_median == pytest.approx(math.sqrt(tau2.median()), rel=1e-3)
    assert got.tau_interval_95[1] == pytest.approx(math.sqrt(tau2.ppf(0.975)), rel=2e-3)
    mu = stats.t(j - 2, loc=y.mean(), scale=math.sqrt(ss / (j * (j - 2))))
    assert got.mu.interval_95 == pytest.approx((mu.ppf(0.025), mu.ppf(0.975)), rel=2e-3)
    assert got.mu.prob_better == pytest.approx(mu.cdf(0.0), abs=1e-3)


def test_direction_and_mcid() -> None:
    """Lower is better: P(better) is P(mu < 0); by the MCID it is P(mu <= -MCID), never more than P(better)."""
    patients = [PatientEffect(f"P{j}", e, 0.4) for j, e in enumerate([-1.5, -1.0, -0.6, -1.2, -0.9])]
    low = nof1_pool.pool(patients, lower_is_better=True, mcid=1.0)
    high = nof1_pool.pool(patients, lower_is_better=False, mcid=1.0)
    assert low.mu.mean < 0
    assert low.mu.prob_better > 0.95
    assert low.mu.prob_better + high.mu.prob_better == pytest.approx(1.0, abs=1e-6)
    assert low.mu.prob_better_by_mcid is not None
    assert 0.0 < low.mu.prob_better_by_mcid < low.mu.prob_better
    assert low.predictive.prob_better < low.mu.prob_better


def test_der_simonian_laird_matches_statsmodels() -> None:
    """Heterogeneous effects (Q > k - 1): mean, SE, interval and tau^2 equal statsmodels' combine_effects."""
    rng = np.random.default_rng(7)
    for _ in range(5):
        k = int(rng.integers(3, 15))
        s = rng.uniform(0.2, 1.0, k)
        y = rng.normal(-1.0, 1.5, k) + rng.normal(0, s)
        got = nof1_pool.der_simonian_laird([PatientEffect(str(j), y[j], s[j]) for j in range(k)])
        ref = combine_effects(y, s**2, method_re="dl")
        assert ref.tau2 > 0
        assert got.tau2 == pytest.approx(ref.tau2, rel=1e-9)
        assert got.mean == pytest.approx(ref.mean_effect_re, rel=1e-9)
        assert got.se == pytest.approx(ref.sd_eff_w_re, rel=1e-9)
        low, high = ref.conf_int()[1]  # rows: fixed effect, random effect, ...
        assert got.interval_95 == pytest.approx((low, high), rel=1e-7)
        assert got.q == pytest.approx(ref.q, rel=1e-9)


def test_der_simonian_laird_truncates_tau2_at_zero() -> None:
    """The eight schools have Q = 4.7 < 7: tau^2 is 0 and the estimate is the fixed-effect mean 7.69 (SE 4.07).
    statsmodels' combine_effects leaves its moment estimate negative here, so the fixed-effect row is compared."""
    got = nof1_pool.der_simonian_laird(schools())
    ref = combine_effects(SCHOOLS_Y, SCHOOLS_SE**2, method_re="dl")
    assert got.tau2 == 0.0
    assert got.i2 == 0.0
    assert got.mean == pytest.approx(ref.mean_effect_fe, rel=1e-9)
    assert got.se == pytest.approx(ref.sd_eff_w_fe, rel=1e-9)


def test_normal_cdf_matches_scipy() -> None:
    x = np.linspace(-9, 9, 721)
    assert np.max(np.abs(nof1_pool._phi(x) - stats.norm.cdf(x))) < 2e-7


def test_pooled_interval_is_calibrated_by_simulation() -> None:
    """200 simulated sets of 8 patients (true mu -1, tau 0.5, each patient's SD uniform on 0.3 to 0.9, seed 3):
    the 95 % credible interval of mu covered -1 in 196/200 = 98.0 % (mean width 1.36; the uniform prior on tau is
    slightly conservative with 8 patients); DerSimonian-Laird's interval covered it in 184/200 = 92.0 % (mean
    width 1.04; it ignores the uncertainty in tau^2). Under no effect (mu 0, seed 4) the mean P(better) was 0.48
    and P(better) > 0.95 in 5/200 = 2.5 %. A 400-point tau grid (used here for speed) agrees with the default
    2,000 points on the eight schools to 1e-5."""
    rng = np.random.default_rng(3)
    covered = covered_dl = 0
    for _ in range(SIMULATIONS):
        s = rng.uniform(0.3, 0.9, 8)
        y = rng.normal(-1.0, 0.5, 8) + rng.normal(0.0, s)
        got = nof1_pool.pool([PatientEffect(str(j), y[j], s[j]) for j in range(8)], points=400)
        covered += got.mu.interval_95[0] <= -1.0 <= got.mu.interval_95[1]
        dl = got.der_simonian_laird.interval_95
        covered_dl += dl[0] <= -1.0 <= dl[1]
    assert 0.92 <= covered / SIMULATIONS <= 0.995
    assert 0.85 <= covered_dl / SIMULATIONS <= 0.99

    rng = np.random.default_rng(4)
    p_better = []
    for _ in range(SIMULATIONS):
        s = rng.uniform(0.3, 0.9, 8)
        y = rng.normal(0.0, 0.5, 8) + rng.normal(0.0, s)
        p_better.append(
            nof1_pool.pool([PatientEffect(str(j), y[j], s[j]) for j in range(8)], points=400).mu.prob_better
        )
    assert 0.4 <= float(np.mean(p_better)) <= 0.6
    assert np.mean(np.array(p_better) > 0.95) <= 0.07


def test_two_patients_need_a_proper_prior() -> None:
    """With two patients a uniform prior on tau is improper (the posterior tail is 1/tau): refused with the field
    named; a half-normal prior works and its scale is stated in the result."""
    two = [PatientEffect("S1", -1.0, 0.5), PatientEffect("S2", -0.5, 0.4)]
    with pytest.raises(InputError) as err:
        nof1_pool.pool(two)
    assert err.value.field == "tau_prior"
    got = nof1_pool.pool(two, tau_prior=TauPrior("half_normal", 1.0))
    assert "half-normal(scale 1)" in got.prior
    assert got.mu.interval_95[0] < got.mu.mean < got.mu.interval_95[1]


def test_sd_from_interval() -> None:
    p = PatientEffect.from_interval("S1", -1.0, -2.959964, 0.959964)
    assert p.sd == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize(
    ("patients", "field", "value"),
    [
        ([PatientEffect("S1", -1.0, 0.5)], "patients", 1),
        ([], "patients", 0),
        ([PatientEffect("S1", -1.0, 0.5), PatientEffect("S2", -1.0, 0.0), PatientEffect("S3", 0.0, 1.0)], "sd", 0.0),
        ([PatientEffect("S1", -1.0, 0.5), PatientEffect("S2", -1.0, -1.0), PatientEffect("S3", 0.0, 1.0)], "sd", -1.0),
        (
            [PatientEffect("S1", math.nan, 0.5), PatientEffect("S2", -1.0, 1.0), PatientEffect("S3", 0.0, 1.0)],
            "effect",
            "nan",
        ),
        (
            [PatientEffect("S1", -1.0, math.nan), PatientEffect("S2", -1.0, 1.0), PatientEffect("S3", 0.0, 1.0)],
            "sd",
            "nan",
        ),
        (
            [PatientEffect("S1", -1.0, 0.5), PatientEffect("S1", -1.0, 1.0), PatientEffect("S3", 0.0, 1.0)],
            "patient",
            "S1",
        ),
    ],
)
def test_bad_input_names_the_field_and_value(patients: list[PatientEffect], field: str, value: object) -> None:
    with pytest.raises(InputError) as err:
        nof1_pool.pool(patients)
    assert err.value.field == field
    if value == "nan":
        assert isinstance(err.value.value, float) and math.isnan(err.value.value)
    else:
        assert err.value.value == value


def test_bad_interval_mcid_and_prior() -> None:
    too_big = [PatientEffect("S1", 2e6, 1.0), PatientEffect("S2", 0.0, 1.0), PatientEffect("S3", 0.0, 1.0)]
    with pytest.raises(InputError) as err:
        nof1_pool.pool(too_big)
    assert (err.value.field, err.value.value) == ("effect", 2e6)
    tiny = [PatientEffect("S1", 0.0, 1e-12), PatientEffect("S2", 0.0, 1.0), PatientEffect("S3", 0.0, 1.0)]
    with pytest.raises(InputError) as err:
        nof1_pool.pool(tiny)
    assert (err.value.field, err.value.value) == ("sd", 1e-12)
    with pytest.raises(InputError) as err:
        PatientEffect.from_interval("S1", 0.0, 1.0, -1.0)
    assert err.value.field == "interval_95"
    with pytest.raises(InputError) as err:
        PatientEffect.from_interval("S1", 0.0, math.nan, 1.0)
    assert err.value.field == "interval_95"
    with pytest.raises(InputError) as err:
        nof1_pool.pool(schools(), mcid=-1.0)
    assert (err.value.field, err.value.value) == ("mcid", -1.0)
    with pytest.raises(InputError) as err:
        TauPrior("half_normal", 0.0)
    assert (err.value.field, err.value.value) == ("tau_prior", 0.0)
