"""Completed n-of-1 trials of the same design pooled across participants, on the program's analysis snapshot (never
on identifiable rows): one report shape (:meth:`PoolReport.to_dict`) for the API, the web and the command line.

The rule (docs/nof1.md, "Pooling in the research workspace"):

1. The input is the snapshot's ``nof1_trials`` and ``nof1_days`` (``research/export_nof1.py``): research-consented
   participants only, their ended trials, de-identified. Only ``completed`` trials are pooled (a stopped trial's
   periods are incomplete and why it stopped may depend on the outcome).
2. Trials are grouped by ``design_key``: the same primary instrument, direction (lower or higher is better),
   period length, washout length, number of blocks, condition codes and reference. The run-in and the MCID are not
   part of the design. A participant with two completed trials of one design counts once, with the later trial.
3. Each trial is analysed on its own days with ``core.nof1.bayes`` (Bayesian AR(1) with block effects: washout
   days flagged, run-in days left out, a day without an outcome missing). Its posterior mean and 95 % interval of
   each non-reference condition against the reference become one participant's effect and SD (the normal
   approximation, ``core.nof1_pool.PatientEffect.from_interval``). A trial the engine cannot analyse (too few
   measured days) is left out and counted.
4. ``core.nof1_pool.pool`` per non-reference condition: flat prior on the mean; tau uniform on [0, inf) with
   three or more participants; with two (possible only when k is 2) a half-normal prior on tau whose scale is the
   design's shared MCID, else the median of the participants' SDs (stated in the result). P(better by the MCID)
   is given when every pooled trial has the same MCID.
5. Small cells: a group with fewer than k participants (the snapshot's k) is shown as suppressed, with no number
   but the reason; so is a condition with fewer than k analysable trials. No per-participant estimate is shown.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, record
from kratomwatch.core import nof1, nof1_pool
from kratomwatch.core.errors import InputError
from kratomwatch.research import snapshot as research_snapshot

__all__ = ["CAVEAT", "DesignGroup", "PoolReport", "analyse", "pool_snapshot", "report"]

POOLED_STATUS = "completed"
DRAWS = 20_000
SEED = 0

_CAVEAT_REST = (
    "The pooled estimate describes them, under the conditions their clinicians described, and no one else. It is not "
    "a trial of kratom's efficacy or safety: the patients were not sampled, most trials are not "
    "blinded, outcomes are self-reported, and a predictive interval for a new patient assumes one like these. "
    "It is not a dosing recommendation: kratomwatch never recommends a kratom dose."
)
CAVEAT = f"These are a handful of self-selected patients who chose to run an n-of-1 trial. {_CAVEAT_REST}"
METHOD = (
    "Each completed trial analysed alone (core.nof1.bayes: Bayesian AR(1) errors with block effects, washout days "
    "excluded); each participant's posterior mean and SD (from the 95 % interval, normal approximation) of a "
    "condition against the reference pooled in the normal-normal hierarchical model (core.nof1_pool: Gelman et al., "
    "BDA3 5.4-5.5), DerSimonian-Laird beside it. Trials are grouped by design: primary instrument, direction, "
    "period and washout days, blocks, condition codes and reference."
)


@dataclass(frozen=True)
class ConditionResult:
    """The pooled estimate of one condition against the reference, or why there is none."""

    condition: str
    n_participants: int | None
    suppressed: bool
    estimate: nof1_pool.PooledEstimate | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "condition": self.condition,
            "n_participants": self.n_participants,
            "suppressed": self.suppressed,
            "reason": self.reason,
        }
        if self.estimate is not None:
            e = self.estimate.to_dict()
            out |= {
                "mu": e["mu"],
                "tau": e["tau"],
                "predictive": e["predictive"],
                "der_simonian_laird": e["der_simonian_laird"],
                "mcid": e["mcid"],
                "prior": e["prior"],
                "model": e["model"],
            }
        return out


@dataclass(frozen=True)
class DesignGroup:
    design_key: str
    design: dict[str, Any]
    n_participants: int | None
    """Participants with a completed trial of this design; None when withheld (fewer than k)."""
    suppressed: bool
    reason: str | None = None
    not_analysed: int | None = None
    conditions: list[ConditionResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        n = self.n_participants
        return {
            "design_key": self.design_key,
            "design": self.design,
            "n_participants": n,
            "suppressed": self.suppressed,
            "reason": self.reason,
            "not_analysed": self.not_analysed,
            "conditions": [c.to_dict() for c in self.conditions],
            "caveat": CAVEAT
            if n is None
            else f"These are {n} self-selected patients who chose to run a trial of this design. {_CAVEAT_REST}",
        }


@dataclass(frozen=True)
class PoolReport:
    data: dict[str, Any]
    k: int
    groups: list[DesignGroup]
    trials: int
    """Ended trials in the snapshot (completed or stopped), all designs."""
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "k": self.k,
            "trials_in_snapshot": self.trials,
            "groups": [g.to_dict() for g in self.groups],
            "reason": self.reason,
            "method": METHOD,
            "caveat": CAVEAT,
        }


def _design(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "primary_instrument": row["primary_instrument"],
        "lower_is_better": bool(row["lower_is_better"]),
        "period_days": int(row["period_days"]),
        "washout_days": int(row["washout_days"]),
        "blocks": int(row["blocks"]),
        "conditions": str(row["conditions"]).split("|"),
        "reference": row["reference"],
    }


def _day_column(days: pl.DataFrame) -> str:
    return "date_study_day" if "date_study_day" in days.columns else "date"


def trial_input(days: pl.DataFrame) -> nof1.Trial:
    """One trial's ``nof1_days`` rows (one participant, one trial_no) as the engine's input: run-in days left out,
    day 0 = the first period's first day, washout flagged, a day without an outcome NaN, exposure = mitragynine mg."""
    column = _day_column(days)
    rows = days.filter(pl.col("role") != "run-in").sort(column)
    if rows.height == 0:
        raise InputError("trial", 0, "the trial has no period day")
    index = rows[column]
    if index.dtype == pl.Date:
        index = index.cast(pl.Int32).cast(pl.Int64)  # days since 1970-01-01
    index = index - int(index.min())  # type: ignore[arg-type]
    return nof1.Trial.of(
        index.cast(pl.Int64).to_numpy(),
        [str(c) for c in rows["condition"].to_list()],
        rows["outcome"].fill_null(math.nan).cast(pl.Float64).to_numpy(),
        block=rows["block"].fill_null(0).cast(pl.Int64).to_numpy(),
        washout=(rows["role"] == "washout").to_numpy(),
        exposure_mg=rows["mitragynine_mg"].fill_null(0.0).cast(pl.Float64).to_numpy(),
    )


