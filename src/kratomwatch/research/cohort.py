"""Cohort analytics on an analysis snapshot (``research/snapshot.py``): a de-identified research export in study
days, never identifiable rows. One implementation for the API, the web pages, the PDF and the command line.

A cohort is a :class:`CohortDefinition` (filters, all optional); :func:`select` keeps the participants that match,
and :func:`analyse` returns a :class:`CohortReport` whose :meth:`CohortReport.to_dict` is the one JSON shape every
adapter shows (docs/research.md, "Cohort analytics"). Everything is set-based (Polars joins and group-bys; a
Python loop only per instrument, week or group); the statistics come from ``core.cohort_stats`` and
``core.cohort_models``. Every count below ``k`` is withheld (``None`` with ``"suppressed": true``), and every
report carries :data:`CAVEAT`.

Definitions used throughout (study day 0 = the day of enrolment; week ``w`` = study days ``7w .. 7w + 6``):

* a participant's **weekly value** of an instrument: the mean of the participant's valid totals in that week;
* **baseline**: the first valid score of the instrument in study days -14..+7;
* **exposure** (filter and description): the mean of the daily mitragynine mg over the days of study days 0-27 with a
  recorded dose of known strength (a day without a recorded dose is not counted as 0: missing logs are not zero
  use);
* **follow-up**: study day 0 to the participant's last recorded study day (any dose, assessment or adverse event).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from kratomwatch.core import cohort_models, cohort_stats
from kratomwatch.core import instruments as ins
from kratomwatch.core.deid import check_k
from kratomwatch.core.errors import InputError

TRAJECTORY_INSTRUMENTS = ("peg", "pain_nrs", "phq9", "gad7", "cows")
"""Instruments shown as trajectories; each is scored so that higher is worse (``core/instruments/change.py``)."""
RESPONDER_INSTRUMENTS = ("peg", "pain_nrs")
"""Pain instruments for IMMPACT responder rates and the exposure-outcome model."""
DEPENDENCE_INSTRUMENT = "dsm5_sud"
DEPENDENCE_THRESHOLD = 4
MAX_WEEK = 260
BASELINE_DAYS = (-14, 7)
EXPOSURE_DAYS = (0, 27)
TAPER_RUN_DAYS = 7
DAYS_PER_MONTH = 30.4375
NOT_CLASSIFIED = "not classified"
TABLES = ("participants", "daily_exposure", "assessments", "adverse_events", "taper_steps")
"""The snapshot's Parquet files an analysis reads."""

CAVEAT = (
    "Observational data from clinical monitoring: who takes kratom, how much, and who stays in follow-up are not "
    "random (confounding, selection), doses and most outcomes are self-reported, and scores tend to fall back "
    "towards the mean after a bad week. These numbers describe this cohort; they cannot establish efficacy or "
    "safety, and they are not a dosing recommendation. Counts below k are withheld."
)

MEASURES = {
    "mitragynine_mg_per_day": ("mitragynine_mg", "Mean daily mitragynine, mg (study days 0-27, days with a dose)"),
    "seven_oh_mg_per_day": ("seven_oh_mg", "Mean daily 7-hydroxymitragynine, mg (study days 0-27, days with a dose)"),
}

Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f]+$")
]
Labels = Annotated[list[Label], Field(max_length=100)]


