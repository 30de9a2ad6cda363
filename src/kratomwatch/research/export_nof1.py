"""The n-of-1 tables of the research export: ``nof1_trials`` (one row per ended trial) and ``nof1_days`` (one row
per day of it), for the participants the export keeps (research consent active, k-anonymity released).

Which trials leave: those that ended (``completed``, or ``stopped`` by the clinician or a stopping rule). A running
trial does not (a blinded trial's order is shown to no one until it ends), nor a trial the patient withdrew from
(their n-of-1 consent was withdrawn: ``nof1.actions.withdraw``), nor a draft or a signed trial (no days).

What leaves of a trial: the design (primary instrument, direction, period, washout, run-in, blocks, condition codes
and the reference), the MCID, the status, the first and last day; ``design_key`` names the design the pooled
estimate groups by (:func:`design_key`). Free text never leaves: not the title, the question, the condition labels
and descriptions, the stopping rules, the MCID's source or the stop reason; nor the seed, the signatures or the
protocol PDF. The clinician's mg targets of the conditions are left out too (the days carry the measured mg).

What leaves of a day (every day from the first day of the run-in to the last day of the trial, as the trial page's
chart shows it: ``nof1.results``): its role (``run-in``, ``washout``, ``analysed``), condition code and block (empty
in the run-in), the outcome (the mean of that local day's valid totals of the primary questionnaire; empty when
none) and that day's measured mitragynine and 7-OH mg (0 when no dose was recorded).

Dates follow the export's date mode: shifted by the participant's offset, or ``<column>_study_day``. The tables are
in the CSV and Parquet files only, not in the FHIR NDJSON (no FHIR resource carries a crossover period's role).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from django.db.models import QuerySet

from kratomwatch.nof1 import queries, results
from kratomwatch.nof1.models import Trial, TrialStatus
from kratomwatch.records.models import Patient

TABLES = ("nof1_trials", "nof1_days")
EXPORTED_STATUSES = (TrialStatus.COMPLETED, TrialStatus.STOPPED)
"""How ``nof1.actions.withdraw`` starts the stop reason of a trial the patient withdrew from."""
NOT_IN_FHIR = "the n-of-1 tables (nof1_trials, nof1_days) are in the CSV and Parquet files only"

TABLE_DOCS: dict[str, str] = {
    "nof1_trials": "one row per ended n-of-1 trial (completed, or stopped by the clinician): its design, MCID and "
    "status (title, question, condition labels and descriptions, stopping rules and reasons dropped)",
    "nof1_days": "one row per day of an n-of-1 trial in nof1_trials: role, condition code, block, the day's mean "
    "valid primary score, measured mg",
}

_DOCS: dict[tuple[str, str], str] = {
    ("nof1_trials", "trial_no"): "Number of the trial within the participant (1 = the first started)",
    ("nof1_trials", "design_key"): "The design the pooled estimate groups by: instrument, direction, period days, "
    "washout days, blocks, condition codes, reference",
    ("nof1_trials", "primary_instrument"): "Instrument of the primary outcome",
    ("nof1_trials", "lower_is_better"): "A lower primary score is better (1 yes, 0 higher is better)",
    ("nof1_trials", "period_days"): "Days per period",
    ("nof1_trials", "washout_days"): "Washout days at the start of each period (not analysed)",
    ("nof1_trials", "run_in_days"): "Run-in days before the first period (measured, not analysed)",
    ("nof1_trials", "blocks"): "Blocks (each has one period of every condition, in random order)",
    ("nof1_trials", "conditions"): "Condition codes, | separated",
    ("nof1_trials", "reference"): "Code of the reference condition",
    ("nof1_trials", "mcid"): "Minimal clinically important difference of the primary outcome (empty when none)",
    ("nof1_trials", "status"): "completed or stopped (early)",
    ("nof1_trials", "start"): "First day of the trial (the run-in's first day) (shifted)",
    ("nof1_trials", "end"): "Last day of the trial data (the last period's end, or the day it was stopped) (shifted)",
    ("nof1_days", "trial_no"): "Trial (nof1_trials.trial_no of the same participant)",
    ("nof1_days", "date"): "Local calendar day (shifted)",
    ("nof1_days", "role"): "run-in, washout or analysed",
    ("nof1_days", "condition"): "Condition code of the day's period (empty in the run-in)",
    ("nof1_days", "block"): "Block of the day's period (empty in the run-in)",
    ("nof1_days", "outcome"): "Mean of the day's valid primary scores (empty when none)",
    ("nof1_days", "mitragynine_mg"): "mg mitragynine measured that day (0 when no dose was recorded)",
    ("nof1_days", "seven_oh_mg"): "mg 7-hydroxymitragynine measured that day (0 when no dose was recorded)",
}


def column_doc(table: str, column: str) -> str | None:
    """What a column of an n-of-1 table means (the data dictionary), or None for a column of another table."""
    if column.endswith("_study_day"):
        base = _DOCS.get((table, column.removesuffix("_study_day")))
        if base is None:
            return None
        return base.replace(" (shifted)", "") + ": study day (days since enrolment, day 0 = enrolment)"
    return _DOCS.get((table, column))


def design_key(
    *,
    instrument: str,
    lower_is_better: bool,
    period_days: int,
    washout_days: int,
    blocks: int,
    conditions: Sequence[str],
    reference: str,
) -> str:
    """The design's key, e.g. ``pain_nrs/lower/p7/w2/b3/A|B/ref=A``: trials with the same key share the primary
    instrument, its direction, the period and washout lengths, the number of blocks, the condition codes and the
    reference. The run-in (never analysed) and the MCID are not part of it."""
    direction = "lower" if lower_is_better else "higher"
    codes = "|".join(sorted(conditions))
    return f"{instrument}/{direction}/p{period_days}/w{washout_days}/b{blocks}/{codes}/ref={reference}"


_TRIAL_SCHEMA: dict[str, Any] = {
    "patient_id": pl.Int64,
    "trial_no": pl.Int64,
    "design_key": pl.String,
    "primary_instrument": pl.String,
    "lower_is_better": pl.Boolean,
    "period_days": pl.Int64,
    "washout_days": pl.Int64,
    "run_in_days": pl.Int64,
    "blocks": pl.Int64,
    "conditions": pl.String,
    "reference": pl.String,
    "mcid": pl.Float64,
    "status": pl.String,
    "start": pl.Date,
    "end": pl.Date,
}
_DAY_SCHEMA: dict[str, Any] = {
    "patient_id": pl.Int64,
    "trial_no": pl.Int64,
    "date": pl.Date,
    "role": pl.String,
    "condition": pl.String,
    "block": pl.Int64,
    "outcome": pl.Float64,
    "mitragynine_mg": pl.Float64,
    "seven_oh_mg": pl.Float64,
}


def exported_trials(included: QuerySet[Patient]) -> list[Trial]:
    """The trials of ``included`` that leave, in participant order, each participant's by start."""
    trials = (
        Trial.objects.filter(patient__in=included, status__in=EXPORTED_STATUSES, start_date__isnull=False)
        .exclude(withdrawn=True)
        .select_related("patient")
        .order_by("patient_id", "start_date", "id")
    )
    return list(trials)


