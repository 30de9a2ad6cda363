"""N-of-1 trial analysis: one patient, two or more conditions in randomized periods, a daily outcome.

Pure (numpy only). The adapters (CLI, later web and API) parse their input into :class:`Trial` and report
:class:`Analysis`. The result is about one patient over one period of time; it is not a dosing recommendation
and kratomwatch never recommends a dose.

Model
-----
For the days kept (outcome present, not a washout day), in day order::

    y_t = b0 + sum_c d_c [condition_t = c] + sum_b g_b [block_t = b] (+ e_mg * exposure_mg_t) + u_t
    u_t = rho * u_{t-1} + eps_t,   eps_t ~ N(0, sigma^2)   (AR(1) over consecutive days)

``d_c`` is the effect of condition ``c`` minus the reference condition, in outcome units; blocks (when given)
are fixed effects (block 1 is the baseline level), so a drift between blocks does not bias ``d_c``; the
exposure term is added only for the exposure-adjusted estimate.

Missing days: a day with no outcome (NaN) and a washout day are dropped. The AR(1) chain is only followed over
consecutive calendar days: after a dropped day a new run starts, whose first day is treated as a stationary start
(the Prais-Winsten first-row scaling). This treats a gap as a break in the series, a small approximation for a
gap of one or two days (the true correlation across a gap of k days would be rho^(k+1)).

Prais-Winsten transform (Prais & Winsten 1954, Cowles Commission Discussion Paper Stat. 383): for each run, the
first row is multiplied by sqrt(1 - rho^2) and each later row t becomes row_t - rho * row_{t-1}, for y and X
alike. The transformed model y* = X* beta + eps has independent errors; its Jacobian is
(1 - rho^2)^(R/2) for R runs.

Bayesian estimate. Prior: p(beta, sigma^2 | rho) proportional to 1 / sigma^2 (the standard noninformative prior),
rho uniform on a grid of (-0.9, 0.95). Given rho, with k columns and n kept days (Gelman et al., Bayesian Data
Analysis, 3rd ed., 2013, section 14.2)::

    beta_hat = (X*'X*)^-1 X*'y*,   s^2 = (y* - X* beta_hat)'(y* - X* beta_hat) / (n - k)
    beta | y, rho ~ t_{n-k}(beta_hat, s^2 (X*'X*)^-1)               (multivariate t)
    p(y | rho) proportional to (1 - rho^2)^(R/2) |X*'X*|^(-1/2) ((n - k) s^2)^(-(n - k)/2)

(the marginal likelihood after integrating beta and sigma^2 analytically; the constants free of rho cancel).
The posterior of rho on the grid is p(y | rho) normalised; the posterior of d_c is the mixture of the t
distributions over rho, sampled with a seeded numpy Generator (``draws`` samples). Reported: the posterior
mean, the 95 % credible interval (2.5th and 97.5th percentiles), P(better) = P(d_c < 0) when lower is better
(P(d_c > 0) otherwise) and P(better by at least the MCID) = P(d_c <= -MCID) (or P(d_c >= MCID)).

Frequentist comparison: feasible GLS at the rho that maximises the profile likelihood
l(rho) = (R/2) log(1 - rho^2) - (n/2) log(RSS(rho)) on the same grid; the estimate is beta_hat at that rho,
the 95 % interval beta_hat +- t_{0.975, n-k} se, with se^2 = s^2 [(X*'X*)^-1]_cc, and a two-sided t p-value.
It ignores the uncertainty in rho, so it is slightly narrower than the Bayesian interval.

Validation: tests/core/test_nof1.py simulates trials with a known effect and checks that the 95 % credible
interval covers it in about 95 % of them (the numbers are in docs/nof1.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kratomwatch.core.cohort_stats import t_quantile, t_upper_tail
from kratomwatch.core.errors import InputError

__all__ = [
    "RHO_GRID",
    "Analysis",
    "BayesEstimate",
    "FrequentistEstimate",
    "Trial",
    "analyse",
    "bayes",
    "frequentist",
    "model_formula",
    "washout_sensitivity",
]

FloatArray = npt.NDArray[np.float64]

RHO_GRID: FloatArray = np.round(np.arange(-0.9, 0.9501, 0.01), 2)
"""The rho values (AR(1) correlation of consecutive days) the model averages over (flat prior)."""

MIN_RESIDUAL_DF = 2
MAX_DAYS = 3660
"""At most ten years of daily rows: bounds the memory of the batched fits."""
MAX_CONDITIONS = 10
MAX_BLOCKS = 100
_GRID_CHUNK = 16


@dataclass(frozen=True)
class Trial:
    """The daily rows of one n-of-1 trial. ``day`` is a day index (e.g. days since the first date), unique.
    ``outcome`` is NaN on a day without a measure; ``washout`` marks days excluded from analysis; ``block`` is the
    block (crossover) number of each day or None; ``exposure_mg`` the measured mg (e.g. mitragynine) or None."""

    day: npt.NDArray[np.int64]
    condition: tuple[str, ...]
    outcome: FloatArray
    block: npt.NDArray[np.int64] | None = None
    washout: npt.NDArray[np.bool_] | None = None
    exposure_mg: FloatArray | None = None

    @classmethod
    def of(
        cls,
        day: npt.ArrayLike,
        condition: list[str] | tuple[str, ...],
        outcome: npt.ArrayLike,
        *,
        block: npt.ArrayLike | None = None,
        washout: npt.ArrayLike | None = None,
        exposure_mg: npt.ArrayLike | None = None,
    ) -> Trial:
        """Check the lengths and sort the rows by day. Duplicate days are an ``InputError`` naming the day."""
        d = np.asarray(day, dtype=np.int64)
        n = d.shape[0]
        y = np.asarray(outcome, dtype=np.float64)
        arrays: dict[str, Any] = {"condition": condition, "outcome": y}
        b = None if block is None else np.asarray(block, dtype=np.int64)
        w = None if washout is None else np.asarray(washout, dtype=np.bool_)
        x = None if exposure_mg is None else np.asarray(exposure_mg, dtype=np.float64)
        arrays.update({"block": b, "washout": w, "exposure_mg": x})
        for name, values in arrays.items():
            if values is not None and len(values) != n:
                raise InputError(name, len(values), f"{name} has {len(values)} values for {n} days")
        if n == 0:
            raise InputError("day", 0, "the trial has no days")
        if n > MAX_DAYS:
            raise InputError("day", n, f"the trial has {n} days; at most {MAX_DAYS} (ten years) are analysed")
        order = np.argsort(d, kind="stable")
        d = d[order]
        repeated = d[1:][d[1:] == d[:-1]]
        if repeated.size:
            raise InputError("day", int(repeated[0]), f"day {int(repeated[0])} appears more than once")
        return cls(
            day=d,
            condition=tuple(str(condition[i]) for i in order),
            outcome=y[order],
            block=None if b is None else b[order],
            washout=None if w is None else w[order],
            exposure_mg=None if x is None else x[order],
        )

    @property
    def conditions(self) -> list[str]:
        """The condition labels in order of first appearance."""
        return list(dict.fromkeys(self.condition))


@dataclass(frozen=True)
class _Design:
    y: FloatArray
    x: FloatArray
    run_start: npt.NDArray[np.bool_]
    columns: list[str]
    n_days_used: dict[str, int]

    @property
    def runs(self) -> int:
        return int(self.run_start.sum())


@dataclass(frozen=True)
class BayesEstimate:
    """Posterior of one condition minus the reference, in outcome units."""

    effect: float
    interval_95: tuple[float, float]
    prob_better: float
    prob_better_by_mcid: float | None
    n_days_used: int


@dataclass(frozen=True)
class FrequentistEstimate:
    """Feasible GLS estimate of one condition minus the reference, with its 95 % t interval and p-value."""

    effect: float
    interval_95: tuple[float, float]
    p_value: float


@dataclass(frozen=True)
class Analysis:
    """The full result for the CLI (and later the web): see :meth:`to_dict` for the JSON contract."""

    reference: str
    lower_is_better: bool
    mcid: float | None
    bayes: dict[str, BayesEstimate]
    frequentist: dict[str, FrequentistEstimate]
    rho: float
    rho_ml: float
    n_days_used: dict[str, int]
    sensitivity: list[dict[str, Any]]
    exposure_adjusted: dict[str, Any] | None
    model: str
    caveat: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        conditions: dict[str, Any] = {}
        for name, b in self.bayes.items():
            f = self.frequentist[name]
            conditions[name] = {
                "effect": b.effect,
                "interval_95": list(b.interval_95),
                "prob_better": b.prob_better,
                "prob_better_by_mcid": b.prob_better_by_mcid,
                "n_days_used": b.n_days_used,
                "frequentist": {"effect": f.effect, "interval_95": list(f.interval_95), "p_value": f.p_value},
            }
        return {
            "reference": self.reference,
            "reference_n_days_used": self.n_days_used[self.reference],
            "lower_is_better": self.lower_is_better,
            "mcid": self.mcid,
            "conditions": conditions,
            "model": self.model,
            "rho": self.rho,
            "rho_ml": self.rho_ml,
            "sensitivity": self.sensitivity,
            "exposure_adjusted": self.exposure_adjusted,
            "caveat": self.caveat,
        }


CAVEAT = (
    "This is the result of one patient's trial over this period only: it says how this patient's outcome differed "
    "between the conditions compared, with the stated uncertainty. It does not show that a condition works for "
    "anyone else, it may change over time, and it is not a dosing recommendation: kratomwatch never recommends a "
    "dose. Decisions belong to the patient and their clinician."
)


def model_formula(*, blocks: bool, exposure: bool = False) -> str:
    """The model in words and symbols, as reported with every analysis."""
    terms = ["condition"] + (["block"] if blocks else []) + (["exposure_mg"] if exposure else [])
    return (
        f"outcome ~ {' + '.join(terms)}, AR(1) errors over consecutive days (Prais-Winsten); "
        "noninformative prior p(beta, sigma^2) ~ 1/sigma^2, flat prior on rho in [-0.9, 0.95]"
    )


def _check(trial: Trial, reference: str) -> None:
    if reference not in trial.condition:
        raise InputError(
            "reference", reference, f"the reference condition {reference!r} is not in the data ({trial.conditions})"
        )
    if not 2 <= len(trial.conditions) <= MAX_CONDITIONS:
        raise InputError(
            "condition",
            trial.conditions,
            f"an n-of-1 trial compares at least two and at most {MAX_CONDITIONS} conditions",
        )
    if trial.block is not None and not 2 <= np.unique(trial.block).size <= MAX_BLOCKS:
        raise InputError(
            "block", np.unique(trial.block).size, f"an n-of-1 trial needs at least two blocks (at most {MAX_BLOCKS})"
        )


def _period_position(trial: Trial) -> npt.NDArray[np.int64]:
    """For each day, how many analysable (non-washout) days of its period came before it. A period is a run of
    days with the same condition (and block) in day order."""
    pos = np.zeros(trial.day.shape[0], dtype=np.int64)
    count = 0
    for i in range(trial.day.shape[0]):
        new_period = i == 0 or trial.condition[i] != trial.condition[i - 1]
        if trial.block is not None and i > 0 and trial.block[i] != trial.block[i - 1]:
            new_period = True
        if new_period:
            count = 0
        pos[i] = count
        if trial.washout is None or not trial.washout[i]:
            count += 1
    return pos


def _design(trial: Trial, reference: str, *, extra_washout: int = 0, exposure: bool = False) -> _Design:
    _check(trial, reference)
    keep = ~np.isnan(trial.outcome)
    if trial.washout is not None:
        keep &= ~trial.washout
    if extra_washout:
        keep &= _period_position(trial) >= extra_washout
    if exposure:
        if trial.exposure_mg is None:
            raise InputError("exposure_mg", None, "the exposure-adjusted estimate needs the measured mg per day")
        keep &= ~np.isnan(trial.exposure_mg)
    idx = np.flatnonzero(keep)
    labels = [trial.condition[i] for i in idx]
    used = {c: labels.count(c) for c in trial.conditions}
    for name, count in used.items():
        if count == 0:
            raise InputError("condition", name, f"condition {name!r} has no day with an outcome outside washout")
    others = [c for c in trial.conditions if c != reference]
    cols: list[FloatArray] = [np.ones(idx.size)]
    names = ["intercept"]
    for c in others:
        cols.append(np.array([lab == c for lab in labels], dtype=np.float64))
        names.append(c)
    if trial.block is not None:
        blocks = trial.block[idx]
        for b in np.unique(blocks)[1:]:
            cols.append((blocks == b).astype(np.float64))
            names.append(f"block {int(b)}")
    if exposure and trial.exposure_mg is not None:
        cols.append(trial.exposure_mg[idx])
        names.append("exposure_mg")
    x = np.column_stack(cols)
    n, k = x.shape
    if n - k < MIN_RESIDUAL_DF:
        raise InputError(
            "outcome", n, f"{n} usable days are too few for a model with {k} terms (need at least {k + 2})"
        )
    if np.linalg.matrix_rank(x) < k:
        raise InputError("condition", names, "the conditions cannot be told apart from the blocks or the exposure")
    days = trial.day[idx]
    run_start = np.ones(n, dtype=np.bool_)
    run_start[1:] = np.diff(days) != 1
    return _Design(y=trial.outcome[idx], x=x, run_start=run_start, columns=names, n_days_used=used)


@dataclass(frozen=True)
class _Fits:
    """The regression at every rho of the grid (arrays over the grid first)."""

    beta: FloatArray  # (R, k)
    cov_unscaled: FloatArray  # (R, k, k): (X*'X*)^-1
    rss: FloatArray  # (R,)
    log_marginal: FloatArray  # (R,)
    log_profile: FloatArray  # (R,)
    df: int


def _fits(design: _Design, grid: FloatArray = RHO_GRID) -> _Fits:
    """Prais-Winsten transform at each rho of the grid, then OLS on the transformed data (batched by chunks of the
    grid, so memory stays at a few arrays of days x terms)."""
    parts = [_fits_chunk(design, grid[i : i + _GRID_CHUNK]) for i in range(0, grid.size, _GRID_CHUNK)]
    return _Fits(
        beta=np.concatenate([p.beta for p in parts]),
        cov_unscaled=np.concatenate([p.cov_unscaled for p in parts]),
        rss=np.concatenate([p.rss for p in parts]),
        log_marginal=np.concatenate([p.log_marginal for p in parts]),
        log_profile=np.concatenate([p.log_profile for p in parts]),
        df=parts[0].df,
    )


def _fits_chunk(design: _Design, grid: FloatArray) -> _Fits:
    y, x, start = design.y, design.x, design.run_start
    n, k = x.shape
    rho = grid[:, None]
    scale = np.sqrt(1.0 - grid**2)[:, None]
    y_prev = np.concatenate([[0.0], y[:-1]])
    ys = np.where(start[None, :], scale * y[None, :], y[None, :] - rho * y_prev[None, :])  # (R, n)
    x_prev = np.vstack([np.zeros((1, k)), x[:-1]])
    xs = np.where(
        start[None, :, None], scale[:, :, None] * x[None, :, :], x[None, :, :] - rho[:, :, None] * x_prev[None, :, :]
    )  # (R, n, k)
    xtx = np.einsum("rni,rnj->rij", xs, xs)
    xty = np.einsum("rni,rn->ri", xs, ys)
    inv = np.linalg.inv(xtx)
    beta = np.einsum("rij,rj->ri", inv, xty)
    resid = ys - np.einsum("rnk,rk->rn", xs, beta)
    rss = np.einsum("rn,rn->r", resid, resid)
    _, logdet = np.linalg.slogdet(xtx)
    df = n - k
    jac = 0.5 * design.runs * np.log(1.0 - grid**2)
    log_marginal = jac - 0.5 * logdet - 0.5 * df * np.log(rss)
    log_profile = jac - 0.5 * n * np.log(rss / n)
    return _Fits(beta=beta, cov_unscaled=inv, rss=rss, log_marginal=log_marginal, log_profile=log_profile, df=df)


def _posterior_draws(design: _Design, fits: _Fits, draws: int, seed: int) -> tuple[FloatArray, float]:
    """Samples of every coefficient from the rho-mixture of multivariate t posteriors, and the posterior mean rho."""
    w = np.exp(fits.log_marginal - fits.log_marginal.max())
    w /= w.sum()
    rng = np.random.default_rng(seed)
    which = rng.choice(w.size, size=draws, p=w)
    k = design.x.shape[1]
    s2 = fits.rss[which] / fits.df
    z = rng.standard_normal((draws, k))
    scale = np.sqrt(s2 * fits.df / rng.chisquare(fits.df, size=draws))
    samples = np.empty((draws, k))
    for r in np.unique(which):  # beta_hat + t-scaled L z, L the Cholesky factor of (X*'X*)^-1 at that rho
        at = which == r
        chol = np.linalg.cholesky(fits.cov_unscaled[r])
        samples[at] = fits.beta[r] + scale[at, None] * (z[at] @ chol.T)
    return samples, float(np.dot(w, RHO_GRID))


def _summary(samples: FloatArray, lower_is_better: bool, mcid: float | None, n_days: int) -> BayesEstimate:
    sign = -1.0 if lower_is_better else 1.0
    better = sign * samples
    low, high = np.percentile(samples, [2.5, 97.5])
    return BayesEstimate(
        effect=float(samples.mean()),
        interval_95=(float(low), float(high)),
        prob_better=float((better > 0).mean()),
        prob_better_by_mcid=None if mcid is None else float((better >= mcid).mean()),
        n_days_used=n_days,
    )


def _check_mcid(mcid: float | None) -> None:
    if mcid is not None and not (math.isfinite(mcid) and mcid > 0):
        raise InputError("mcid", mcid, "the minimal clinically important difference is a positive number")


def bayes(
    trial: Trial,
    reference: str,
    *,
    mcid: float | None = None,
    lower_is_better: bool = True,
    draws: int = 20_000,
    seed: int = 0,
    extra_washout: int = 0,
    exposure: bool = False,
) -> tuple[dict[str, BayesEstimate], float]:
    """Posterior summary of each non-reference condition minus ``reference`` (see the module docstring), and the
    posterior mean of rho."""
    _check_mcid(mcid)
    design = _design(trial, reference, extra_washout=extra_washout, exposure=exposure)
    fits = _fits(design)
    samples, rho = _posterior_draws(design, fits, draws, seed)
    out = {}
    for j, name in enumerate(design.columns):
        if name in design.n_days_used and name != reference:
            out[name] = _summary(samples[:, j], lower_is_better, mcid, design.n_days_used[name])
    return out, rho


def frequentist(
    trial: Trial, reference: str, *, rho: float | None = None, extra_washout: int = 0
) -> tuple[dict[str, FrequentistEstimate], float]:
    """Feasible GLS (Prais-Winsten) at the maximum-likelihood rho on the grid, or at the ``rho`` given; returns the
    estimates and the rho used."""
    design = _design(trial, reference, extra_washout=extra_washout)
    grid = RHO_GRID if rho is None else np.array([rho], dtype=np.float64)
    fits = _fits(design, grid)
    r = int(np.argmax(fits.log_profile))
    s2 = fits.rss[r] / fits.df
    tq = t_quantile(0.975, fits.df)
    out = {}
    for j, name in enumerate(design.columns):
        if name in design.n_days_used and name != reference:
            est = float(fits.beta[r, j])
            se = math.sqrt(s2 * fits.cov_unscaled[r, j, j])
            p = min(1.0, 2.0 * t_upper_tail(abs(est) / se, float(fits.df))) if se > 0 else 0.0
            out[name] = FrequentistEstimate(effect=est, interval_95=(est - tq * se, est + tq * se), p_value=p)
    return out, float(grid[r])


def washout_sensitivity(
    trial: Trial,
    reference: str,
    *,
    extra_days: tuple[int, ...] = (0, 1, 2, 3),
    lower_is_better: bool = True,
    draws: int = 20_000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """The Bayesian estimate again after dropping 0, 1, 2, ... more days at the start of each period (beyond the
    washout days already flagged): one row per extra washout, with each condition's effect, interval and
    P(better). A setting that leaves a condition too few days gives a row with ``"error"`` instead."""
    rows: list[dict[str, Any]] = []
    for extra in extra_days:
        try:
            est, _ = bayes(
                trial, reference, lower_is_better=lower_is_better, draws=draws, seed=seed, extra_washout=extra
            )
        except InputError as problem:
            rows.append({"extra_washout_days": extra, "error": problem.message})
            continue
        rows.append(
            {
                "extra_washout_days": extra,
                "conditions": {
                    name: {
                        "effect": e.effect,
                        "interval_95": list(e.interval_95),
                        "prob_better": e.prob_better,
                        "n_days_used": e.n_days_used,
                    }
                    for name, e in est.items()
                },
            }
        )
    return rows


def _exposure_adjusted(
    trial: Trial, reference: str, *, lower_is_better: bool, mcid: float | None, draws: int, seed: int
) -> dict[str, Any] | None:
    if trial.exposure_mg is None:
        return None
    try:
        design = _design(trial, reference, exposure=True)
    except InputError as problem:
        return {"status": "not_estimable", "reason": problem.message}
    fits = _fits(design)
    samples, _ = _posterior_draws(design, fits, draws, seed)
    conditions = {}
    for j, name in enumerate(design.columns):
        if name in design.n_days_used and name != reference:
            e = _summary(samples[:, j], lower_is_better, mcid, design.n_days_used[name])
            conditions[name] = {"effect": e.effect, "interval_95": list(e.interval_95), "prob_better": e.prob_better}
    per_10 = 10.0 * samples[:, design.columns.index("exposure_mg")]
    low, high = np.percentile(per_10, [2.5, 97.5])
    return {
        "status": "estimated",
        "model": model_formula(blocks=trial.block is not None, exposure=True),
        "conditions": conditions,
        "per_10_mg": {"effect": float(per_10.mean()), "interval_95": [float(low), float(high)]},
        "note": "Condition effects beyond what the measured mg explains; the mg slope is an association in this "
        "patient, not a dose-response recommendation.",
    }


def analyse(
    trial: Trial,
    reference: str,
    *,
    mcid: float | None = None,
    lower_is_better: bool = True,
    draws: int = 20_000,
    seed: int = 0,
    sensitivity_days: tuple[int, ...] = (0, 1, 2, 3),
) -> Analysis:
    """Everything reported for one trial: Bayesian and frequentist estimates, washout sensitivity and, when the
    measured mg is given, the exposure-adjusted estimate."""
    est, rho = bayes(trial, reference, mcid=mcid, lower_is_better=lower_is_better, draws=draws, seed=seed)
    freq, rho_ml = frequentist(trial, reference)
    design = _design(trial, reference)
    return Analysis(
        reference=reference,
        lower_is_better=lower_is_better,
        mcid=mcid,
        bayes=est,
        frequentist=freq,
        rho=rho,
        rho_ml=rho_ml,
        n_days_used=design.n_days_used,
        sensitivity=washout_sensitivity(
            trial, reference, extra_days=sensitivity_days, lower_is_better=lower_is_better, draws=draws, seed=seed
        ),
        exposure_adjusted=_exposure_adjusted(
            trial, reference, lower_is_better=lower_is_better, mcid=mcid, draws=draws, seed=seed
        ),
        model=model_formula(blocks=trial.block is not None),
        caveat=CAVEAT,
    )