class CohortDefinition(BaseModel):
    """The filters of a cohort (all optional; an empty list is no filter). Lists mean "any of"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conditions: Labels | None = None
    jurisdictions: Labels | None = None
    age_bands: Labels | None = None
    sexes: Labels | None = None
    exposure_min_mg: float | None = Field(None, ge=0, le=1_000_000, allow_inf_nan=False)
    exposure_max_mg: float | None = Field(None, ge=0, le=1_000_000, allow_inf_nan=False)
    enrolled_from_year: int | None = Field(None, ge=1900, le=2200)
    enrolled_to_year: int | None = Field(None, ge=1900, le=2200)
    baseline_instrument: str | None = Field(None, max_length=40)
    baseline_min: float | None = Field(None, ge=-1_000_000, le=1_000_000, allow_inf_nan=False)
    baseline_max: float | None = Field(None, ge=-1_000_000, le=1_000_000, allow_inf_nan=False)

    @field_validator("conditions", "jurisdictions", "age_bands", "sexes")
    @classmethod
    def _empty_is_none(cls, value: list[str] | None) -> list[str] | None:
        return sorted(set(value)) if value else None

    @field_validator("baseline_instrument")
    @classmethod
    def _known_instrument(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if value not in ins.instrument_ids():
            raise ValueError(f"unknown instrument; known: {', '.join(sorted(ins.instrument_ids()))}")
        return value

    def filters(self) -> dict[str, Any]:
        """The filters that are set (the report's ``cohort.definition``)."""
        return self.model_dump(exclude_none=True)


FILTER_KEYS = tuple(CohortDefinition.model_fields)


def check_definition(data: Any) -> CohortDefinition:
    """A cohort definition from JSON-like input; ``InputError`` naming the filter key and its value otherwise."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InputError("definition", str(data)[:80], "a cohort definition is an object of filters")
    try:
        definition = CohortDefinition.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        key = loc[0] if loc else "definition"
        value = data.get(key, first.get("input")) if key in data else first.get("input")
        if first.get("type") == "extra_forbidden":
            message = f"unknown filter {key!r}; known: {', '.join(FILTER_KEYS)}"
        else:
            where = f" (item {int(loc[1]) + 1})" if len(loc) > 1 and loc[1].isdigit() else ""
            message = f"{key}{where}: {first.get('msg', 'invalid value')}"
        raise InputError(key, value, message) from None
    pairs = (
        ("exposure_min_mg", "exposure_max_mg"),
        ("enrolled_from_year", "enrolled_to_year"),
        ("baseline_min", "baseline_max"),
    )
    for low, high in pairs:
        a, b = getattr(definition, low), getattr(definition, high)
        if a is not None and b is not None and a > b:
            raise InputError(low, a, f"{low} ({a}) is above {high} ({b})")
    if definition.baseline_instrument is None:
        for key in ("baseline_min", "baseline_max"):
            if getattr(definition, key) is not None:
                raise InputError(key, getattr(definition, key), f"{key} needs baseline_instrument (which score)")
    return definition


def check_options(*, week: Any, instrument: Any) -> tuple[int, str]:
    """The responder week and instrument of a report: ``InputError`` naming ``week`` or ``instrument``."""
    try:
        w = int(week)
    except (TypeError, ValueError):
        raise InputError("week", week, "week is a whole number of weeks since enrolment (0 = study days 0-6)") from None
    if isinstance(week, bool) or not 0 <= w <= MAX_WEEK or (isinstance(week, float) and not week.is_integer()):
        raise InputError("week", week, f"week is a whole number from 0 to {MAX_WEEK}")
    if instrument not in RESPONDER_INSTRUMENTS:
        raise InputError("instrument", instrument, f"instrument must be one of {', '.join(RESPONDER_INSTRUMENTS)}")
    return w, str(instrument)


# --- data ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisData:
    """The frames of one analysis snapshot, and where they come from (the report's ``data`` block)."""

    source: dict[str, Any]
    """program, snapshot_id, created_at, checksum, consent_as_of (and the snapshot's k)."""
    participants: pl.DataFrame
    daily_exposure: pl.DataFrame
    assessments: pl.DataFrame
    adverse_events: pl.DataFrame
    taper_steps: pl.DataFrame

    def __post_init__(self) -> None:
        """Each participant gets a row number (``pid``), and the other frames carry it instead of the study ID:
        the analyses join and group on a small integer (once per snapshot load, not per analysis)."""
        if "pid" in self.participants.columns:
            return
        people = self.participants.with_row_index("pid")
        index = people.select("study_id", "pid")
        object.__setattr__(self, "participants", people)
        for name in ("daily_exposure", "assessments", "adverse_events", "taper_steps"):
            frame = getattr(self, name).join(index, on="study_id", how="inner").drop("study_id")
            object.__setattr__(self, name, frame.select("pid", *[c for c in frame.columns if c != "pid"]))

    # Per-participant frames every analysis starts from, computed once per loaded snapshot (a snapshot is cached
    # by research.snapshot.load, so a second report on it only filters these).

    @cached_property
    def baseline(self) -> pl.DataFrame:
        """pid, instrument_id, baseline (the first valid score in study days -14..+7)."""
        return _baseline_scores(self.assessments)

    @cached_property
    def early_exposure(self) -> pl.DataFrame:
        """pid and the mean daily mg of each measure over study days 0-27 (days with a known-strength dose)."""
        return _early_exposure(self.daily_exposure)

    @cached_property
    def weekly_scores(self) -> pl.DataFrame:
        """pid, instrument_id, week, value (the participant's mean valid total that week)."""
        return _weekly_scores(self.assessments)

    @cached_property
    def weekly_exposure(self) -> pl.DataFrame:
        """pid, week, mg (the participant's mean daily mitragynine mg that week, days with a known-strength dose)."""
        return (
            self.daily_exposure.filter((pl.col("date_study_day") >= 0) & pl.col("mitragynine_mg").is_not_null())
            .with_columns((pl.col("date_study_day") // 7).alias("week"))
            .group_by("pid", "week")
            .agg(pl.col("mitragynine_mg").mean().alias("mg"))
        )

    @cached_property
    def last_days(self) -> pl.DataFrame:
        """pid, last: the last recorded study day (any dose, assessment or adverse event)."""
        parts = [
            self.daily_exposure.group_by("pid").agg(pl.col("date_study_day").max().alias("day")),
            self.assessments.group_by("pid").agg(pl.col("date_study_day").max().alias("day")),
            self.adverse_events.group_by("pid").agg(pl.col("onset_study_day").max().alias("day")),
        ]
        days = pl.concat([p.with_columns(pl.col("day").cast(pl.Int64)) for p in parts])
        return days.group_by("pid").agg(pl.col("day").max().alias("last"))

    @classmethod
    def read(cls, folder: Path, source: Mapping[str, Any]) -> AnalysisData:
        """Read the Parquet files of a study-days export (only the columns the analyses use)."""
        columns = {
            "daily_exposure": ["study_id", "date_study_day", "mitragynine_mg", "seven_oh_mg"],
            "assessments": ["study_id", "assessment_no", "date_study_day", "instrument_id", "total", "valid"],
            "taper_steps": ["study_id", "start_study_day", "target_mg"],
        }
        frames: dict[str, pl.DataFrame] = {}
        for name in TABLES:
            path = folder / f"{name}.parquet"
            if not path.is_file():
                raise InputError("snapshot", folder.name, f"the snapshot has no {name} table; refresh it")
            frames[name] = pl.read_parquet(path, columns=columns.get(name))
        return cls(source=dict(source), **frames)


# --- selection ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    participants: pl.DataFrame
    reason: str | None
    """Why no participant matched (None when some did)."""


def _baseline_scores(assessments: pl.DataFrame) -> pl.DataFrame:
    """study_id, instrument_id, baseline: the first valid score in study days -14..+7."""
    low, high = BASELINE_DAYS
    return (
        _valid_scores(assessments)
        .filter(pl.col("date_study_day").is_between(low, high))
        .sort("pid", "instrument_id", "date_study_day", "assessment_no")
        .group_by("pid", "instrument_id")
        .agg(pl.col("total").first().alias("baseline"))
    )


def _valid_scores(assessments: pl.DataFrame) -> pl.DataFrame:
    return assessments.filter((pl.col("valid") == 1) & pl.col("total").is_not_null())


def _early_exposure(daily: pl.DataFrame) -> pl.DataFrame:
    """study_id and the mean daily mg of each measure over study days 0-27 (days with a known-strength dose)."""
    low, high = EXPOSURE_DAYS
    window = daily.filter(pl.col("date_study_day").is_between(low, high))
    return window.group_by("pid").agg([pl.col(col).drop_nulls().mean().alias(col) for col, _ in MEASURES.values()])


def _any_of(column: str, values: Sequence[str], *, split: bool = False) -> pl.Expr:
    if split:
        return pl.col(column).str.split("|").list.eval(pl.element().is_in(list(values))).list.any().fill_null(False)
    return pl.col(column).is_in(list(values)).fill_null(False)


Step = tuple[str, Any, pl.Expr, pl.DataFrame | None]


def _steps(data: AnalysisData, d: CohortDefinition) -> list[Step]:
    """Each filter that is set: its key, the value shown, the row condition, and a frame to join first."""
    steps: list[Step] = []
    shown: list[Any]
    if d.conditions:
        steps.append(("conditions", d.conditions, _any_of("conditions", d.conditions, split=True), None))
    if d.jurisdictions:
        steps.append(("jurisdictions", d.jurisdictions, _any_of("jurisdiction", d.jurisdictions), None))
    if d.age_bands:
        steps.append(("age_bands", d.age_bands, _any_of("age_band", d.age_bands), None))
    if d.sexes:
        steps.append(("sexes", d.sexes, _any_of("sex", d.sexes), None))
    if d.enrolled_from_year is not None or d.enrolled_to_year is not None:
        if "enrolment_year" not in data.participants.columns:
            key = "enrolled_from_year" if d.enrolled_from_year is not None else "enrolled_to_year"
            raise InputError(key, getattr(d, key), "this snapshot has no enrolment year; refresh the analysis snapshot")
        year = pl.col("enrolment_year")
        expr = pl.lit(True)
        if d.enrolled_from_year is not None:
            expr = expr & (year >= d.enrolled_from_year)
        if d.enrolled_to_year is not None:
            expr = expr & (year <= d.enrolled_to_year)
        shown = [d.enrolled_from_year, d.enrolled_to_year]
        steps.append(("enrolled_from_year/enrolled_to_year", shown, expr.fill_null(False), None))
    if d.exposure_min_mg is not None or d.exposure_max_mg is not None:
        mg = pl.col("mitragynine_mg")
        expr = mg.is_not_null()
        if d.exposure_min_mg is not None:
            expr = expr & (mg >= d.exposure_min_mg)
        if d.exposure_max_mg is not None:
            expr = expr & (mg <= d.exposure_max_mg)
        exposure = data.early_exposure.select("pid", "mitragynine_mg")
        shown = [d.exposure_min_mg, d.exposure_max_mg]
        steps.append(("exposure_min_mg/exposure_max_mg", shown, expr.fill_null(False), exposure))
    if d.baseline_instrument is not None:
        base = data.baseline.filter(pl.col("instrument_id") == d.baseline_instrument)
        value = pl.col("baseline")
        expr = value.is_not_null()
        if d.baseline_min is not None:
            expr = expr & (value >= d.baseline_min)
        if d.baseline_max is not None:
            expr = expr & (value <= d.baseline_max)
        shown = [d.baseline_instrument, d.baseline_min, d.baseline_max]
        steps.append(("baseline", shown, expr.fill_null(False), base.select("pid", "baseline")))
    return steps


def select(data: AnalysisData, definition: CohortDefinition) -> Selection:
    """The participants matching every filter of ``definition``, and (when none does) which filter left none."""
    people = data.participants
    if people.height == 0:
        return Selection(
            people,
            "the snapshot has no participants (nobody with active research consent, or all withheld for k-anonymity)",
        )
    used: list[str] = []
    for key, shown, expr, extra in _steps(data, definition):
        frame = people if extra is None else people.join(extra, on="pid", how="left")
        people = frame.filter(expr).select(data.participants.columns)
        used.append(key)
        if people.height == 0:
            earlier = f" together with {', '.join(used[:-1])}" if len(used) > 1 else ""
            return Selection(people, f"no participant matches {key} = {shown}{earlier}")
    return Selection(people, None)


# --- the report ---------------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _count(value: int, k: int) -> int | None:
    """A count as shown: ``None`` when it is a small cell (0 < value < k)."""
    return None if 0 < value < k else int(value)


def _label(instrument_id: str) -> str:
    return ins.get(instrument_id).title


@dataclass
class CohortReport:
    """The analyses of one cohort on one snapshot. :meth:`to_dict` is the shared JSON shape."""

    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        import copy  # noqa: PLC0415 - only here

        return copy.deepcopy(self.payload)

    def tables(self) -> dict[str, pl.DataFrame]:
        """The report's numbers as flat tables (one CSV each), without any participant-level row."""
        return _tables(self.payload)


def _description(people: pl.DataFrame, cohort: dict[str, pl.DataFrame], k: int) -> dict[str, Any]:
    n = people.height
    rows: list[dict[str, Any]] = []
    variables = (("age_band", "age_band"), ("sex", "sex"), ("jurisdiction", "jurisdiction"))
    levels = [
        people.select(pl.lit(v).alias("variable"), pl.col(c).cast(pl.String).alias("level")) for v, c in variables
    ]
    conditions = people.select(
        pl.lit("condition").alias("variable"),
        pl.col("conditions").str.split("|").alias("level"),
    ).explode("level")
    conditions = conditions.with_columns(
        pl.when(pl.col("level").is_null() | (pl.col("level") == ""))
        .then(pl.lit("none recorded"))
        .otherwise(pl.col("level"))
        .alias("level")
    )
    counted = (
        pl.concat([*levels, conditions])
        .group_by("variable", "level")
        .agg(pl.len().alias("n"))
        .sort("variable", "level")
    )
    order = {"age_band": 0, "sex": 1, "jurisdiction": 2, "condition": 3}
    for variable, level, count in sorted(counted.iter_rows(), key=lambda r: (order[r[0]], str(r[1]))):
        shown = _count(count, k)
        rows.append(
            {
                "variable": variable,
                "level": level,
                "n": shown,
                "percent": None if shown is None else 100.0 * count / n,
                "suppressed": shown is None,
            }
        )
    baseline_rows: list[dict[str, Any]] = []
    base = cohort["baseline"]
    stats = {
        row["instrument_id"]: row
        for row in base.group_by("instrument_id")
        .agg(
            pl.len().alias("n"),
            pl.col("baseline").mean().alias("mean"),
            pl.col("baseline").std().alias("sd"),
            pl.col("baseline").median().alias("median"),
        )
        .iter_rows(named=True)
    }
    for instrument in TRAJECTORY_INSTRUMENTS:
        row = stats.get(instrument)
        count = int(row["n"]) if row else 0
        shown = _count(count, k)
        hide = shown is None or count == 0
        baseline_rows.append(
            {
                "instrument": instrument,
                "label": _label(instrument),
                "n": shown,
                "mean": None if hide or row is None else _num(row["mean"]),
                "sd": None if hide or row is None else _num(row["sd"]),
                "median": None if hide or row is None else _num(row["median"]),
                "suppressed": shown is None,
            }
        )
    exposure_rows: list[dict[str, Any]] = []
    early = cohort["early"]
    for measure, (column, label) in MEASURES.items():
        values = early[column].drop_nulls().to_numpy()
        count = int(values.size)
        shown = _count(count, k)
        row = {"measure": measure, "label": label, "n": shown, "suppressed": shown is None}
        quantiles = {"p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75, "p90": 0.90}
        for key, q in quantiles.items():
            row[key] = None if shown is None or count == 0 else _num(np.quantile(values, q))
        exposure_rows.append(row)
    return {"rows": rows, "baseline": baseline_rows, "exposure": exposure_rows}


def _weekly_scores(assessments: pl.DataFrame) -> pl.DataFrame:
    """study_id, instrument_id, week, value: a participant's mean valid total per week since enrolment."""
    return (
        _valid_scores(assessments)
        .filter(pl.col("date_study_day") >= 0)
        .with_columns((pl.col("date_study_day") // 7).alias("week"))
        .group_by("pid", "instrument_id", "week")
        .agg(pl.col("total").mean().alias("value"))
    )


def _trajectories(weekly: pl.DataFrame, k: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for instrument in TRAJECTORY_INSTRUMENTS:
        rows = weekly.filter(pl.col("instrument_id") == instrument).sort("week")
        if rows.height == 0:
            continue
        summaries = cohort_stats.weekly_trajectory(rows["week"].to_numpy(), rows["value"].to_numpy(), k=k)
        out.append(
            {
                "instrument": instrument,
                "label": _label(instrument),
                "higher_is": "worse",
                "weeks": [
                    {
                        "week": s.week,
                        "n": s.n,
                        "mean": _num(s.mean),
                        "lower": _num(s.lower),
                        "upper": _num(s.upper),
                        "suppressed": s.suppressed,
                    }
                    for s in summaries
                ],
            }
        )
    return out


def _responders(
    people: pl.DataFrame, baseline: pl.DataFrame, weekly: pl.DataFrame, *, instrument: str, week: int, k: int
) -> dict[str, Any]:
    base = baseline.filter(pl.col("instrument_id") == instrument).select("pid", "baseline")
    at = weekly.filter((pl.col("instrument_id") == instrument) & (pl.col("week") == week)).select("pid", "value")
    joined = people.select("pid").join(base, on="pid", how="left").join(at, on="pid", how="left")
    result = cohort_stats.responder_rates(
        joined["baseline"].fill_null(np.nan).to_numpy(), joined["value"].fill_null(np.nan).to_numpy(), k=k
    )
    return {
        "instrument": instrument,
        "label": _label(instrument),
        "week": week,
        "evaluable": _count(result.evaluable, k),
        "no_baseline": _count(result.no_baseline, k),
        "missing_at_week": _count(result.missing_at_week, k),
        "rates": [
            {
                "threshold": r.threshold,
                "responders": r.responders,
                "n": r.n,
                "proportion": _num(r.proportion),
                "lower": _num(r.lower),
                "upper": _num(r.upper),
                "suppressed": r.suppressed,
            }
            for r in result.rates
        ],
    }


def _exposure_outcome(exposure: pl.DataFrame, weekly: pl.DataFrame, instrument: str, k: int) -> dict[str, Any]:
    rows = (
        weekly.filter(pl.col("instrument_id") == instrument)
        .join(exposure, on=["pid", "week"], how="inner")
        .sort("pid", "week")
    )
    fit = cohort_models.exposure_outcome(
        rows["pid"].cast(pl.Int64).to_numpy(),
        rows["value"].to_numpy(),
        rows["mg"].to_numpy(),
        rows["week"].cast(pl.Float64).to_numpy(),
        k=k,
    )
    return _model_dict(fit, instrument)


def _model_dict(fit: cohort_models.MixedModelResult, instrument: str) -> dict[str, Any]:
    return {
        "instrument": instrument,
        "label": _label(instrument),
        "formula": fit.formula,
        "status": fit.status,
        "reason": fit.reason,
        "coefficient": _num(fit.coefficient),
        "lower": _num(fit.lower),
        "upper": _num(fit.upper),
        "p_value": _num(fit.p_value),
        "per": fit.per,
        "n_participants": fit.n_participants,
        "n_observations": fit.n_observations,
        "converged": fit.converged,
        "note": fit.note,
    }


EVENT_DEFINITIONS = {
    "taper_completion": (
        "Taper completed",
        "Among participants with a taper schedule: the first study day on which the daily mitragynine mg has been at "
        f"or below the schedule's last target for {TAPER_RUN_DAYS} consecutive days, counting from the last step's "
        "start (a day without a recorded dose counts as 0 mg; a day with a dose of unknown strength does not count as "
        "reached); the event is placed on the last day of that run. Time in days since enrolment; censored at the "
        "last recorded study day.",
    ),
    "first_serious_ae": (
        "First serious or grade 3+ adverse event",
        "The onset (study day 0 or later) of the first adverse event meeting any ICH E2A seriousness criterion or of "
        "CTCAE grade 3 or higher. Time in days since enrolment; censored at the last recorded study day.",
    ),
    "dependence_4plus": (
        "DSM-5 criteria for kratom use disorder >= 4",
        f"The first valid DSM-5 substance use disorder criteria count ({DEPENDENCE_INSTRUMENT}) of "
        f"{DEPENDENCE_THRESHOLD} or more (moderate or severe), at study day 0 or later. Time in days since enrolment; "
        "censored at the last recorded study day.",
    ),
}


def _last_days(people: pl.DataFrame, data: AnalysisData) -> pl.DataFrame:
    """pid, last: the participant's last recorded study day (any dose, assessment or adverse event; 0 if none or
    before enrolment)."""
    return (
        people.select("pid")
        .join(data.last_days, on="pid", how="left")
        .with_columns(pl.col("last").fill_null(0).clip(lower_bound=0))
    )


def _taper_events(people: pl.DataFrame, cohort: dict[str, pl.DataFrame], last: pl.DataFrame) -> pl.DataFrame:
    """study_id, event_day for participants with a taper schedule (event_day null = not reached)."""
    steps = cohort["tapers"]
    final = (
        steps.sort("pid", "start_study_day")
        .group_by("pid")
        .agg(pl.col("start_study_day").last().alias("from"), pl.col("target_mg").last().alias("target"))
        .join(last, on="pid", how="inner")
    )
    grid = (
        final.with_columns(pl.int_ranges(pl.col("from").clip(lower_bound=0), pl.col("last") + 1).alias("day"))
        .explode("day")
        .filter(pl.col("day").is_not_null())
    )
    daily = (
        cohort["daily"]
        .join(final.select("pid"), on="pid", how="semi")
        .select("pid", pl.col("date_study_day").alias("day"), "mitragynine_mg", pl.lit(True).alias("_has_row"))
    )
    grid = grid.join(daily, on=["pid", "day"], how="left").with_columns(pl.col("_has_row").fill_null(False))
    # No row that day: no recorded dose (0 mg); a row with null mg: a dose of unknown strength (not reached).
    mg = pl.col("mitragynine_mg")
    met = pl.when(pl.col("_has_row") & mg.is_null()).then(False).otherwise(mg.fill_null(0.0) <= pl.col("target") + 1e-9)
    grid = grid.sort("pid", "day").with_columns(met.cast(pl.Int64).alias("_met"))
    grid = grid.with_columns(pl.col("_met").rolling_sum(window_size=TAPER_RUN_DAYS).over("pid").alias("_run"))
    events = grid.filter(pl.col("_run") == TAPER_RUN_DAYS).group_by("pid").agg(pl.col("day").min().alias("event_day"))
    return final.select("pid").join(events, on="pid", how="left")


def _first_event(people: pl.DataFrame, frame: pl.DataFrame, day: str) -> pl.DataFrame:
    first = frame.filter(pl.col(day) >= 0).group_by("pid").agg(pl.col(day).min().alias("event_day"))
    return people.select("pid").join(first, on="pid", how="left")


def _time_to_event(
    people: pl.DataFrame, cohort: dict[str, pl.DataFrame], last: pl.DataFrame, k: int
) -> list[dict[str, Any]]:
    aes = cohort["aes"]
    serious = aes.filter((pl.col("grade") >= 3) | (pl.col("seriousness").fill_null("").str.len_chars() > 0))
    dsm = _valid_scores(cohort["assessments"]).filter(
        (pl.col("instrument_id") == DEPENDENCE_INSTRUMENT) & (pl.col("total") >= DEPENDENCE_THRESHOLD)
    )
    cohorts = {
        "taper_completion": _taper_events(people, cohort, last),
        "first_serious_ae": _first_event(people, serious, "onset_study_day"),
        "dependence_4plus": _first_event(people, dsm, "date_study_day"),
    }
    out: list[dict[str, Any]] = []
    for event, frame in cohorts.items():
        label, definition = EVENT_DEFINITIONS[event]
        joined = frame.join(last, on="pid", how="left").with_columns(
            pl.col("event_day").is_not_null().alias("observed"),
            pl.when(pl.col("event_day").is_not_null())
            .then(pl.col("event_day"))
            .otherwise(pl.col("last"))
            .clip(lower_bound=0)
            .cast(pl.Float64)
            .alias("time"),
        )
        n = joined.height
        events = int(joined["observed"].sum()) if n else 0
        steps = cohort_stats.kaplan_meier(joined["time"].to_numpy(), joined["observed"].to_numpy(), k=k) if n else []
        few = 0 < events < k
        if few:  # the curve's drops would count the withheld events: no curve
            steps = []
        median = next(
            (s.time for s in steps if not s.suppressed and s.survival is not None and s.survival <= 0.5), None
        )
        out.append(
            {
                "event": event,
                "label": label,
                "definition": definition,
                "n": _count(n, k),
                "events": _count(events, k),
                "censored": _count(n - events, k),
                "median_days": _num(median),
                "suppressed": few or 0 < n < k,
                "steps": [
                    {
                        "time": _num(s.time),
                        "at_risk": s.at_risk,
                        "events": s.events,
                        "survival": _num(s.survival),
                        "lower": _num(s.lower),
                        "upper": _num(s.upper),
                        "suppressed": s.suppressed,
                    }
                    for s in steps
                ],
            }
        )
    return out


def _rate_dict(rate: cohort_stats.IncidenceRate) -> dict[str, Any]:
    return {
        "events": rate.events,
        "rate": _num(rate.rate),
        "lower": _num(rate.lower),
        "upper": _num(rate.upper),
        "suppressed": rate.suppressed,
    }


def _ae_incidence(cohort: dict[str, pl.DataFrame], last: pl.DataFrame, k: int) -> dict[str, Any]:
    months = float((last["last"] + 1).sum()) / DAYS_PER_MONTH
    aes = cohort["aes"].filter(pl.col("onset_study_day") >= 0)
    if "system" not in aes.columns:
        aes = aes.with_columns(pl.lit(NOT_CLASSIFIED).alias("system"))
    aes = aes.with_columns(pl.col("system").fill_null(NOT_CLASSIFIED).replace("", NOT_CLASSIFIED))
    if months <= 0:
        return {"patient_months": 0.0, "by_grade": [], "by_system": [], "total": None}
    grades = dict(aes.group_by("grade").agg(pl.len()).iter_rows())
    by_grade = cohort_stats.incidence_by_group({f"Grade {g}": int(grades.get(g, 0)) for g in range(1, 6)}, months, k=k)
    systems = dict(aes.group_by("system").agg(pl.len()).sort("system").iter_rows())
    by_system = cohort_stats.incidence_by_group({str(s): int(c) for s, c in systems.items()}, months, k=k)
    total = cohort_stats.incidence_rate(aes.height, months, k=k)
    return {
        "patient_months": months,
        "by_grade": [{"group": g, **_rate_dict(r)} for g, r in by_grade.items()],
        "by_system": [{"group": g, **_rate_dict(r)} for g, r in by_system.items()],
        "total": _rate_dict(total),
    }


def _empty_sections() -> dict[str, Any]:
    return {
        "description": {"rows": [], "baseline": [], "exposure": []},
        "trajectories": [],
        "responders": None,
        "exposure_outcome": None,
        "time_to_event": [],
        "ae_incidence": {"patient_months": 0.0, "by_grade": [], "by_system": [], "total": None},
    }


def analyse(
    data: AnalysisData,
    definition: CohortDefinition,
    *,
    k: int,
    responder_instrument: str = "peg",
    responder_week: int = 12,
    name: str = "Unsaved cohort",
    cohort_id: int | None = None,
) -> CohortReport:
    """Every analysis of the module docstring on the cohort ``definition`` selects from ``data``.

    ``InputError`` names ``k``, ``week`` or ``instrument`` for bad options; a cohort that matches nobody (or fewer
    than ``k``) gives a report with empty sections and ``cohort.reason`` saying why, never an exception."""
    check_k(k)
    week, instrument = check_options(week=responder_week, instrument=responder_instrument)
    selection = select(data, definition)
    people = selection.participants
    n = people.height
    source = {
        key: data.source.get(key) for key in ("program", "snapshot_id", "created_at", "checksum", "consent_as_of")
    }
    head: dict[str, Any] = {
        "cohort": {
            "id": cohort_id,
            "name": name,
            "definition": definition.filters(),
            "n": _count(n, k),
            "suppressed": 0 < n < k,
            "reason": selection.reason,
        },
        "data": {**source, "k": k},
        "caveat": CAVEAT,
    }
    if n == 0 or n < k:
        reason = selection.reason or f"the cohort has fewer than k = {k} participants: nothing is shown"
        head["cohort"]["reason"] = reason
        return CohortReport({**head, **_empty_sections(), "exposure_outcome": _empty_model(instrument, reason)})
    everyone = n == data.participants.height  # no filter left anyone out: no join needed
    ids = people.select("pid")
    frames = {"assessments": data.assessments, "aes": data.adverse_events,
              "tapers": data.taper_steps, "baseline": data.baseline, "early": data.early_exposure,
              "weekly": data.weekly_scores, "weekly_exposure": data.weekly_exposure}  # fmt: skip
    cohort = {name: f if everyone else f.join(ids, on="pid", how="semi") for name, f in frames.items()}
    cohort["daily"] = data.daily_exposure  # read only for the cohort's tapers (_taper_events narrows it)
    last = _last_days(people, data)
    weekly = cohort["weekly"]
    payload = {
        **head,
        "description": _description(people, cohort, k),
        "trajectories": _trajectories(weekly, k),
        "responders": _responders(people, cohort["baseline"], weekly, instrument=instrument, week=week, k=k),
        "exposure_outcome": _exposure_outcome(cohort["weekly_exposure"], weekly, instrument, k),
        "time_to_event": _time_to_event(people, cohort, last, k),
        "ae_incidence": _ae_incidence(cohort, last, k),
    }
    return CohortReport(payload)


def _empty_model(instrument: str, reason: str) -> dict[str, Any]:
    fit = cohort_models.MixedModelResult(
        "not_estimable", reason, None, None, None, None, 0, 0, False, cohort_models.NOTE
    )
    return _model_dict(fit, instrument)


# --- tables for CSV -----------------------------------------------------------------------------------------------

_F = pl.Float64
_I = pl.Int64
_S = pl.String
_B = pl.Boolean
TABLE_SCHEMAS: dict[str, dict[str, Any]] = {
    "description": {"variable": _S, "level": _S, "n": _I, "percent": _F, "suppressed": _B},
    "baseline": {"instrument": _S, "label": _S, "n": _I, "mean": _F, "sd": _F, "median": _F, "suppressed": _B},
    "exposure": {
        "measure": _S, "label": _S, "n": _I, "p10": _F, "p25": _F, "median": _F, "p75": _F, "p90": _F, "suppressed": _B,
    },
    "trajectories": {
        "instrument": _S, "label": _S, "higher_is": _S, "week": _I, "n": _I, "mean": _F, "lower": _F, "upper": _F,
        "suppressed": _B,
    },
    "responders": {
        "instrument": _S, "week": _I, "threshold": _F, "responders": _I, "n": _I, "proportion": _F, "lower": _F,
        "upper": _F, "suppressed": _B,
    },
    "exposure_outcome": {
        "instrument": _S, "formula": _S, "status": _S, "reason": _S, "coefficient": _F, "lower": _F, "upper": _F,
        "p_value": _F, "per": _S, "n_participants": _I, "n_observations": _I, "converged": _B,
    },
    "time_to_event": {
        "event": _S, "n": _I, "events": _I, "censored": _I, "median_days": _F, "time": _F, "at_risk": _I,
        "step_events": _I, "survival": _F, "lower": _F, "upper": _F, "suppressed": _B,
    },
    "ae_incidence": {
        "by": _S, "group": _S, "events": _I, "patient_months": _F, "rate": _F, "lower": _F, "upper": _F,
        "suppressed": _B,
    },
}  # fmt: skip


def _frame(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[name]
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema, orient="row")


def _tables(p: dict[str, Any]) -> dict[str, pl.DataFrame]:
    desc = p["description"]
    trajectories = [
        {**{k: t[k] for k in ("instrument", "label", "higher_is")}, **w} for t in p["trajectories"] for w in t["weeks"]
    ]
    r = p["responders"]
    responders = [{"instrument": r["instrument"], "week": r["week"], **rate} for rate in r["rates"]] if r else []
    model = [p["exposure_outcome"]] if p["exposure_outcome"] else []
    tte: list[dict[str, Any]] = []
    for e in p["time_to_event"]:
        head = {k: e[k] for k in ("event", "n", "events", "censored", "median_days")}
        tte.extend({**head, **s, "step_events": s["events"], "events": e["events"]} for s in e["steps"])
        if not e["steps"]:
            tte.append(head)
    ae = p["ae_incidence"]
    months = ae["patient_months"]
    incidence = [{"by": "grade", "patient_months": months, **row} for row in ae["by_grade"]]
    incidence += [{"by": "system", "patient_months": months, **row} for row in ae["by_system"]]
    if ae["total"] is not None:
        incidence.append({"by": "total", "group": "all", "patient_months": months, **ae["total"]})
    return {
        "description": _frame("description", desc["rows"]),
        "baseline": _frame("baseline", desc["baseline"]),
        "exposure": _frame("exposure", desc["exposure"]),
        "trajectories": _frame("trajectories", trajectories),
        "responders": _frame("responders", responders),
        "exposure_outcome": _frame("exposure_outcome", model),
        "time_to_event": _frame("time_to_event", tte),
        "ae_incidence": _frame("ae_incidence", incidence),
    }
