"""Pooling completed n-of-1 trials of the same design across patients: a hierarchical (random-effects) estimate.

Pure (numpy and the standard library). The input is one number per patient with its uncertainty: the posterior
mean ``y_j`` of the effect of a condition against the reference (in outcome units, e.g. from
:func:`kratomwatch.core.nof1.analyse`) and its posterior SD ``s_j`` (or the 95 % interval, turned into an SD by
the normal approximation ``s = (high - low) / (2 * 1.959964)``). The caller applies the small-cell (k)
suppression; this module only refuses fewer than two patients.

Model (the normal-normal hierarchical model; Gelman et al., *Bayesian Data Analysis*, 3rd ed., 2013, sections
5.4 and 5.5, the eight-schools computation, equations 5.17 to 5.21; the prior on tau as in section 5.7)::

    y_j | theta_j ~ N(theta_j, s_j^2)        (s_j treated as known)
    theta_j | mu, tau ~ N(mu, tau^2)          (each patient's true effect; tau = between-patient SD)
    p(mu) flat;  p(tau) uniform on [0, inf) (default; needs at least 3 patients for a proper posterior)
                 or half-normal with a stated scale in outcome units

Conditional on tau everything is exact (normal algebra)::

    V_mu(tau)^-1 = sum_j 1 / (s_j^2 + tau^2)
    mu_hat(tau)  = V_mu * sum_j y_j / (s_j^2 + tau^2)
    mu | tau, y  ~ N(mu_hat, V_mu)                                                  (5.20)
    p(tau | y)   proportional to p(tau) V_mu^(1/2) prod_j (s_j^2 + tau^2)^(-1/2)
                 exp(-(y_j - mu_hat)^2 / (2 (s_j^2 + tau^2)))                       (5.21)
    B_j = s_j^2 / (s_j^2 + tau^2)
    theta_j | tau, y ~ N((1 - B_j) y_j + B_j mu_hat, B_j tau^2 + B_j^2 V_mu)           (5.17, mu integrated)
    theta_new | tau, y ~ N(mu_hat, V_mu + tau^2)                                    (a new patient)

tau is integrated numerically: the midpoint rule in t on (0, 1) with tau = c t / (1 - t) (``GRID_POINTS``
points, c = sqrt(median(s_j)^2 + var(y_j)), the scale of the spread seen), which reaches tau of several
thousand c, so no arbitrary upper bound on tau is needed. Every reported quantity is then a finite mixture of
normals over the tau grid: its mean is exact, its quantiles are found by bisection on the mixture CDF, and
P(better) = sum_i w_i Phi(-m_i / sd_i) (lower is better) or Phi(m_i / sd_i) (higher is better). tau itself is
reported by its posterior median and 95 % interval: under the uniform prior with three patients its posterior mean
is infinite, the median always exists.

Frequentist comparison: the DerSimonian-Laird random-effects estimate (DerSimonian & Laird 1986, Control Clin
Trials 7:177-188): w_j = 1/s_j^2, Q = sum w_j (y_j - y_w)^2, tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 /
sum w)), mu = sum w*_j y_j / sum w*_j with w*_j = 1 / (s_j^2 + tau^2), 95 % interval mu +- 1.959964 / sqrt(sum
w*). I^2 = max(0, (Q - (k - 1)) / Q).

Validation: tests/core/test_nof1_pool.py (the eight schools against a brute-force 2-D grid and BDA3 Table 5.3,
the closed form when every s_j is near 0, DerSimonian-Laird against statsmodels, coverage by simulation; the
numbers are in docs/nof1.md). At most 1,000 patients (about 8 s); effects and SDs within 1e6 outcome units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from kratomwatch.core.errors import InputError

__all__ = [
    "GRID_POINTS",
    "DerSimonianLaird",
    "Interval",
    "PatientEffect",
    "PooledEstimate",
    "TauPrior",
    "der_simonian_laird",
    "pool",
    "tau_posterior",
]

FloatArray = npt.NDArray[np.float64]

GRID_POINTS = 2000
"""Points of the tau quadrature (midpoint rule on the transformed scale t = tau / (c + tau))."""

MAX_PATIENTS = 1000
MAX_MAGNITUDE = 1e6
"""Largest effect or SD accepted, in outcome units (an outcome scale is nowhere near it)."""
MIN_SD = 1e-9
_ROW_CHUNK = 128
Z_975 = NormalDist().inv_cdf(0.975)
_BISECTION_STEPS = 80


@dataclass(frozen=True)
class PatientEffect:
    """One patient's effect (condition minus reference, outcome units) and its SD. ``label`` is a study ID."""

    label: str
    effect: float
    sd: float

    @classmethod
    def from_interval(cls, label: str, effect: float, low: float, high: float) -> PatientEffect:
        """The SD from a 95 % interval by the normal approximation: (high - low) / (2 * 1.959964)."""
        for name, value in (("interval_95", low), ("interval_95", high)):
            if not math.isfinite(value):
                raise InputError(name, value, f"the 95 % interval of patient {label} is not a finite number")
        if not high > low:
            raise InputError(
                "interval_95", [low, high], f"the 95 % interval of patient {label} must have low below high"
            )
        return cls(label=label, effect=effect, sd=(high - low) / (2.0 * Z_975))