def trial_effects(days: pl.DataFrame, reference: str, *, lower_is_better: bool) -> dict[str, nof1.BayesEstimate]:
    """Each non-reference condition's posterior against ``reference`` on one trial's days (``core.nof1.bayes``)."""
    estimates, _rho = nof1.bayes(trial_input(days), reference, lower_is_better=lower_is_better, draws=DRAWS, seed=SEED)
    return estimates


def _shared_mcid(values: list[Any]) -> float | None:
    numbers = {float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))}
    if len(numbers) == 1 and len([v for v in values if v is not None]) == len(values):
        return numbers.pop()
    return None


def _prior(effects: list[nof1_pool.PatientEffect], mcid: float | None) -> nof1_pool.TauPrior:
    if len(effects) >= 3:
        return nof1_pool.TauPrior()
    scale = mcid if mcid is not None else statistics.median(e.sd for e in effects)
    return nof1_pool.TauPrior("half_normal", scale)


def _group(key: str, trials: pl.DataFrame, days: pl.DataFrame, k: int) -> DesignGroup:
    # One trial per participant: the later one (highest trial_no).
    chosen = trials.sort("trial_no").group_by("study_id", maintain_order=True).last().sort("study_id")
    first = chosen.row(0, named=True)
    design = _design(first)
    n = chosen.height
    if n < k:
        return DesignGroup(
            key,
            design,
            None,
            True,
            f"fewer than k = {k} participants completed a trial of this design: the group is withheld",
        )
    reference = design["reference"]
    others = [c for c in design["conditions"] if c != reference]
    effects: dict[str, list[nof1_pool.PatientEffect]] = {c: [] for c in others}
    not_analysed = 0
    for row in chosen.iter_rows(named=True):
        mine = days.filter((pl.col("study_id") == row["study_id"]) & (pl.col("trial_no") == row["trial_no"]))
        try:
            estimates = trial_effects(mine, reference, lower_is_better=design["lower_is_better"])
        except InputError:
            not_analysed += 1
            continue
        for code, est in estimates.items():
            if code in effects:
                low, high = est.interval_95
                effects[code].append(nof1_pool.PatientEffect.from_interval(row["study_id"], est.effect, low, high))
    mcid = _shared_mcid(chosen["mcid"].to_list())
    results = []
    for code in others:
        pooled = effects[code]
        if len(pooled) < max(k, 2):
            results.append(
                ConditionResult(
                    code,
                    None,
                    True,
                    reason=f"fewer than k = {k} trials could be analysed for condition {code}: withheld",
                )
            )
            continue
        estimate = nof1_pool.pool(
            pooled, lower_is_better=design["lower_is_better"], mcid=mcid, tau_prior=_prior(pooled, mcid)
        )
        results.append(ConditionResult(code, len(pooled), False, estimate))
    # A count of 1 to k - 1 trials left out is a small cell too: withheld.
    shown = not_analysed if not_analysed == 0 or not_analysed >= k else None
    return DesignGroup(key, design, n, False, None, shown, results)


