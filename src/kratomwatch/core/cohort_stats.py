"""Cohort statistics for research analyses: weekly trajectories, IMMPACT responder rates, adverse-event incidence,
Kaplan-Meier survival, and the small-cell (k) suppression every one of them applies. Pure: no Django, no I/O, no
clock; NumPy and the standard library only (SciPy is not a runtime dependency, so the few distribution quantiles
needed are computed here; the tests check them against published tables and, on generated inputs, against SciPy,
statsmodels and lifelines).

**Small cells.** A count ``c`` with ``0 < c < k`` is a small cell (:func:`is_small`). A result resting on a small
cell is returned with ``suppressed=True`` and its numbers set to ``None``: it is never silently dropped, so a
reader sees that something was withheld. Zero is not a small cell (it identifies no one). ``k`` is checked with
:func:`kratomwatch.core.deid.check_k` (at least 2).

**What these numbers cannot show.** They describe an observational cohort. Confounding (who chooses kratom, and
how much), selection (who enrols, who stays, who answers), regression to the mean and self-report all bias them;
none of them can establish that kratom helps or is safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from kratomwatch.core.deid import check_k
from kratomwatch.core.errors import InputError

DEFAULT_LEVEL = 0.95
IMMPACT_THRESHOLDS = (0.30, 0.50)
"""Moderate (>= 30 %) and substantial (>= 50 %) reduction in pain intensity from baseline: Dworkin et al. 2008,
J Pain 9(2):105-121, doi:10.1016/j.jpain.2007.09.005 (IMMPACT recommendations, Table 1)."""

_EPS = 1e-12
_MAX_ITER = 500

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------------------------------------
# Small-cell suppression
# ---------------------------------------------------------------------------------------------------------------


def is_small(counts: npt.ArrayLike, k: int) -> BoolArray:
    """True where a count is a small cell: ``0 < count < k`` (zero identifies no one). ``k`` below 2 is refused."""
    check_k(k)
    c = np.asarray(counts, dtype=np.int64)
    return np.asarray((c > 0) & (c < k), dtype=bool)


def _check_level(level: float) -> float:
    if not 0.5 <= level < 1.0:
        raise InputError("level", level, "the confidence level is a fraction between 0.5 and 1 (e.g. 0.95)")
    return level


def _z(level: float) -> float:
    """Two-sided standard normal quantile: z = Phi^-1(1 - alpha/2) (1.959964 for 95 %)."""
    return NormalDist().inv_cdf(1.0 - (1.0 - _check_level(level)) / 2.0)


# ---------------------------------------------------------------------------------------------------------------
# Special functions (Numerical Recipes, 3rd ed., Press et al. 2007, sections 6.2 and 6.4) and their inverses
# ---------------------------------------------------------------------------------------------------------------


def _gamma_p(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x)."""
    return _gamma_pq(a, x)[0]


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x), computed directly in the continued-fraction range
    so that a small upper tail keeps its digits (1 - P would lose them)."""
    return _gamma_pq(a, x)[1]


def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)): series for P when x < a + 1, Lentz continued fraction for Q otherwise."""
    if x <= 0.0:
        return 0.0, 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER * 4 + 20 * math.isqrt(int(a))):  # terms fall like exp(-n^2 / 2a) near x = a
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        lower = min(1.0, total * math.exp(log_front))
        return lower, 1.0 - lower
    b = x + 1.0 - a
    c = 1.0 / 1e-300
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER * 4):
        an = -i * (i - a)
        b += 2.0
        d = 1.0 / _nonzero(an * d + b)
        c = _nonzero(b + an / c)
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    upper = min(1.0, math.exp(log_front) * h)
    return 1.0 - upper, upper


def _nonzero(v: float) -> float:
    """Lentz's guard: a value too close to 0 is replaced by a tiny one (Numerical Recipes 5.2)."""
    return 1e-300 if abs(v) < 1e-300 else v


def _beta_cf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 / _nonzero(1.0 - qab * x / qap)
    h = d
    for m in range(1, _MAX_ITER * 4):
        m2 = 2 * m
        delta = 1.0
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 / _nonzero(1.0 + aa * d)
            c = _nonzero(1.0 + aa / c)
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h