@dataclass(frozen=True)
class TauPrior:
    """The prior on tau (the between-patient SD): ``uniform`` on [0, inf) or ``half_normal`` with ``scale`` in
    outcome units."""

    kind: Literal["uniform", "half_normal"] = "uniform"
    scale: float | None = None

    def __post_init__(self) -> None:
        if self.kind == "half_normal":
            if self.scale is None or not math.isfinite(self.scale) or self.scale <= 0:
                raise InputError("tau_prior", self.scale, "a half-normal prior on tau needs a positive scale")
        elif self.kind != "uniform":
            raise InputError("tau_prior", self.kind, "the prior on tau is 'uniform' or 'half_normal'")

    def describe(self) -> str:
        if self.kind == "uniform":
            return "tau ~ uniform on [0, inf)"
        return f"tau ~ half-normal(scale {self.scale:g})"

    def log_density(self, tau: FloatArray) -> FloatArray:
        if self.kind == "uniform" or self.scale is None:
            return np.zeros_like(tau)
        return np.asarray(-0.5 * (tau / self.scale) ** 2, dtype=np.float64)


@dataclass(frozen=True)
class Interval:
    """A posterior (or predictive) summary: mean, 95 % interval, and the direction-aware probabilities."""

    mean: float
    interval_95: tuple[float, float]
    prob_better: float
    prob_better_by_mcid: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "interval_95": list(self.interval_95),
            "prob_better": self.prob_better,
            "prob_better_by_mcid": self.prob_better_by_mcid,
        }


@dataclass(frozen=True)
class DerSimonianLaird:
    """The frequentist random-effects estimate."""

    mean: float
    interval_95: tuple[float, float]
    se: float
    tau2: float
    q: float
    i2: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "interval_95": list(self.interval_95),
            "se": self.se,
            "tau2": self.tau2,
            "tau": math.sqrt(self.tau2),
            "q": self.q,
            "i2": self.i2,
        }


@dataclass(frozen=True)
class PooledEstimate:
    """The hierarchical estimate: the population mean ``mu``, ``tau`` (median and 95 % interval), the predictive
    distribution for a new patient, each patient's shrunken estimate, and DerSimonian-Laird beside it."""

    n_patients: int
    lower_is_better: bool
    mcid: float | None
    mu: Interval
    tau_median: float
    tau_interval_95: tuple[float, float]
    predictive: Interval
    shrunken: dict[str, Interval]
    der_simonian_laird: DerSimonianLaird
    prior: str
    model: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_patients": self.n_patients,
            "lower_is_better": self.lower_is_better,
            "mcid": self.mcid,
            "mu": self.mu.to_dict(),
            "tau": {"median": self.tau_median, "interval_95": list(self.tau_interval_95)},
            "predictive": self.predictive.to_dict(),
            "shrunken": {label: s.to_dict() for label, s in self.shrunken.items()},
            "der_simonian_laird": self.der_simonian_laird.to_dict(),
            "prior": self.prior,
            "model": self.model,
        }