def _rows(trials: list[Trial], released: set[int]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    trial_rows: list[tuple[Any, ...]] = []
    day_rows: list[tuple[Any, ...]] = []
    numbers: dict[int, int] = {}
    for trial in trials:
        if trial.patient_id not in released:
            continue
        # One definition of a trial day (the trial page's chart and the analysis input): nof1.results.
        series = results.trial_series(trial)
        if not series:
            continue
        numbers[trial.patient_id] = no = numbers.get(trial.patient_id, 0) + 1
        design = queries.design_of(trial)
        key = design_key(
            instrument=trial.primary_instrument,
            lower_is_better=trial.lower_is_better,
            period_days=trial.period_days,
            washout_days=trial.washout_days,
            blocks=trial.blocks,
            conditions=design.conditions,
            reference=design.reference,
        )
        first: dt.date = series[0]["date"]
        last: dt.date = series[-1]["date"]
        trial_rows.append(
            (
                trial.patient_id, no, key, trial.primary_instrument, trial.lower_is_better, trial.period_days,
                trial.washout_days, trial.run_in_days, trial.blocks, "|".join(sorted(design.conditions)),
                design.reference, trial.mcid, str(trial.status), first, last,
            )
        )  # fmt: skip
        day_rows.extend(
            (
                trial.patient_id, no, row["date"], row["role"], row["condition"], row["block"], row["outcome"],
                row["mitragynine_mg"], row["seven_oh_mg"],
            )
            for row in series
        )  # fmt: skip
    return trial_rows, day_rows


Finish = Callable[[pl.DataFrame, pl.DataFrame, Sequence[str], str, Sequence[str]], pl.DataFrame]
"""The export's last step of every table (``research.export._finish``): join to the participant keys (study ID for
the internal id), dates shifted or as study days, helpers dropped, booleans as 1/0, sorted."""


def tables(included: QuerySet[Patient], keys: pl.DataFrame, mode: str, *, finish: Finish) -> dict[str, pl.DataFrame]:
    """``nof1_trials`` and ``nof1_days`` of the participants in ``keys`` (those released), de-identified."""
    released = set(keys["patient_id"].to_list())
    trial_rows, day_rows = _rows(exported_trials(included), released)
    trials = pl.DataFrame(trial_rows, schema=_TRIAL_SCHEMA, orient="row")
    days = pl.DataFrame(day_rows, schema=_DAY_SCHEMA, orient="row")
    return {
        "nof1_trials": finish(trials, keys, ["start", "end"], mode, ["trial_no"]),
        "nof1_days": finish(days, keys, ["date"], mode, ["trial_no", "date"]),
    }
