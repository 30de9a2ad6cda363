"""Demo assessment histories: realistic cases present, stored scores consistent, deterministic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from kratomwatch.accounts import actions as account_actions
from kratomwatch.assessments import analysis
from kratomwatch.assessments.models import Assessment, Schedule
from kratomwatch.assessments.schedules import statuses_for
from kratomwatch.core import instruments as ins
from kratomwatch.demo import CONDITION_SETS, PLACES, load_demo_assessments
from kratomwatch.records import actions, writes
from kratomwatch.records.models import Patient

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


def _program(system: Any, prefix: str) -> Any:
    program = account_actions.create_program(actor=system, slug=f"demo-{prefix.lower()}", name=f"Demo {prefix}")
    for i, conditions in enumerate(CONDITION_SETS):
        tz, jurisdiction = PLACES[i % len(PLACES)]
        actions.create_patient(
            actor=system,
            program=program,
            code=f"{prefix}-{i + 1:03d}",
            birth_year=1980,
            sex="female",
            time_zone=tz,
            jurisdiction=jurisdiction,
            conditions=conditions,
        )
    return program


def test_demo_histories_cover_the_clinical_cases(system: Any) -> None:
    program = _program(system, "A")
    with writes.batch():  # the histories are under test here, not the alerts: evaluate once at the end
        counts = load_demo_assessments(program, NOW, np.random.default_rng(20261121))
    rows = Assessment.objects.filter(patient__program=program)
    assert counts["assessments"] == rows.count() > 100
    for a in rows:  # every stored row is exactly the core's scoring of its answers
        expected = ins.score(ins.get(a.instrument_id), a.answers, supervised=a.supervised)
        assert a.scores == {s.scale_id: s.value for s in expected.scales} and a.flags == list(expected.flag_ids)
        assert a.administered_at <= NOW

    patients = {p.code: p for p in Patient.objects.filter(program=program).prefetch_related("conditions")}
    pain = [p for p in patients.values() if {"chronic_pain", "neuropathic_pain"} & set(p.condition_codes)]
    peg = [analysis.trajectories_for(p, "peg")[0] for p in pain]
    assert all(t["valid_points"] >= 10 for t in peg)
    improving = [t for t in peg if t["change"]["percent_change"] <= -30]
    flat = [t for t in peg if t["change"]["percent_change"] > -10]
    assert improving and flat
    assert all(t["pain_intensity"]["immpact_category"] in ("moderate", "substantial") for t in improving)

    recent = NOW - dt.timedelta(days=3)
    suicidal_codes = {
        a.patient.code
        for a in rows.filter(instrument_id="phq9", administered_at__gte=recent).select_related("patient")
        if "suicidality" in a.flags
    }
    assert len(suicidal_codes) == 1
    assert rows.filter(instrument_id="phq9", total__gte=20).exists()
    assert rows.filter(instrument_id="cows", total__gte=13).exists()
    assert rows.filter(instrument_id="dsm5_sud", total__gte=4).exists()
    for condition, instrument_id in (("neuropathic_pain", "dn4"), ("adhd", "asrs"), ("anxiety", "gad7")):
        with_condition = {code for code, p in patients.items() if condition in p.condition_codes}
        assert set(rows.filter(instrument_id=instrument_id).values_list("patient__code", flat=True)) == with_condition
    assert set(rows.filter(instrument_id="cows").values_list("patient__code", flat=True)) == {
        code for code, p in patients.items() if "opioid_use_disorder" in p.condition_codes
    }

    schedules = Schedule.objects.filter(patient__program=program)
    assert {s.instrument_id: s.every_days for s in schedules} == {"peg": 7, "phq9": 14, "cows": 28}
    assert schedules.filter(instrument_id="phq9").count() == len(patients)
    states = [s.status for p in patients.values() for s in statuses_for(p, now=NOW, grace=3)]
    assert "overdue" in states and "due" in states and "upcoming" in states


def test_demo_histories_are_deterministic(system: Any) -> None:
    a, b = _program(system, "A"), _program(system, "B")
    with writes.batch():  # the histories are under test here, not the alerts: evaluate once at the end
        load_demo_assessments(a, NOW, np.random.default_rng(5))
        load_demo_assessments(b, NOW, np.random.default_rng(5))

    def series(program: Any) -> list[tuple[str, str, Any, dt.datetime]]:
        rows = Assessment.objects.filter(patient__program=program).select_related("patient")
        return sorted((r.patient.code[2:], r.instrument_id, r.answers, r.administered_at) for r in rows)

    assert series(a) == series(b)
    with writes.batch():
        load_demo_assessments(_program(system, "C"), NOW, np.random.default_rng(6))
    assert series(Patient.objects.get(code="C-001").program) != series(a)