def _checked(patients: list[PatientEffect] | tuple[PatientEffect, ...]) -> tuple[FloatArray, FloatArray]:
    if len(patients) < 2:
        raise InputError("patients", len(patients), "pooling needs at least two patients' trials")
    if len(patients) > MAX_PATIENTS:
        raise InputError("patients", len(patients), f"at most {MAX_PATIENTS} trials are pooled")
    seen: set[str] = set()
    for p in patients:
        if p.label in seen:
            raise InputError("patient", p.label, f"patient {p.label} appears more than once")
        seen.add(p.label)
        if not math.isfinite(p.effect) or abs(p.effect) > MAX_MAGNITUDE:
            raise InputError(
                "effect", p.effect, f"the effect of patient {p.label} is not a number within +-{MAX_MAGNITUDE:g}"
            )
        if not math.isfinite(p.sd) or p.sd <= 0:
            raise InputError("sd", p.sd, f"the SD of patient {p.label} must be a positive number")
        if not MIN_SD <= p.sd <= MAX_MAGNITUDE:
            raise InputError(
                "sd", p.sd, f"the SD of patient {p.label} must be between {MIN_SD:g} and {MAX_MAGNITUDE:g}"
            )
    y = np.array([p.effect for p in patients], dtype=np.float64)
    s = np.array([p.sd for p in patients], dtype=np.float64)
    return y, s


def der_simonian_laird(patients: list[PatientEffect] | tuple[PatientEffect, ...]) -> DerSimonianLaird:
    """DerSimonian-Laird random-effects mean with its 95 % normal interval (tau^2 truncated at 0)."""
    y, s = _checked(patients)
    w = 1.0 / s**2
    y_w = float(w @ y / w.sum())
    q = float(w @ (y - y_w) ** 2)
    df = y.size - 1
    tau2 = max(0.0, (q - df) / float(w.sum() - (w**2).sum() / w.sum()))
    w_star = 1.0 / (s**2 + tau2)
    mean = float(w_star @ y / w_star.sum())
    se = math.sqrt(1.0 / float(w_star.sum()))
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return DerSimonianLaird(mean=mean, interval_95=(mean - Z_975 * se, mean + Z_975 * se), se=se, tau2=tau2, q=q, i2=i2)


def _phi(x: FloatArray) -> FloatArray:
    """Standard normal CDF, vectorized: 0.5 erfc(-x / sqrt 2) with the Chebyshev erfc of Numerical Recipes in C,
    2nd ed., section 6.2 (fractional error below 1.2e-7 everywhere)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))
                    )
                )
            )
        )
    )
    erfc = t * np.exp(poly)
    return np.asarray(np.where(x >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc), dtype=np.float64)


def _mixture_summaries(
    weights: FloatArray, means: FloatArray, sds: FloatArray, lower_is_better: bool, mcid: float | None
) -> list[Interval]:
    """For each row q of ``means``/``sds`` (rows x grid), the mixture sum_i w_i N(means[q, i], sds[q, i]^2):
    mean, 2.5th and 97.5th percentiles (bisection on the CDF), P(better) and P(better by at least the MCID)."""
    mean = means @ weights
    spread = np.sqrt((sds**2 + (means - mean[:, None]) ** 2) @ weights)
    targets = np.array([0.025, 0.975])
    lo = np.repeat((mean - 40.0 * spread)[:, None], 2, axis=1)
    hi = np.repeat((mean + 40.0 * spread)[:, None], 2, axis=1)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        cdf = _phi((mid[:, :, None] - means[:, None, :]) / sds[:, None, :]) @ weights
        below = cdf < targets[None, :]
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    quantiles = 0.5 * (lo + hi)

    def prob_beyond(cut: float) -> FloatArray:
        # lower is better: P(x <= -cut); higher is better: P(x >= cut)
        z = (-cut - means) / sds if lower_is_better else (means - cut) / sds
        return np.asarray(_phi(z) @ weights, dtype=np.float64)

    p_better = prob_beyond(0.0)
    p_mcid = None if mcid is None else prob_beyond(mcid)
    return [
        Interval(
            mean=float(mean[q]),
            interval_95=(float(quantiles[q, 0]), float(quantiles[q, 1])),
            prob_better=float(np.clip(p_better[q], 0.0, 1.0)),
            prob_better_by_mcid=None if p_mcid is None else float(np.clip(p_mcid[q], 0.0, 1.0)),
        )
        for q in range(means.shape[0])
    ]


def _grid_scale(y: FloatArray, s: FloatArray) -> float:
    """The scale c of the tau grid: the typical SD and the spread of the effects together."""
    return math.sqrt(float(np.median(s)) ** 2 + float(np.var(y)))


def tau_posterior(
    y: FloatArray, s: FloatArray, prior: TauPrior, points: int = GRID_POINTS
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The tau grid, its normalised posterior weights (quadrature weights included) and the cell edges in t."""
    c = _grid_scale(y, s)
    edges = np.linspace(0.0, 1.0, points + 1)
    t = 0.5 * (edges[1:] + edges[:-1])
    tau = c * t / (1.0 - t)
    log_jacobian = math.log(c) - 2.0 * np.log1p(-t)  # dtau/dt = c / (1 - t)^2
    v = s[None, :] ** 2 + tau[:, None] ** 2  # (grid, patients)
    v_mu = 1.0 / (1.0 / v).sum(axis=1)
    mu_hat = v_mu * (y[None, :] / v).sum(axis=1)
    log_post = (
        prior.log_density(tau)
        + 0.5 * np.log(v_mu)
        - 0.5 * np.log(v).sum(axis=1)
        - 0.5 * ((y[None, :] - mu_hat[:, None]) ** 2 / v).sum(axis=1)
        + log_jacobian
    )
    w = np.exp(log_post - log_post.max())
    return tau, w / w.sum(), edges