def _lgamma_shift(y: float, a: float) -> float:
    """ln Gamma(y + a) - ln Gamma(y) for y >= 100 without subtracting two large logarithms: Stirling's asymptotic
    series ln Gamma(z) ~ (z - 1/2) ln z - z + ln(2 pi)/2 + S(z), S(z) = 1/(12z) - 1/(360z^3) + 1/(1260z^5), written
    as (y - 1/2) ln(1 + a/y) + a ln(y + a) - a + S(y + a) - S(y) (agrees with math.lgamma differences to their own
    rounding for y >= 100)."""

    def s(z: float) -> float:
        z2 = z * z
        return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / (1260.0 * z2)) / z2) / z

    return (y - 0.5) * math.log1p(a / y) + a * math.log(y + a) - a + s(y + a) - s(y)


def _log_inv_beta(a: float, b: float) -> float:
    """-ln B(a, b) = ln Gamma(a + b) - ln Gamma(a) - ln Gamma(b). With one argument large (a t quantile with many
    degrees of freedom) the plain difference of lgammas loses about as many digits as the lgammas have before the
    point (found by comparing with scipy.stats.t.ppf at df = 10^7 in the tests)."""
    big, small = (a, b) if a >= b else (b, a)
    if big >= 100.0:
        return _lgamma_shift(big, small) - math.lgamma(small)
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)