def analyse(trials: pl.DataFrame, days: pl.DataFrame, *, k: int, data: dict[str, Any]) -> PoolReport:
    """The pooled report of a snapshot's ``nof1_trials`` and ``nof1_days`` frames at ``k``."""
    completed = trials.filter(pl.col("status") == POOLED_STATUS)
    groups = [
        _group(key, completed.filter(pl.col("design_key") == key), days, k)
        for key in sorted(set(completed["design_key"].to_list()))
    ]
    reason = None if groups else "no completed n-of-1 trial in this snapshot"
    return PoolReport(data=data, k=k, groups=groups, trials=trials.height, reason=reason)


@lru_cache(maxsize=4)
def _pooled(path: str, checksum: str, k: int, source: tuple[tuple[str, Any], ...]) -> PoolReport:
    folder = Path(path)
    files = [folder / "nof1_trials.parquet", folder / "nof1_days.parquet"]
    if not all(f.is_file() for f in files):
        return PoolReport(
            data=dict(source),
            k=k,
            groups=[],
            trials=0,
            reason="this snapshot was made before n-of-1 trials were exported: make a new snapshot",
        )
    return analyse(pl.read_parquet(files[0]), pl.read_parquet(files[1]), k=k, data=dict(source))


def pool_snapshot(snapshot: research_snapshot.Snapshot) -> PoolReport:
    """The pooled report of a snapshot at its k (the last few are kept in memory: the analysis takes seconds)."""
    return _pooled(str(snapshot.path), snapshot.checksum, snapshot.k, tuple(sorted(snapshot.source().items())))


def report(program: Program, *, actor: Actor) -> PoolReport:
    """The pooled n-of-1 report on the newest snapshot of ``program``, audited (``research.nof1.pool``: who, program,
    snapshot; aggregates only). ``Conflict`` (field ``snapshot``) when the program has no snapshot yet."""
    snap = research_snapshot.latest_or_conflict(program)
    result = pool_snapshot(snap)
    record(
        actor,
        "research.nof1.pool",
        object_type="program",
        object_id=program.pk,
        program_id=program.pk,
        detail={"snapshot_id": snap.snapshot_id, "groups": len(result.groups)},
    )
    return result
