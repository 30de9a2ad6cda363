"""Exposure versus outcome in a cohort: a linear mixed-effects model with a random intercept per participant.
Pure: NumPy and statsmodels only (no Django, no Polars, no I/O).

**Model** (Laird & Ware 1982, Biometrics 38(4):963-974, doi:10.2307/2529876), for participant ``i`` in week ``j``::

    y_ij = b0 + b1 * (mg_ij / 10) + b2 * week_ij + u_i + e_ij,   u_i ~ N(0, s_u^2),  e_ij ~ N(0, s_e^2)

``y_ij`` is the participant's mean score in that week, ``mg_ij`` the participant's mean daily mitragynine mg in
the same week, ``week_ij`` the week since enrolment. Fitted by restricted maximum likelihood (REML) with
statsmodels' ``MixedLM`` (Seabold & Perktold 2010, "statsmodels: Econometric and statistical modeling with
Python", Proc. 9th Python in Science Conf.; https://www.statsmodels.org/stable/mixed_linear.html). Reported:
``b1`` (the difference in the outcome per 10 mg mitragynine per day more, within the model), its Wald 95 %
interval and p-value.

**What it is not.** ``b1`` is an association adjusted only for time since enrolment, not an effect of kratom:
who takes more, and when, is not random (confounding by indication and severity, reverse causation, selection,
self-report). A model that cannot be estimated (too few participants with enough weeks, or no convergence) is
returned with ``status = "not_estimable"`` and the reason in words, never an exception.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

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
    that fails or does not converge give ``not_estimable`` with the reason; warnings of the fit are not raised but
    reported through ``converged`` and the note."""
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
    from statsmodels.regression.mixed_linear_model import MixedLM  # noqa: PLC0415 - heavy; loaded only to fit

    exog = np.column_stack([np.ones_like(x), x / 10.0, w])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = MixedLM(y, exog, groups=g).fit(reml=True)
            coef = float(fit.fe_params[1])
            se = float(fit.bse_fe[1])
            converged = bool(fit.converged)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError) as exc:
            return _not_estimable(f"the model could not be fitted ({type(exc).__name__})", n_people, n_obs)
    messages = sorted({str(c.message).splitlines()[0][:160] for c in caught})
    if not converged or not math.isfinite(coef) or not math.isfinite(se) or se <= 0:
        detail = f" ({'; '.join(messages)})" if messages else ""
        result = _not_estimable(f"the model did not converge{detail}", n_people, n_obs)
        return result
    from statistics import NormalDist  # noqa: PLC0415 - only here

    z = NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0)
    p = 2.0 * (1.0 - NormalDist().cdf(abs(coef / se)))
    note = NOTE if not messages else f"{NOTE} The fit reported: {'; '.join(messages)}."
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