def _beta_i(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = _log_inv_beta(a, b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def t_upper_tail(t: float, df: float) -> float:
    """Upper tail P(T > t) = I_{df/(df+t^2)}(df/2, 1/2) / 2 for t >= 0 (Abramowitz & Stegun 26.7.1), computed
    directly (1 - CDF would lose a small tail's digits); for t < 1 (tail above 0.15, so no digits to lose) and t^2 < df
    as 1/2 - P(0 < T < t), which keeps its digits near t = 0 for a large df."""
    t2 = t * t
    if t < 1.0 and t2 < df:
        return 0.5 - _t_centre(t, df)
    return 0.5 * _beta_i(df / 2.0, 0.5, df / (df + t2))


def _t_centre(t: float, df: float) -> float:
    """P(0 < T < t) for t >= 0: I_{t^2/(df+t^2)}(1/2, df/2) / 2 (the same CDF through I_x(a, b) = 1 - I_{1-x}(b, a)).
    Written this way it keeps its digits near t = 0, where df/(df+t^2) rounds to 1 for a large df and flattened the
    CDF at 1/2, so a quantile just above 1/2 could land anywhere (found by comparing with scipy.stats.t.ppf)."""
    t2 = t * t
    return 0.5 * _beta_i(0.5, df / 2.0, t2 / (df + t2))


def _bisect(fn: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    """The x in [lo, ...) where the increasing ``fn`` reaches ``target`` (``hi`` doubled until it brackets), to a
    relative precision of ``_EPS``: an absolute stop would leave a small quantile (a Gamma quantile of a small
    shape at a small p, a t quantile just above 1/2) with almost no correct digit. Halving from ``hi`` down to the
    smallest positive double takes about 1,100 steps, hence the bound."""
    while fn(hi) < target:
        lo, hi = hi, hi * 2.0
    for _ in range(_MAX_ITER * 6):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:  # no double between the two: as precise as it gets
            break
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= _EPS * abs(hi):
            break
    return 0.5 * (lo + hi)


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (0.5 < p < 1), by bisection on the CDF.

    Golden values: t(0.975, 1) = tan(0.475 pi) = 12.7062, t(0.975, 2) = 4.3027, t(0.975, 10) = 2.2281 (NIST/SEMATECH
    e-Handbook of Statistical Methods, table 1.3.6.7.2, https://www.itl.nist.gov/div898/handbook/eda/section3/eda3672.htm).
    """
    if not 0.5 < p < 1.0:
        raise InputError("p", p, "the quantile is a probability between 0.5 and 1")
    if df < 1:
        raise InputError("df", df, "degrees of freedom are at least 1")
    if p <= 0.75:  # P(0 < T < t) against p - 1/2 (exact in floating point): keeps the digits of a t near 0
        return _bisect(lambda t: _t_centre(t, float(df)), p - 0.5, 0.0, 16.0)
    return _bisect(lambda t: -t_upper_tail(t, float(df)), -(1.0 - p), 0.0, 16.0)  # the tail keeps its digits


@lru_cache(maxsize=4096)
def gamma_quantile(p: float, shape: float) -> float:
    """The ``p`` quantile of the Gamma(shape, 1) distribution (chi2(2a)/2), by bisection on P(a, x)."""
    if not 0.0 < p < 1.0:
        raise InputError("p", p, "the quantile is a probability between 0 and 1")
    if shape <= 0:
        raise InputError("shape", shape, "the gamma shape is positive")
    start = shape + 10.0 * math.sqrt(shape) + 10.0
    if p <= 0.5:
        return _bisect(lambda x: _gamma_p(shape, x), p, 0.0, start)
    return _bisect(lambda x: -_gamma_q(shape, x), -(1.0 - p), 0.0, start)  # the upper tail keeps its digits


# ---------------------------------------------------------------------------------------------------------------
# Weekly trajectory: mean and t interval per week since enrolment
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekSummary:
    """One week since enrolment. When ``suppressed``, ``n`` and every estimate are ``None`` (0 < n < k)."""

    week: int
    n: int | None
    mean: float | None
    lower: float | None
    upper: float | None
    suppressed: bool


def weekly_trajectory(
    weeks: npt.ArrayLike, values: npt.ArrayLike, *, k: int, level: float = DEFAULT_LEVEL
) -> list[WeekSummary]:
    """Mean and two-sided t interval per week since enrolment, one row per week present, in week order.

    Formula: mean +/- t(1 - alpha/2, n - 1) * s / sqrt(n), s the sample standard deviation (ddof 1) (Student 1908,
    Biometrika 6(1):1-25, doi:10.1093/biomet/6.1.1). Give one value per patient per week (e.g. the patient's weekly
    mean), so ``n`` counts patients. Weeks with ``0 < n < k`` are returned suppressed; missing values (NaN) are not
    counted. The interval assumes independent patients and ignores who dropped out: later weeks describe those who
    stayed.
    """
    check_k(k)
    _check_level(level)
    w = np.asarray(weeks, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if w.shape != v.shape or w.ndim != 1:
        raise InputError("values", v.shape, "weeks and values must be one-dimensional and of the same length")
    keep = ~np.isnan(v)
    w, v = w[keep], v[keep]
    if w.size == 0:
        return []
    order = np.argsort(w, kind="stable")
    w, v = w[order], v[order]
    unique, starts, counts = np.unique(w, return_index=True, return_counts=True)
    sums = np.add.reduceat(v, starts)
    means = sums / counts
    sq = np.add.reduceat((v - np.repeat(means, counts)) ** 2, starts)
    q = 1.0 - (1.0 - level) / 2.0
    rows: list[WeekSummary] = []
    small = is_small(counts, k)
    for week, n, mean, ss, hide in zip(
        unique.tolist(), counts.tolist(), means.tolist(), sq.tolist(), small.tolist(), strict=True
    ):
        if hide:
            rows.append(WeekSummary(week, None, None, None, None, True))
            continue
        half = t_quantile(q, n - 1) * math.sqrt(ss / (n - 1)) / math.sqrt(n) if n > 1 else math.nan
        lower, upper = (None, None) if math.isnan(half) else (mean - half, mean + half)
        rows.append(WeekSummary(week, n, mean, lower, upper, False))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Proportions: Wilson score interval and IMMPACT responder rates
# ---------------------------------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927, JASA 22(158):209-212,
    doi:10.1080/01621459.1927.10502953), without continuity correction (Newcombe 1998, Stat Med 17:857-872,
    doi:10.1002/(SICI)1097-0258(19980430)17:8<857::AID-SIM777>3.0.CO;2-E, method 3):

        (p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n),   p = successes / n.
    """
    if n < 1:
        raise InputError("n", n, "a proportion needs at least one person")
    if not 0 <= successes <= n:
        raise InputError("successes", successes, "successes must be between 0 and n")
    z = _z(level)
    p = successes / n
    z2n = z * z / n
    centre = p + z2n / 2.0
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    denom = 1.0 + z2n
    lower = 0.0 if successes == 0 else max(0.0, (centre - half) / denom)
    upper = 1.0 if successes == n else min(1.0, (centre + half) / denom)
    return lower, upper


@dataclass(frozen=True)
class ResponderRate:
    """Patients with at least ``threshold`` fractional reduction from baseline. Suppressed: numbers ``None``."""

    threshold: float
    responders: int | None
    n: int | None
    proportion: float | None
    lower: float | None
    upper: float | None
    suppressed: bool


@dataclass(frozen=True)
class ResponderAnalysis:
    rates: list[ResponderRate]
    evaluable: int
    """Patients with a positive baseline (and, unless missing counts as non-response, a value at the week)."""
    no_baseline: int
    """Patients left out: no baseline, or a baseline of 0 (no reduction can be measured)."""
    missing_at_week: int
    """Patients with a baseline but no value at the chosen week."""


def responder_rates(
    baseline: npt.ArrayLike,
    at_week: npt.ArrayLike,
    *,
    k: int,
    thresholds: Sequence[float] = IMMPACT_THRESHOLDS,
    missing_as_nonresponder: bool = False,
    level: float = DEFAULT_LEVEL,
) -> ResponderAnalysis:
    """IMMPACT responder rates: the share of patients whose score fell by at least 30 % and at least 50 % from
    baseline, (baseline - value) / baseline >= threshold (Dworkin et al. 2008, J Pain 9(2):105-121,
    doi:10.1016/j.jpain.2007.09.005), each with a Wilson score interval (:func:`wilson_interval`).

    One element per patient in both arrays (NaN: missing). By default patients missing at the week are left out
    (completers); ``missing_as_nonresponder`` counts them as non-responders, as trials usually do. A rate whose
    denominator or number of responders is a small cell is suppressed.
    """
    check_k(k)
    _check_level(level)
    b = np.asarray(baseline, dtype=np.float64)
    v = np.asarray(at_week, dtype=np.float64)
    if b.shape != v.shape or b.ndim != 1:
        raise InputError("at_week", v.shape, "baseline and at_week must be one-dimensional and of the same length")
    for t in thresholds:
        if not 0.0 < t <= 1.0:
            raise InputError("thresholds", t, "a responder threshold is a fraction of baseline between 0 and 1")
    has_baseline = ~np.isnan(b) & (b > 0)
    missing = has_baseline & np.isnan(v)
    evaluable = has_baseline if missing_as_nonresponder else has_baseline & ~missing
    n = int(evaluable.sum())
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # a subnormal baseline: -inf, a non-responder
        reduction = np.where(evaluable & ~np.isnan(v), (b - v) / np.where(has_baseline, b, 1.0), -np.inf)
    rates: list[ResponderRate] = []
    for t in thresholds:
        r = int((reduction >= t - 1e-9).sum())
        if n == 0:
            rates.append(ResponderRate(t, 0, 0, None, None, None, False))
            continue
        if bool(is_small([n, r], k).any()):
            rates.append(ResponderRate(t, None, None, None, None, None, True))
            continue
        lower, upper = wilson_interval(r, n, level)
        rates.append(ResponderRate(t, r, n, r / n, lower, upper, False))
    return ResponderAnalysis(
        rates=rates,
        evaluable=n,
        no_baseline=int((~has_baseline).sum()),
        missing_at_week=int(missing.sum()),
    )


# ---------------------------------------------------------------------------------------------------------------
# Incidence rates: exact Poisson (Garwood) interval
# ---------------------------------------------------------------------------------------------------------------


def garwood_interval(events: int, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Exact Poisson interval for an observed count (Garwood 1936, Biometrika 28(3/4):437-442,
    doi:10.1093/biomet/28.3-4.437):

        lower = chi2(alpha/2, 2x) / 2,   upper = chi2(1 - alpha/2, 2x + 2) / 2   (lower = 0 when x = 0),

    computed as Gamma(x, 1) and Gamma(x + 1, 1) quantiles. For x = 0 the upper bound is -ln(alpha/2) = 3.689.
    """
    if isinstance(events, bool) or not isinstance(events, int) or events < 0:
        raise InputError("events", events, "an event count is a whole number of at least 0")
    alpha = 1.0 - _check_level(level)
    lower = 0.0 if events == 0 else gamma_quantile(alpha / 2.0, float(events))
    upper = gamma_quantile(1.0 - alpha / 2.0, float(events + 1))
    return lower, upper


@dataclass(frozen=True)
class IncidenceRate:
    """Events per 100 patient-months with its exact interval. Suppressed (0 < events < k): numbers ``None``."""

    events: int | None
    patient_months: float
    rate: float | None
    lower: float | None
    upper: float | None
    suppressed: bool


PER = 100.0
"""Rates are per 100 patient-months."""


def incidence_rate(events: int, patient_months: float, *, k: int, level: float = DEFAULT_LEVEL) -> IncidenceRate:
    """Incidence per 100 patient-months: 100 * events / patient-months, with the Garwood interval scaled the same
    way (:func:`garwood_interval`). Patient-months are the summed follow-up of everyone at risk (a month is 30.4375
    days, 365.25 / 12, by the caller's convention)."""
    check_k(k)
    if not math.isfinite(patient_months) or patient_months <= 0:
        raise InputError("patient_months", patient_months, "follow-up must be a positive number of patient-months")
    lower, upper = garwood_interval(events, level)
    if bool(is_small([events], k)[0]):
        return IncidenceRate(None, patient_months, None, None, None, True)
    scale = PER / patient_months
    return IncidenceRate(events, patient_months, events * scale, lower * scale, upper * scale, False)


def incidence_by_group(
    events_by_group: Mapping[str, int], patient_months: float, *, k: int, level: float = DEFAULT_LEVEL
) -> dict[str, IncidenceRate]:
    """:func:`incidence_rate` for each group (e.g. grade, or organ system) over the same follow-up."""
    return {g: incidence_rate(e, patient_months, k=k, level=level) for g, e in events_by_group.items()}


# ---------------------------------------------------------------------------------------------------------------
# Kaplan-Meier with Greenwood variance
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalStep:
    """The curve just after an event time. Suppressed (0 < at risk < k): survival and bounds ``None``."""

    time: float
    at_risk: int | None
    events: int | None
    survival: float | None
    se: float | None
    lower: float | None
    upper: float | None
    suppressed: bool


def kaplan_meier(
    durations: npt.ArrayLike, observed: npt.ArrayLike, *, k: int, level: float = DEFAULT_LEVEL
) -> list[SurvivalStep]:
    """Kaplan-Meier product-limit estimate (Kaplan & Meier 1958, JASA 53(282):457-481, doi:10.2307/2281868) at each
    distinct event time, S(t) = prod_{t_i <= t} (1 - d_i / n_i), with Greenwood's variance
    Var S(t) = S(t)^2 sum d_i / (n_i (n_i - d_i)) (Greenwood 1926) and the log(-log) interval
    S(t)^exp(+/- z sqrt(sum d_i/(n_i(n_i - d_i))) / ln S(t)) (Kalbfleisch & Prentice 2002; lifelines' and R
    survival's ``conf.type = "log-log"``). Censored at the same time as an event counts as at risk at that event.

    Golden: the 6-MP arm of Freireich et al. 1963 (Blood 21:699-716) as worked in Klein & Moeschberger, Survival
    Analysis, 2nd ed. (2003), section 4.2. Steps where fewer than ``k`` (but some) remain at risk are suppressed;
    the tail of a curve rests on few people.
    """
    check_k(k)
    z = _z(level)
    t = np.asarray(durations, dtype=np.float64)
    e = np.asarray(observed, dtype=bool)
    if t.shape != e.shape or t.ndim != 1:
        raise InputError("observed", e.shape, "durations and observed must be one-dimensional and of the same length")
    if t.size and (np.isnan(t).any() or (t < 0).any()):
        raise InputError("durations", "negative or missing", "durations are times of at least 0")
    times, deaths = np.unique(t[e], return_counts=True)
    if times.size == 0:
        return []
    at_risk = t.size - np.searchsorted(np.sort(t), times, side="left")  # still followed at each event time
    surv = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), np.inf))
    small = is_small(at_risk, k)
    steps: list[SurvivalStep] = []
    for ti, n, d, s, g, hide in zip(
        times.tolist(), at_risk.tolist(), deaths.tolist(), surv.tolist(), gw.tolist(), small.tolist(), strict=True
    ):
        if hide:
            steps.append(SurvivalStep(ti, None, None, None, None, None, None, True))
            continue
        if s <= 0.0 or not math.isfinite(g):
            steps.append(SurvivalStep(ti, n, d, s, None, None, None, False))
            continue
        se = s * math.sqrt(g)
        if s >= 1.0:
            steps.append(SurvivalStep(ti, n, d, s, 0.0, 1.0, 1.0, False))
            continue
        spread = z * math.sqrt(g) / math.log(s)
        steps.append(SurvivalStep(ti, n, d, s, se, s ** math.exp(-spread), s ** math.exp(spread), False))
    return steps
