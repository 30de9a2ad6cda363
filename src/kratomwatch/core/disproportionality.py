"""Disproportionality statistics for spontaneous adverse-event reports: PRR, ROR, IC (BCPNN) and the
Gamma-Poisson Shrinker (EBGM, EB05, EB95), vectorised over every (product, event) pair at once.

Pure: numpy and scipy only, no Django, no I/O, no clock. Every function takes numpy arrays with one element per
(product, event) pair and never loops over pairs in Python.

What these numbers are, and are not: they measure how much more often an event is *reported* with a product
than with everything else in the same report database. Spontaneous reports have no denominator of exposed
people and are shaped by who chooses to report (stimulated reporting, notoriety, duplicates, confounding by
indication and co-reported products), so **no statistic here is an incidence and none establishes causation**.
A signal is a reason to look at the reports, nothing more.

The contingency table of one pair (counting *reports*, not rows)::

                 event j     not j
    product i    a = n11     b          a + b = n1.  (reports naming the product)
    not i        c           d          c + d
                 a + c = n.1            N            (all reports)

As openEBGM's ``processRaw`` does, the margins are counts of unique report ids (a report naming a product twice
counts once), so ``b = n1. - a``, ``c = n.1 - a`` and ``d = N - n1. - n.1 + a``. Margins are float64 (openEBGM
0.8.2 NEWS: integer products of large margins overflowed).

Sources (DOIs confirmed against the reference notes and an index of the publications):

- PRR and the signal rule "3 or more cases, PRR at least 2, chi-squared at least 4": Evans SJW, Waller PC,
  Davis S. Use of proportional reporting ratios (PRRs) for signal generation from spontaneous adverse drug
  reaction reports. Pharmacoepidemiol Drug Saf 2001;10(6):483-486.
- ROR and its Woolf interval; comparison of the measures: van Puijenbroek EP, Bate A, Leufkens HGM et al. A
  comparison of measures of disproportionality for signal detection in spontaneous reporting systems for adverse
  drug reactions. Pharmacoepidemiol Drug Saf 2002;11(1):3-10.
- IC with shrinkage and its gamma credibility interval: Norén GN, Hopstadius J, Bate A. Shrinkage
  observed-to-expected ratios for robust and transparent large-scale pattern discovery. Stat Methods Med Res
  2013;22(1):57-69. doi:10.1177/0962280211403604 (PMID 21705438). The BCPNN it refines: Bate A, Lindquist M,
  Edwards IR et al. A Bayesian neural network method for adverse drug reaction signal generation. Eur J Clin
  Pharmacol 1998;54:315-321. doi:10.1007/s002280050466.
- Gamma-Poisson Shrinker: DuMouchel W. Bayesian data mining in large frequency tables, with an application to
  the FDA spontaneous reporting system. Am Stat 1999;53(3):177-190. doi:10.1080/00031305.1999.10474456
  (equation numbers below are this paper's). Data squashing: DuMouchel W, Pregibon D. Empirical Bayes screening
  for multi-item associations. KDD 2001:67-76. The reference implementation this module reproduces: Canida T,
  Ihrie J. openEBGM: An R implementation of the Gamma-Poisson Shrinker data mining model. R J 2017;9(2):499-519.
  doi:10.32614/RJ-2017-063 (openEBGM 0.9.1, CRAN 2023-09-14: ``processRaw``, ``squashData``, ``autoSquash``,
  ``negLLsquash``, ``autoHyper``, ``Qn``, ``ebgm``, ``quantBisect``).

Not implemented on purpose: the "EBGM = a·N/((a+c)(a+b))" and "EB05 = exp(ln EBGM - 1.64·se)" formulas printed in
several FAERS papers are frequentist plug-ins without empirical-Bayes shrinkage, not DuMouchel's model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

__all__ = [
    "DEFAULT_STARTS",
    "IC",
    "PRR",
    "ROR",
    "FitFailed",
    "GPSFit",
    "GPSScores",
    "Squashed",
    "auto_squash",
    "expected_counts",
    "fit_gps",
    "gps_scores",
    "ic",
    "neg_log_likelihood",
    "posterior_quantile",
    "prr",
    "prr_signal",
    "qn",
    "ror",
    "squash",
]

Array = NDArray[np.float64]
INFEASIBLE = 1e300  # the likelihood's value where it is not defined (finite, so optimisers compare it quietly)
Z95 = 1.959963984540054  # standard normal 97.5th percentile


def _f(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


def expected_counts(n_product: ArrayLike, n_event: ArrayLike, n_total: ArrayLike) -> Array:
    """Expected count under independence of product and event, **E = n1. · n.1 / N** (DuMouchel 1999 Eq. 1;
    openEBGM ``processRaw``: ``E = (N_v1 / N_tot) * N_v2``). For strata, compute E per stratum and add them
    (E = Σ_s n1.s · n.1s / N_s)."""
    return (_f(n_product) / _f(n_total)) * _f(n_event)


def _cells(a: ArrayLike, n_product: ArrayLike, n_event: ArrayLike, n_total: ArrayLike) -> tuple[Array, ...]:
    a_, n1, m1, n = _f(a), _f(n_product), _f(n_event), _f(n_total)
    b = n1 - a_
    c = m1 - a_
    d = n - n1 - m1 + a_
    return a_, b, c, d


@dataclass(frozen=True)
class PRR:
    """Proportional reporting ratio per pair with its 95% CI and Pearson chi-square (1 df)."""

    prr: Array
    lower95: Array
    upper95: Array
    chi2: Array


def prr(a: ArrayLike, n_product: ArrayLike, n_event: ArrayLike, n_total: ArrayLike, *, yates: bool = False) -> PRR:
    """**PRR = [a/(a+b)] / [c/(c+d)]** (Evans 2001), with

    - 95% CI = exp(ln PRR ± 1.96·√(1/a − 1/(a+b) + 1/c − 1/(c+d)));
    - χ² = N(ad − bc)² / [(a+b)(c+d)(a+c)(b+d)], or with ``yates=True`` N(|ad − bc| − N/2)² / [...]
      (published work differs on which statistic the χ² ≥ 4 rule uses, so it is a choice).

    A pair whose event is reported with no other product (c = 0) has PRR = inf, as openEBGM prints; a
    0/0 is nan. No warning is raised for either."""
    a_, b, c, d = _cells(a, n_product, n_event, n_total)
    n = a_ + b + c + d
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = (a_ / (a_ + b)) / (c / (c + d))
        se = np.sqrt(1 / a_ - 1 / (a_ + b) + 1 / c - 1 / (c + d))
        log_ratio = np.log(ratio)
        lower = np.exp(log_ratio - Z95 * se)
        upper = np.exp(log_ratio + Z95 * se)
        diff = np.abs(a_ * d - b * c)
        if yates:
            diff = np.maximum(diff - n / 2, 0.0)
        chi2 = n * diff**2 / ((a_ + b) * (c + d) * (a_ + c) * (b + d))
    return PRR(prr=ratio, lower95=lower, upper95=upper, chi2=chi2)


def prr_signal(
    a: ArrayLike, result: PRR, *, min_count: int = 3, min_prr: float = 2.0, min_chi2: float = 4.0
) -> NDArray[np.bool_]:
    """Evans 2001 criteria: **a ≥ 3, PRR ≥ 2 and χ² ≥ 4** (the thresholds are arguments; these are the
    published defaults). A screening flag, not a finding."""
    with np.errstate(invalid="ignore"):
        return (_f(a) >= min_count) & (result.prr >= min_prr) & (result.chi2 >= min_chi2)


@dataclass(frozen=True)
class ROR:
    """Reporting odds ratio per pair with its 95% (Woolf) CI."""

    ror: Array
    lower95: Array
    upper95: Array


def ror(a: ArrayLike, n_product: ArrayLike, n_event: ArrayLike, n_total: ArrayLike) -> ROR:
    """**ROR = (a/c)/(b/d) = ad/(bc)**, 95% CI = exp(ln ROR ± 1.96·√(1/a + 1/b + 1/c + 1/d)) (Woolf; van
    Puijenbroek 2002). The usual signal rule is lower 95% bound > 1 with a ≥ 3. No zero-cell correction: a zero
    b or c gives inf, a zero in both numerator and denominator nan."""
    a_, b, c, d = _cells(a, n_product, n_event, n_total)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = (a_ * d) / (b * c)
        se = np.sqrt(1 / a_ + 1 / b + 1 / c + 1 / d)
        log_ratio = np.log(ratio)
        return ROR(ror=ratio, lower95=np.exp(log_ratio - Z95 * se), upper95=np.exp(log_ratio + Z95 * se))


@dataclass(frozen=True)
class IC:
    """Information component (log2 shrinkage observed-to-expected ratio) with its 95% credibility interval."""

    ic: Array
    ic025: Array
    ic975: Array


IC_SHRINKAGE = 0.5


def ic(observed: ArrayLike, expected: ArrayLike, *, shrinkage: float = IC_SHRINKAGE) -> IC:
    """**IC = log2((O + ½)/(E + ½))** with O = a and E = n1.·n.1/N (Norén 2013, the WHO-UMC practice), and the
    credibility bounds from the Poisson-gamma posterior of the ratio,
    **IC_q = log2(Gamma⁻¹(q; shape = O + ½, rate = E + ½))**, q = 0.025 and 0.975. Signal: IC025 > 0."""
    o = _f(observed) + shrinkage
    e = _f(expected) + shrinkage
    return IC(
        ic=np.log2(o / e),
        ic025=np.log2(special.gammaincinv(o, 0.025) / e),
        ic975=np.log2(special.gammaincinv(o, 0.975) / e),
    )


# ---------------------------------------------------------------------------------------------------------------
# Gamma-Poisson Shrinker (DuMouchel 1999)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Squashed:
    """Super-points (N_k, E_k, w_k) for the weighted likelihood (DuMouchel & Pregibon 2001; openEBGM
    ``squashData``), in ascending N."""

    n: Array
    e: Array
    weight: Array


def squash(
    n: ArrayLike,
    e: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    count: int = 1,
    bin_size: int = 50,
    keep_pts: int = 100,
) -> Squashed:
    """openEBGM ``squashData``: among the points with N == ``count``, sort by E, keep the ``keep_pts`` largest
    E unsquashed (the most variable), cut the rest in order into bins of ``bin_size`` (the last bin partial) and
    replace each bin by one point at the bin's mean E with weight = bin size. Points with another N pass through
    with their weight. The input points must have weight 1 where N == ``count`` (as in openEBGM, which squashes
    each count once)."""
    n_, e_ = _f(n), _f(e)
    w_ = np.ones_like(n_) if weight is None else _f(weight)
    if bin_size < 1 or keep_pts < 0:
        raise ValueError("bin_size must be at least 1 and keep_pts at least 0")
    chosen = n_ == count
    hold_n, hold_e, hold_w = n_[~chosen], e_[~chosen], w_[~chosen]
    order = np.argsort(e_[chosen], kind="stable")
    e_sorted = e_[chosen][order]
    num_squash = e_sorted.size - keep_pts
    if num_squash < bin_size:
        raise ValueError("too few points to squash at this count: reduce bin_size or keep_pts")
    to_squash, kept = e_sorted[:num_squash], e_sorted[num_squash:]
    bins = np.arange(num_squash) // bin_size
    sizes = np.bincount(bins).astype(np.float64)
    means = np.bincount(bins, weights=to_squash) / sizes
    out_n = np.concatenate([hold_n, np.full(means.size + kept.size, float(count))])
    out_e = np.concatenate([hold_e, means, kept])
    out_w = np.concatenate([hold_w, sizes, np.ones(kept.size)])
    order_n = np.argsort(out_n, kind="stable")
    return Squashed(n=out_n[order_n], e=out_e[order_n], weight=out_w[order_n])


def auto_squash(
    n: ArrayLike,
    e: ArrayLike,
    *,
    keep_pts: Sequence[int] = (100, 75, 50, 25),
    cut_offs: Sequence[float] = (500, 1e3, 1e4, 1e5, 5e5, 1e6, 5e6),
    num_super_pts: Sequence[int] = (50, 75, 150, 500, 750, 1000, 2000, 5000),
) -> Squashed:
    """openEBGM ``autoSquash``: squash every count that has more than max(keep_pts) + 1 points, the i-th such
    count (ascending) keeping ``keep_pts[i]`` (the last value thereafter) unsquashed points and using the number
    of super-points of the first cut-off above the number of points to squash; bin size = max(floor((points −
    kept)/super-points), 2). The loop is over distinct counts (a few hundred at FAERS scale), never over pairs."""
    n_, e_ = _f(n), _f(e)
    sq = Squashed(n=n_, e=e_, weight=np.ones_like(n_))
    values, freq = np.unique(n_, return_counts=True)
    eligible = values[freq > max(keep_pts) + 1]
    frequency = dict(zip(values.tolist(), freq.tolist(), strict=True))
    bounds = np.asarray([*cut_offs, np.inf])
    for position, value in enumerate(eligible.tolist()):
        keep = keep_pts[min(position, len(keep_pts) - 1)]
        points = frequency[value]
        supers = num_super_pts[int(np.argmax(points - keep < bounds))]
        size = max(int(np.floor((points - keep) / supers)), 2)
        sq = squash(sq.n, sq.e, sq.weight, count=int(value), bin_size=size, keep_pts=keep)
    return sq


def _log_nbinom(n: Array, alpha: float, beta: float, e: Array) -> Array:
    """log f(n; α, β, E) = log[Γ(α+n)/(Γ(α) n!) (β/(β+E))^α (E/(β+E))^n] (DuMouchel 1999 Eq. 5; R's
    ``dnbinom(n, size = α, prob = β/(β+E))``)."""
    log_total = np.log(beta + e)
    log_f: Array = (
        special.gammaln(alpha + n)
        - special.gammaln(alpha)
        - special.gammaln(n + 1)
        + alpha * (np.log(beta) - log_total)
        + n * (np.log(e) - log_total)
    )
    return log_f


def neg_log_likelihood(theta: ArrayLike, n: ArrayLike, e: ArrayLike, weight: ArrayLike | None = None) -> float:
    """Negative log-likelihood of the two-gamma mixture prior θ = (α1, β1, α2, β2, P) on the non-zero cells,
    zero-truncated at N* = 1 (openEBGM ``negLLsquash`` / ``negLL`` with ``N_star = 1``, their default):

        −Σ_k w_k log[ P f(n_k; α1, β1, E_k)/(1 − (β1/(β1+E_k))^α1)
                      + (1−P) f(n_k; α2, β2, E_k)/(1 − (β2/(β2+E_k))^α2) ]

    where f is the negative binomial marginal above. Computed in log space (logaddexp, log1p/expm1)."""
    a1, b1, a2, b2, p = (float(x) for x in np.asarray(theta, dtype=np.float64))
    n_, e_ = _f(n), _f(e)
    w_ = np.ones_like(n_) if weight is None else _f(weight)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_f1 = _log_nbinom(n_, a1, b1, e_) - np.log(-np.expm1(a1 * (np.log(b1) - np.log(b1 + e_))))
        log_f2 = _log_nbinom(n_, a2, b2, e_) - np.log(-np.expm1(a2 * (np.log(b2) - np.log(b2 + e_))))
        log_l = np.logaddexp(np.log(p) + log_f1, np.log1p(-p) + log_f2)
        value = -float(np.sum(w_ * log_l))
    return value if np.isfinite(value) else INFEASIBLE


# Starting points: the five rows of openEBGM's posterior vignette (theta_init), the first of which are the
# "lightly justified" values attributed to DuMouchel; plus PhViD's PRIOR.INIT.
DEFAULT_STARTS: tuple[tuple[float, float, float, float, float], ...] = (
    (0.2, 0.1, 2.0, 4.0, 1 / 3),
    (0.1, 0.1, 10.0, 10.0, 0.2),
    (0.3, 0.5, 6.0, 6.0, 0.5),
    (0.5, 0.3, 12.0, 12.0, 0.8),
    (0.2, 0.2, 5.0, 5.0, 0.4),
    (0.2, 0.06, 1.4, 1.8, 0.1),
)
# autoHyper's default closeness tolerances (α1, β1, α2, β2, P) and parameter limit.
CLOSE = (0.05, 0.05, 0.2, 0.2, 0.025)
PARAM_LIMIT = 100.0


@dataclass(frozen=True)
class GPSFit:
    """The fitted prior θ = (α1, β1, α2, β2, P), the minimised negative log-likelihood, and every start's
    result (for the record: the fit is accepted only when another start converged close to it)."""

    alpha1: float
    beta1: float
    alpha2: float
    beta2: float
    p: float
    minimum: float
    num_close: int
    starts: list[dict[str, float | bool]] = field(default_factory=list)

    @property
    def theta(self) -> Array:
        return np.asarray([self.alpha1, self.beta1, self.alpha2, self.beta2, self.p])

    def to_dict(self) -> dict[str, float | int]:
        return {
            "alpha1": self.alpha1,
            "beta1": self.beta1,
            "alpha2": self.alpha2,
            "beta2": self.beta2,
            "p": self.p,
            "neg_log_likelihood": self.minimum,
            "num_close": self.num_close,
        }


def _to_free(theta: Sequence[float]) -> Array:
    a1, b1, a2, b2, p = theta
    return np.asarray([np.log(a1), np.log(b1), np.log(a2), np.log(b2), np.log(p / (1 - p))])


def _from_free(x: Array) -> Array:
    return np.asarray([*np.exp(x[:4]), special.expit(x[4])], dtype=np.float64)


# The search space, on log α, log β, logit P: α and β in [1e-12, 100] (openEBGM's param_limit), P in
# [2e-9, 1 - 2e-9]. A fit that ends at α or β = 100 or at the limits of P is not accepted (openEBGM's in_bounds):
# the likelihood can keep improving towards a degenerate prior (one component a point mass, α and β growing
# without end). α1 tending to 0 is accepted, as openEBGM accepts it (α > 0): on FAERS-like data the small
# component is weakly identified (the reference notes' synthetic FAERS-sized run ends there too).
FREE_BOUNDS = [(np.log(1e-12), np.log(PARAM_LIMIT))] * 4 + [(-20.0, 20.0)]
FREE_BOUNDS_ARRAY: Array = np.asarray(FREE_BOUNDS, dtype=np.float64)
POLISH = {"xatol": 1e-9, "fatol": 1e-10, "maxfev": 2000}


class FitFailed(ValueError):
    """No two starting points converged to the same prior: the hyperparameters are not identified here."""


def _canonical(theta: Array) -> Array:
    """(α1, β1, α2, β2, P) with the components ordered so that P <= 1/2."""
    if theta[4] <= 0.5:
        return theta
    return np.array([theta[2], theta[3], theta[0], theta[1], 1.0 - theta[4]])


def fit_gps(
    n: ArrayLike,
    e: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    starts: Sequence[Sequence[float]] = DEFAULT_STARTS,
    min_close: int = 1,
) -> GPSFit:
    """Maximum-likelihood hyperparameters of the two-gamma mixture prior (empirical Bayes; DuMouchel 1999 §4),
    from several starting points as openEBGM's ``autoHyper`` does: each start is minimised (BFGS on log α, log β,
    logit P, then a Nelder-Mead polish that may not leave the bounds); a start counts when it converged inside the
    parameter space (0 < α, β < 100, 0 < P < 1); the candidate with the smallest negative log-likelihood is
    accepted only when at least ``min_close`` other starts landed within autoHyper's tolerances (0.05, 0.05, 0.2,
    0.2, 0.025). Pass squashed points (:func:`squash`, :func:`auto_squash`) with their weights: the full
    likelihood gives the same estimates hundreds of times slower. Raises :class:`FitFailed` otherwise."""
    n_, e_ = _f(n), _f(e)
    w_ = np.ones_like(n_) if weight is None else _f(weight)
    if n_.size == 0 or np.any(n_ < 1):
        raise ValueError("the fit needs non-zero counts only (zero-truncated likelihood, N* = 1)")

    def objective(x: Array) -> float:
        return neg_log_likelihood(_from_free(x), n_, e_, w_)

    def boxed(x: Array) -> float:
        inside = np.all(x >= FREE_BOUNDS_ARRAY[:, 0]) and np.all(x <= FREE_BOUNDS_ARRAY[:, 1])
        return objective(x) if inside else INFEASIBLE

    results: list[dict[str, float | bool]] = []
    for start in starts:
        x0 = _to_free(start)
        first = optimize.minimize(objective, x0, method="BFGS", options={"gtol": 1e-7, "maxiter": 1000})
        again = optimize.minimize(boxed, first.x, method="Nelder-Mead", options=POLISH)
        best = again if again.fun <= first.fun else first
        # The mixture is the same with its components swapped (P <-> 1 - P): one order for every start, the first
        # component the one of weight P <= 1/2 (openEBGM's estimates are in that order), so that two starts that
        # found the same prior are compared as the same prior.
        theta = _canonical(_from_free(best.x))
        # Converged: an optimiser reported success, or the polish could not improve on BFGS's point.
        settled = bool(first.success) or bool(again.success) or abs(float(first.fun) - float(again.fun)) < 1e-6
        converged = bool(best.fun < INFEASIBLE) and settled
        inside = np.all(best.x < FREE_BOUNDS_ARRAY[:, 1] - 1e-6) and best.x[4] > FREE_BOUNDS_ARRAY[4, 0] + 1e-6
        in_bounds = bool(inside and np.all(theta[:4] < PARAM_LIMIT) and 0 < theta[4] < 1)
        results.append(
            {
                "alpha1": float(theta[0]),
                "beta1": float(theta[1]),
                "alpha2": float(theta[2]),
                "beta2": float(theta[3]),
                "p": float(theta[4]),
                "minimum": float(best.fun),
                "converged": converged and in_bounds,
            }
        )
    good = [r for r in results if r["converged"]]
    if len(good) < min_close + 1:
        raise FitFailed("the prior fit did not converge from enough starting points")
    keys = ("alpha1", "beta1", "alpha2", "beta2", "p")
    candidate = min(good, key=lambda r: float(r["minimum"]))
    num_close = sum(
        1
        for r in good
        if r is not candidate
        and all(abs(float(r[k]) - float(candidate[k])) < tol for k, tol in zip(keys, CLOSE, strict=True))
    )
    if num_close < min_close:
        raise FitFailed("the starting points converged to different priors: the fit is not reproducible")
    return GPSFit(
        alpha1=float(candidate["alpha1"]),
        beta1=float(candidate["beta1"]),
        alpha2=float(candidate["alpha2"]),
        beta2=float(candidate["beta2"]),
        p=float(candidate["p"]),
        minimum=float(candidate["minimum"]),
        num_close=num_close,
        starts=results,
    )


def qn(theta: ArrayLike, n: ArrayLike, e: ArrayLike) -> Array:
    """Posterior probability that λ came from the first prior component (DuMouchel 1999 Eq. 6):
    **Q_n = P f(n; α1, β1, E) / [P f(n; α1, β1, E) + (1−P) f(n; α2, β2, E)]** (untruncated f; openEBGM ``Qn``)."""
    a1, b1, a2, b2, p = (float(x) for x in np.asarray(theta, dtype=np.float64))
    n_, e_ = _f(n), _f(e)
    with np.errstate(divide="ignore"):
        log1 = np.log(p) + _log_nbinom(n_, a1, b1, e_)
        log2 = np.log1p(-p) + _log_nbinom(n_, a2, b2, e_)
    return np.asarray(special.expit(log1 - log2), dtype=np.float64)


@dataclass(frozen=True)
class GPSScores:
    """Posterior summaries per pair: mixture weight Q_n, EBGM, and the 5th/95th posterior percentiles."""

    qn: Array
    ebgm: Array
    eb05: Array
    eb95: Array


def _posterior_cdf(x: Array, theta: Array, n: Array, e: Array, q: Array) -> Array:
    a1, b1, a2, b2, _ = theta
    return np.asarray(
        q * special.gammainc(a1 + n, (b1 + e) * x) + (1 - q) * special.gammainc(a2 + n, (b2 + e) * x),
        dtype=np.float64,
    )


def posterior_quantile(
    prob: float, theta: ArrayLike, n: ArrayLike, e: ArrayLike, q: ArrayLike | None = None, *, rel_tol: float = 1e-7
) -> Array:
    """The ``prob`` quantile x of the posterior of λ, solving
    **Q_n F_Γ(x; α1+n, β1+E) + (1−Q_n) F_Γ(x; α2+n, β2+E) = prob** (DuMouchel 1999 §5; EB05 is prob = 0.05,
    the one-sided 95% lower credibility bound). Vectorised bisection in log x inside the bracket formed by the
    two component quantiles (the mixture quantile lies between them), to relative precision ``rel_tol`` (1e-7)
    (openEBGM's ``quantBisect`` stops at an absolute 0.005 and rounds to 2 decimals)."""
    theta_ = _f(theta)
    n_, e_ = _f(n), _f(e)
    q_ = qn(theta_, n_, e_) if q is None else _f(q)
    a1, b1, a2, b2, _ = theta_
    x1 = special.gammaincinv(a1 + n_, prob) / (b1 + e_)
    x2 = special.gammaincinv(a2 + n_, prob) / (b2 + e_)
    lo = np.log(np.minimum(x1, x2))
    hi = np.log(np.maximum(x1, x2))
    # Widen a degenerate bracket a little so the bisection always has room.
    lo, hi = lo - 1e-12, hi + 1e-12
    iterations = int(np.ceil(np.log2(max(float(np.max(hi - lo, initial=0.0)), 1e-12) / rel_tol))) + 1
    for _ in range(max(iterations, 1)):
        mid = (lo + hi) / 2
        above = _posterior_cdf(np.exp(mid), theta_, n_, e_, q_) > prob
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.asarray(np.exp((lo + hi) / 2), dtype=np.float64)


def gps_scores(theta: ArrayLike, n: ArrayLike, e: ArrayLike) -> GPSScores:
    """EBGM, EB05 and EB95 for every pair (DuMouchel 1999 Eq. 9-11):

    - posterior λ | N = n ~ Q_n Γ(α1+n, β1+E) + (1−Q_n) Γ(α2+n, β2+E);
    - E[ln λ] = Q_n[ψ(α1+n) − ln(β1+E)] + (1−Q_n)[ψ(α2+n) − ln(β2+E)];
    - **EBGM = exp(E[ln λ])** (= 2^EBlog2);
    - **EB05, EB95**: the 5th and 95th posterior percentiles (:func:`posterior_quantile`).

    Conventional screen: EB05 ≥ 2 (openEBGM's worked example; FDA practice). Unrounded: openEBGM rounds to 2
    decimals for display."""
    theta_ = _f(theta)
    n_, e_ = _f(n), _f(e)
    q_ = qn(theta_, n_, e_)
    a1, b1, a2, b2, _ = theta_
    e_log = q_ * (special.digamma(a1 + n_) - np.log(b1 + e_)) + (1 - q_) * (special.digamma(a2 + n_) - np.log(b2 + e_))
    return GPSScores(
        qn=q_,
        ebgm=np.exp(e_log),
        eb05=posterior_quantile(0.05, theta_, n_, e_, q_),
        eb95=posterior_quantile(0.95, theta_, n_, e_, q_),
    )