def _tau_quantile(weights: FloatArray, edges: FloatArray, c: float, p: float) -> float:
    """Quantile of tau: the posterior is taken as uniform in t within each cell, then t is mapped back to tau."""
    cum = np.concatenate([[0.0], np.cumsum(weights)])
    t = float(np.interp(p, cum, edges))
    return c * t / (1.0 - t)


def pool(
    patients: list[PatientEffect] | tuple[PatientEffect, ...],
    *,
    lower_is_better: bool = True,
    mcid: float | None = None,
    tau_prior: TauPrior | None = None,
    points: int = GRID_POINTS,
) -> PooledEstimate:
    """The hierarchical estimate across patients (see the module docstring for the model and its source)."""
    y, s = _checked(patients)
    prior = tau_prior or TauPrior()
    if prior.kind == "uniform" and y.size < 3:
        raise InputError(
            "tau_prior",
            prior.kind,
            "with two patients a uniform prior on tau leaves the posterior improper: give a half-normal scale",
        )
    if mcid is not None and (not math.isfinite(mcid) or mcid <= 0):
        raise InputError("mcid", mcid, "the MCID must be a positive number in outcome units")
    tau, w, edges = tau_posterior(y, s, prior, points)
    v = s[None, :] ** 2 + tau[:, None] ** 2
    v_mu = 1.0 / (1.0 / v).sum(axis=1)
    mu_hat = v_mu * (y[None, :] / v).sum(axis=1)
    b = s[None, :] ** 2 / v  # (grid, patients): shrinkage factor B_j
    theta_mean = ((1.0 - b) * y[None, :] + b * mu_hat[:, None]).T  # (patients, grid)
    theta_sd = np.sqrt(b * tau[:, None] ** 2 + b**2 * v_mu[:, None]).T
    means = np.vstack([mu_hat, mu_hat, theta_mean])
    sds = np.vstack([np.sqrt(v_mu), np.sqrt(v_mu + tau**2), theta_sd])
    summaries = [
        summary
        for i in range(0, means.shape[0], _ROW_CHUNK)
        for summary in _mixture_summaries(w, means[i : i + _ROW_CHUNK], sds[i : i + _ROW_CHUNK], lower_is_better, mcid)
    ]
    c = _grid_scale(y, s)
    return PooledEstimate(
        n_patients=int(y.size),
        lower_is_better=lower_is_better,
        mcid=mcid,
        mu=summaries[0],
        tau_median=_tau_quantile(w, edges, c, 0.5),
        tau_interval_95=(_tau_quantile(w, edges, c, 0.025), _tau_quantile(w, edges, c, 0.975)),
        predictive=summaries[1],
        shrunken={p.label: summaries[2 + j] for j, p in enumerate(patients)},
        der_simonian_laird=der_simonian_laird(patients),
        prior=f"mu flat; {prior.describe()}",
        model="y_j ~ N(theta_j, s_j^2), theta_j ~ N(mu, tau^2); exact given tau, tau integrated on a grid "
        "(Gelman et al., BDA3, sections 5.4-5.5)",
    )
