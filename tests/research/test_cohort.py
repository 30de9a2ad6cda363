"""Cohort analytics (``research/cohort.py``) on synthetic snapshot frames: the report's one JSON shape, each filter,
the empty cohort and its reason, small-cell suppression, the time-to-event and incidence definitions, the flat
tables for CSV, and bad filters named by key. The snapshot built from a real registry is in test_snapshot.py and
the API and CLI tests."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from kratomwatch.core.errors import InputError
from kratomwatch.research import cohort as c

SOURCE = {"program": "pain", "snapshot_id": "20261201T120000000000Z", "created_at": "2026-12-01T12:00:00+00:00",
          "checksum": "0" * 64, "consent_as_of": "2026-12-01T12:00:00+00:00"}  # fmt: skip


def synthetic(n: int = 40, weeks: int = 16, seed: int = 7) -> c.AnalysisData:
    """``n`` participants with daily exposure from study day -3, weekly PEG (falling with time and with mg) and
    PHQ-9 from week -1, a DSM-5 count at day 30 (>= 4 for every third), adverse events for every second, and a
    taper for the first 20 (the odd ones with a target they already meet)."""
    rng = np.random.default_rng(seed)
    ids = [f"S-{i:012d}" for i in range(n)]
    people = pl.DataFrame(
        {
            "study_id": ids,
            "age_band": ["30-39" if i % 2 else "40-49" for i in range(n)],
            "sex": ["female" if i % 3 else "male" for i in range(n)],
            "jurisdiction": ["US-TX" if i % 4 else "US-CA" for i in range(n)],
            "conditions": ["chronic_pain" if i % 2 else "chronic_pain|depression" for i in range(n)],
            "enrolment_year": [2025 if i < n // 2 else 2026 for i in range(n)],
        }
    )
    days = np.arange(-3, weeks * 7)
    mg0 = np.where(np.arange(n) < n // 2, np.linspace(20, 40, n), np.linspace(60, 80, n))  # a gap at 50 mg
    sid = np.repeat(ids, days.size)
    mg = np.repeat(mg0, days.size) + rng.normal(0, 5, sid.size)
    daily = pl.DataFrame(
        {"study_id": sid, "date_study_day": np.tile(days, n), "mitragynine_mg": mg, "seven_oh_mg": mg / 50}
    )
    rows = []
    for i, s in enumerate(ids):
        for w in range(-1, weeks):
            peg = float(np.clip(8 - 0.25 * w - 0.03 * mg0[i] + rng.normal(0, 0.4), 0, 10))
            rows.append((s, len(rows) + 1, w * 7 + 2, "peg", peg, 1))
            rows.append((s, len(rows) + 1, w * 7 + 3, "phq9", float(10 + rng.integers(-3, 3)), 1))
        rows.append((s, len(rows) + 1, 30, "dsm5_sud", float(5 if i % 3 == 0 else 2), 1))
        rows.append((s, len(rows) + 1, 31, "peg", 99.0, 0))  # an invalid administration counts nowhere
    schema = {"study_id": pl.String, "assessment_no": pl.Int64, "date_study_day": pl.Int64, "instrument_id": pl.String,
              "total": pl.Float64, "valid": pl.Int8}  # fmt: skip
    assessments = pl.DataFrame(rows, schema=schema, orient="row")
    half = ids[::2]
    aes = pl.DataFrame(
        {
            "study_id": half,
            "onset_study_day": list(range(5, 5 + len(half))),
            "grade": [1 + (i % 4) for i in range(len(half))],
            "seriousness": ["" if i % 5 else "hospitalisation" for i in range(len(half))],
            "outcome": ["recovered"] * len(half),
        }
    )
    tapers = pl.DataFrame(
        {"study_id": ids[:20], "start_study_day": [10] * 20, "target_mg": [200.0 if i % 2 else 5.0 for i in range(20)]}
    )
    return c.AnalysisData(
        source=SOURCE,
        participants=people,
        daily_exposure=daily,
        assessments=assessments,
        adverse_events=aes,
        taper_steps=tapers,
    )


@pytest.fixture(scope="module")
def data() -> c.AnalysisData:
    return synthetic()


def _plain(value: Any) -> None:
    """Every number in the report is a plain int, float (finite) or None."""
    if isinstance(value, dict):
        for v in value.values():
            _plain(v)
    elif isinstance(value, list):
        for v in value:
            _plain(v)
    elif isinstance(value, float):
        assert math.isfinite(value)
    else:
        assert value is None or isinstance(value, str | int | bool), type(value)


def test_report_has_the_shared_shape(data: c.AnalysisData) -> None:
    report = c.analyse(data, c.check_definition({}), k=5, name="Everyone", cohort_id=7).to_dict()
    assert set(report) == {"cohort", "data", "caveat", "description", "trajectories", "responders",
                           "exposure_outcome", "time_to_event", "ae_incidence"}  # fmt: skip
    _plain(report)
    json.dumps(report)
    assert report["cohort"] | {"definition": None} == {
        "id": 7, "name": "Everyone", "definition": None, "n": 40, "suppressed": False, "reason": None,
    }  # fmt: skip
    assert report["data"] == {**SOURCE, "k": 5}
    assert "cannot establish efficacy" in report["caveat"]
    rows = {(r["variable"], r["level"]): r for r in report["description"]["rows"]}
    assert rows[("sex", "male")]["n"] == 14 and rows[("sex", "male")]["percent"] == pytest.approx(35.0)
    assert rows[("condition", "depression")]["n"] == 20 and rows[("condition", "chronic_pain")]["n"] == 40
    peg = next(b for b in report["description"]["baseline"] if b["instrument"] == "peg")
    assert peg["n"] == 40 and 0 < peg["mean"] < 10
    exposure = report["description"]["exposure"][0]
    assert exposure["measure"] == "mitragynine_mg_per_day" and exposure["p10"] < exposure["median"] < exposure["p90"]
    trajectories = {t["instrument"]: t for t in report["trajectories"]}
    assert set(trajectories) == {"peg", "phq9"} and trajectories["peg"]["higher_is"] == "worse"
    weeks = trajectories["peg"]["weeks"]
    assert [w["week"] for w in weeks] == list(range(16)) and weeks[0]["n"] == 40
    assert weeks[-1]["mean"] < weeks[0]["mean"] and weeks[0]["lower"] < weeks[0]["mean"] < weeks[0]["upper"]
    responders = report["responders"]
    assert responders["week"] == 12 and responders["evaluable"] == 40 and responders["no_baseline"] == 0
    assert [r["threshold"] for r in responders["rates"]] == [0.3, 0.5]
    model = report["exposure_outcome"]
    # The synthetic PEG falls by 0.03 per mg: -0.3 per 10 mg; weeks -1.. and 0..15 with both exposure and PEG: 16.
    assert model["status"] == "estimated" and model["coefficient"] == pytest.approx(-0.3, abs=0.05)
    assert (model["n_participants"], model["n_observations"]) == (40, 640) and model["converged"] is True


def test_time_to_event_and_incidence_follow_their_definitions(data: c.AnalysisData) -> None:
    report = c.analyse(data, c.check_definition({}), k=5).to_dict()
    events = {e["event"]: e for e in report["time_to_event"]}
    taper = events["taper_completion"]
    # 20 with a taper; the 10 whose target (200 mg) is above their use reach it 7 days after the last step (day 16).
    assert (taper["n"], taper["events"], taper["censored"]) == (20, 10, 10)
    assert taper["steps"][0]["time"] == 16.0 and taper["median_days"] == 16.0
    serious = events["first_serious_ae"]
    # Every second participant has an event; grade >= 3 or a seriousness criterion: 12 of the 20.
    assert (serious["n"], serious["events"]) == (40, 12) and serious["median_days"] is None
    dependence = events["dependence_4plus"]
    assert (dependence["n"], dependence["events"]) == (40, 14)
    assert dependence["steps"][0]["time"] == 30.0
    assert all(e["definition"] and e["suppressed"] is False for e in events.values())
    incidence = report["ae_incidence"]
    # Follow-up: study day 0 to the last recorded day (111) inclusive: 112 days each.
    assert incidence["patient_months"] == pytest.approx(40 * 112 / 30.4375)
    assert incidence["total"]["events"] == 20
    assert incidence["total"]["rate"] == pytest.approx(100 * 20 / incidence["patient_months"])
    grades = {g["group"]: g for g in incidence["by_grade"]}
    assert list(grades) == [f"Grade {g}" for g in range(1, 6)]
    assert grades["Grade 1"]["events"] == 5 and grades["Grade 5"]["events"] == 0
    assert [s["group"] for s in incidence["by_system"]] == [c.NOT_CLASSIFIED]


@pytest.mark.parametrize(
    ("definition", "n"),
    [
        ({"conditions": ["depression"]}, 20),
        ({"conditions": ["depression", "chronic_pain"]}, 40),
        ({"jurisdictions": ["US-CA"]}, 10),
        ({"age_bands": ["30-39"]}, 20),
        ({"sexes": ["male"]}, 14),
        ({"exposure_min_mg": 50}, 20),
        ({"exposure_max_mg": 50}, 20),
        ({"enrolled_from_year": 2026}, 20),
        ({"enrolled_to_year": 2025}, 20),
        ({"baseline_instrument": "peg"}, 40),
        ({"baseline_instrument": "peg", "baseline_min": 6.0}, None),
        ({"baseline_instrument": "gad7"}, 0),
        ({"sexes": ["male"], "jurisdictions": ["US-CA"]}, 4),
        ({"sexes": ["male"], "jurisdictions": ["US-CA"], "age_bands": ["30-39"]}, 0),
    ],
)
def test_each_filter_narrows_the_cohort(data: c.AnalysisData, definition: dict[str, Any], n: int | None) -> None:
    selection = c.select(data, c.check_definition(definition))
    if n is None:
        assert 0 < selection.participants.height < 40
    else:
        assert selection.participants.height == n
    assert (selection.reason is None) == (selection.participants.height > 0)


def test_empty_cohort_reports_why_and_every_section_empty(data: c.AnalysisData) -> None:
    report = c.analyse(data, c.check_definition({"jurisdictions": ["GB"]}), k=5).to_dict()
    assert report["cohort"]["n"] == 0
    assert "jurisdictions" in report["cohort"]["reason"] and "GB" in report["cohort"]["reason"]
    assert report["description"] == {"rows": [], "baseline": [], "exposure": []}
    assert report["trajectories"] == [] and report["time_to_event"] == [] and report["responders"] is None
    assert report["exposure_outcome"]["status"] == "not_estimable"
    assert report["ae_incidence"]["total"] is None
    assert all(t.height == 0 for name, t in c.CohortReport(report).tables().items() if name != "exposure_outcome")


def test_small_cohort_and_small_cells_are_suppressed(data: c.AnalysisData) -> None:
    small = c.analyse(data, c.check_definition({"jurisdictions": ["US-CA"], "sexes": ["male"]}), k=5).to_dict()
    # 0 < n < k: the count itself is withheld and nothing is shown.
    assert small["cohort"]["n"] is None and small["cohort"]["suppressed"] is True
    assert small["trajectories"] == [] and "fewer than k" in small["cohort"]["reason"]
    report = c.analyse(data, c.check_definition({}), k=15).to_dict()
    rows = {(r["variable"], r["level"]): r for r in report["description"]["rows"]}
    assert rows[("sex", "male")] == {"variable": "sex", "level": "male", "n": None, "percent": None, "suppressed": True}
    assert rows[("jurisdiction", "US-CA")]["suppressed"] and rows[("sex", "female")]["n"] == 26
    events = {e["event"]: e for e in report["time_to_event"]}
    serious = events["first_serious_ae"]
    # 12 events < 15: the count, the curve (its drops would count them) and its median are withheld.
    assert serious["events"] is None and serious["steps"] == [] and serious["suppressed"] is True
    assert serious["n"] == 40 and serious["median_days"] is None
    assert events["dependence_4plus"]["events"] is None and events["taper_completion"]["steps"] == []
    grades = {g["group"]: g for g in report["ae_incidence"]["by_grade"]}
    assert grades["Grade 1"]["suppressed"] and grades["Grade 1"]["events"] is None
    assert grades["Grade 5"]["events"] == 0 and not grades["Grade 5"]["suppressed"]


def test_tables_are_flat_and_carry_no_study_id(data: c.AnalysisData) -> None:
    report = c.analyse(data, c.check_definition({}), k=5)
    tables = report.tables()
    assert set(tables) == set(c.TABLE_SCHEMAS)
    assert tables["trajectories"].filter(pl.col("instrument") == "peg").height == 16
    assert tables["responders"]["threshold"].to_list() == [0.3, 0.5]
    text = "".join(t.write_csv() for t in tables.values()) + json.dumps(report.to_dict())
    assert "S-0000" not in text


@pytest.mark.parametrize(
    ("data_in", "field"),
    [
        ({"colour": ["red"]}, "colour"),
        ({"conditions": "chronic_pain"}, "conditions"),
        ({"conditions": [""]}, "conditions"),
        ({"sexes": ["a\x00b"]}, "sexes"),
        ({"exposure_min_mg": -1}, "exposure_min_mg"),
        ({"exposure_min_mg": "many"}, "exposure_min_mg"),
        ({"exposure_min_mg": 10, "exposure_max_mg": 5}, "exposure_min_mg"),
        ({"enrolled_from_year": 1800}, "enrolled_from_year"),
        ({"enrolled_from_year": 2026, "enrolled_to_year": 2025}, "enrolled_from_year"),
        ({"baseline_instrument": "nope"}, "baseline_instrument"),
        ({"baseline_min": 3}, "baseline_min"),
        ({"baseline_instrument": "peg", "baseline_min": 5, "baseline_max": 2}, "baseline_min"),
        (["conditions"], "definition"),
    ],
)
def test_bad_filter_is_named(data_in: Any, field: str) -> None:
    with pytest.raises(InputError) as problem:
        c.check_definition(data_in)
    assert problem.value.field == field
    assert field in problem.value.message or field == "definition"


@pytest.mark.parametrize(
    ("options", "field"),
    [({"responder_week": -1}, "week"), ({"responder_week": "x"}, "week"),
     ({"responder_instrument": "phq9"}, "instrument"), ({"k": 1}, "k")],
)  # fmt: skip
def test_bad_report_options_are_named(data: c.AnalysisData, options: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as problem:
        c.analyse(data, c.check_definition({}), **({"k": 5} | options))
    assert problem.value.field == field
