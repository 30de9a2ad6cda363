"""Exposure versus outcome in a cohort: a linear mixed-effects model with a random intercept per participant.
Pure: NumPy only (no Django, no Polars, no I/O).

**Model** (Laird & Ware 1982, Biometrics 38(4):963-974, doi:10.2307/2529876), for participant ``i`` in week ``j``::

    y_ij = b0 + b1 * (mg_ij / 10) + b2 * week_ij + u_i + e_ij,   u_i ~ N(0, s_u^2),  e_ij ~ N(0, s_e^2)

``y_ij`` is the participant's mean score in that week, ``mg_ij`` the participant's mean daily mitragynine mg in
the same week, ``week_ij`` the week since enrolment. In statsmodels' notation this is
``MixedLM(y, [1, mg/10, week], groups=participant).fit(reml=True)`` (Seabold & Perktold 2010, Proc. 9th Python in
Science Conf.; https://www.statsmodels.org/stable/mixed_linear.html), and the tests check that this module gives
the same estimates as statsmodels does.

**Estimation.** Restricted maximum likelihood (REML; Harville 1977, JASA 72(358):320-338,
doi:10.1080/01621459.1977.10480998), profiled on the variance ratio g = s_u^2 / s_e^2. With one random intercept
each participant's covariance is s_e^2 (I + g 1 1'), whose inverse is (I - c_i 1 1') / s_e^2 with
c_i = g / (1 + n_i g), so every quantity is a sum over participants of a few per-participant sums (set-based;
no loop per participant):

    A(g) = X'X - sum_i c_i s_i s_i',  b(g) = X'y - sum_i c_i s_i t_i,  beta(g) = A^-1 b
    Q(g) = r'r - sum_i c_i R_i^2 (r = y - X beta, R_i its sum over participant i),  s_e^2 = Q / (N - p)
    l_REML(g) = -1/2 [ (N - p) log Q + sum_i log(1 + n_i g) + log det A ]   (up to a constant)

(s_i, t_i: participant i's column sums of X and of y). g is found on a log grid then refined by golden-section
search; g at the lower end means no between-participant variance (the model reduces to least squares, said in
the note), at the upper end that the fit did not settle (not estimable). Reported: ``b1`` (the difference in the
outcome per 10 mg mitragynine per day more, within the model) with its Wald 95 % interval from
Cov(beta) = s_e^2 A^-1 and a two-sided normal p-value, as statsmodels reports them. statsmodels' own optimiser
loops over participants in Python (about 15 s for 10,000 participants over a year on 2 cores) and stops short
when s_u^2 is near 0; this profile needs a few dozen evaluations of sums over participants (well under a second).

**What it is not.** ``b1`` is an association adjusted only for time since enrolment, not an effect of kratom:
who takes more, and when, is not random (confounding by indication and severity, reverse causation, selection,
self-report). A model that cannot be estimated (too few participants with enough weeks, a constant exposure, or
no convergence) is returned with ``status = "not_estimable"`` and the reason in words, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from kratomwatch.core.deid import check_k
from kratomwatch.core.errors import InputError

FORMULA = "outcome ~ mitragynine_mg_per_day / 10 + week + (1 | participant)   [linear mixed model, REML]"
PER = "10 mg mitragynine per day"
MIN_WEEKS = 3
"""A participant enters the model with at least this many weeks having both an outcome and an exposure."""
NOTE = (
    "An association, adjusted only for time since enrolment, not an effect: people who take more kratom differ "
    "from those who take less (severity, other treatment, reasons for use), exposure and outcome are self-reported, "
    "and who stays in follow-up is not random. It cannot show that kratom helps or harms."
)


@dataclass(frozen=True)
class MixedModelResult:
    """The exposure coefficient of the model in the module docstring, or why it could not be estimated."""

    status: str  # "estimated" | "not_estimable"
    reason: str | None
    coefficient: float | None
    lower: float | None
    upper: float | None
    p_value: float | None
    n_participants: int
    n_observations: int
    converged: bool
    note: str
    formula: str = FORMULA
    per: str = PER


def _not_estimable(reason: str, participants: int, observations: int, note: str = NOTE) -> MixedModelResult:
    return MixedModelResult("not_estimable", reason, None, None, None, None, participants, observations, False, note)


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def exposure_outcome(
    participants: npt.ArrayLike,
    outcome: npt.ArrayLike,
    mitragynine_mg: npt.ArrayLike,
    week: npt.ArrayLike,
    *,
    k: int,
    level: float = 0.95,
) -> MixedModelResult:
    """Fit the model of the module docstring on one row per participant-week (``participants``: any integer label
    per participant). Rows with a missing value are left out; so are participants with fewer than
    :data:`MIN_WEEKS` weeks. Fewer than ``k`` participants left (or fewer than 3), a constant exposure, or a fit
    that fails or does not converge give ``not_estimable`` with the reason (and ``converged`` false), never an
    exception or a warning."""
    check_k(k)
    if not 0.5 <= level < 1.0:
        raise InputError("level", level, "the confidence level is a fraction between 0.5 and 1 (e.g. 0.95)")
    g = np.asarray(participants, dtype=np.int64)
    y = np.asarray(outcome, dtype=np.float64)
    x = np.asarray(mitragynine_mg, dtype=np.float64)
    w = np.asarray(week, dtype=np.float64)
    if not (g.shape == y.shape == x.shape == w.shape) or g.ndim != 1:
        raise InputError("outcome", y.shape, "participants, outcome, exposure and week must be of the same length")
    keep = np.isfinite(y) & np.isfinite(x) & np.isfinite(w)
    g, y, x, w = g[keep], y[keep], x[keep], w[keep]
    labels, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    enough = counts[inverse] >= MIN_WEEKS
    g, y, x, w = g[enough], y[enough], x[enough], w[enough]
    n_people = int((counts >= MIN_WEEKS).sum()) if labels.size else 0
    n_obs = int(y.size)
    need = max(k, 3)
    if n_people < need:
        return _not_estimable(
            f"{n_people} participant(s) have an outcome and an exposure in at least {MIN_WEEKS} weeks; "
            f"the model needs at least {need}",
            n_people,
            n_obs,
        )
    if float(np.ptp(x)) == 0.0:
        return _not_estimable("the exposure does not vary (every week has the same mg)", n_people, n_obs)
    if float(np.ptp(w)) == 0.0:
        return _not_estimable("every observation falls in the same week", n_people, n_obs)
    exog = np.column_stack([np.ones_like(x), x / 10.0, w])
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        try:
            fit = _profile_reml(g, y, exog)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError, ZeroDivisionError) as exc:
            return _not_estimable(f"the model could not be fitted ({type(exc).__name__})", n_people, n_obs)
    if not fit.converged:
        return _not_estimable(
            "the model did not converge (the between-participant variance did not settle)", n_people, n_obs
        )
    coef = float(fit.beta[1])
    se = float(fit.se[1])
    if not math.isfinite(coef) or not math.isfinite(se) or se <= 0:
        return _not_estimable("the model did not converge (no finite standard error)", n_people, n_obs)
    z = NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0)
    p = 2.0 * (1.0 - NormalDist().cdf(abs(coef / se)))
    note = NOTE
    if fit.ratio == 0.0:
        note += " The between-participant variance was estimated at 0, so the model reduces to least squares."
    return MixedModelResult(
        "estimated",
        None,
        coef,
        _finite(coef - z * se),
        _finite(coef + z * se),
        _finite(p),
        n_people,
        n_obs,
        True,
        note,
    )


@dataclass(frozen=True)
class _Fit:
    beta: npt.NDArray[np.float64]
    se: npt.NDArray[np.float64]
    ratio: float
    """g = s_u^2 / s_e^2 at the REML optimum (0: no between-participant variance)."""
    scale: float
    """s_e^2."""
    converged: bool


_GRID = np.linspace(-12.0, 9.0, 43)  # log g: from no between-participant variance to all of it
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _profile_reml(groups: npt.NDArray[np.int64], y: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> _Fit:
    """The REML fit of the module docstring (random intercept per value of ``groups``)."""
    _, g = np.unique(groups, return_inverse=True)
    m = int(g.max()) + 1
    n_obs, p = x.shape
    n = np.bincount(g, minlength=m).astype(np.float64)
    sums_x = np.column_stack([np.bincount(g, weights=x[:, j], minlength=m) for j in range(p)])
    sums_y = np.bincount(g, weights=y, minlength=m)
    xtx, xty, yty = x.T @ x, x.T @ y, float(y @ y)

    def parts(ratio: float) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
        c = ratio / (1.0 + n * ratio)
        a = xtx - (sums_x * c[:, None]).T @ sums_x
        beta = np.asarray(np.linalg.solve(a, xty - sums_x.T @ (c * sums_y)), dtype=np.float64)
        r_sum = sums_y - sums_x @ beta
        q = yty - 2.0 * float(beta @ xty) + float(beta @ xtx @ beta) - float((c * r_sum * r_sum).sum())
        sign, logdet = np.linalg.slogdet(a)
        if sign <= 0 or q <= 0:
            raise np.linalg.LinAlgError("singular")
        loglik = -0.5 * ((n_obs - p) * math.log(q) + float(np.log1p(n * ratio).sum()) + float(logdet))
        return loglik, beta, a, q

    def loss(log_ratio: float) -> float:
        return -parts(math.exp(log_ratio))[0]

    values = [loss(t) for t in _GRID]
    best = int(np.argmin(values))
    lo, hi = _GRID[max(best - 1, 0)], _GRID[min(best + 1, _GRID.size - 1)]
    c1, c2 = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    f1, f2 = loss(c1), loss(c2)
    for _ in range(60):
        if f1 < f2:
            hi, c2, f2 = c2, c1, f1
            c1 = hi - _GOLDEN * (hi - lo)
            f1 = loss(c1)
        else:
            lo, c1, f1 = c1, c2, f2
            c2 = lo + _GOLDEN * (hi - lo)
            f2 = loss(c2)
    ratio = math.exp((lo + hi) / 2.0)
    at_zero = -parts(0.0)[0]
    if best == 0 and at_zero <= loss(math.log(ratio)):
        ratio = 0.0
    _, beta, a, q = parts(ratio)
    scale = q / (n_obs - p)
    se = np.sqrt(np.diag(scale * np.linalg.inv(a)))
    return _Fit(beta, se, ratio, scale, converged=best < _GRID.size - 1)
