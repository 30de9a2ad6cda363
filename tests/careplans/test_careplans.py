"""Care plans: goals, modalities, clinician-entered taper schedule; access control and bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kratomwatch.careplans import actions
from kratomwatch.core.errors import InputError
from tests.helpers import api

pytestmark = pytest.mark.django_db


def test_taper_target_in_force(world: Any, system: Any) -> None:
    plan = actions.save_care_plan(
        actor=system,
        patient=world.patient,
        goals="Reduce use",
        modalities=["cbt", "moud"],
        taper=[(dt.date(2026, 12, 8), 60.0), (dt.date(2026, 12, 1), 80.0)],
    )
    assert actions.taper_target_on(plan, dt.date(2026, 11, 30)) is None
    assert actions.taper_target_on(plan, dt.date(2026, 12, 1)) == 80.0
    assert actions.taper_target_on(plan, dt.date(2026, 12, 7)) == 80.0
    assert actions.taper_target_on(plan, dt.date(2026, 12, 8)) == 60.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"modalities": ["hypnosis"]}, "modalities"),
        ({"taper": [(dt.date(2026, 12, 1), -5.0)]}, "taper.0.target_mg"),
        ({"taper": [(dt.date(2026, 12, 1), 5.0), (dt.date(2026, 12, 1), 4.0)]}, "taper"),
        ({"taper": [(dt.date(1999, 1, 1), 50.0)]}, "taper.0.start"),  # review: a 1999 step was saved
        ({"taper": [(dt.date(2026, 12, 8), 50.0), (dt.date(9999, 12, 31), 40.0)]}, "taper.1.start"),
    ],
)
def test_bad_care_plans(world: Any, system: Any, kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"goals": "g", "modalities": ["cbt"]}
    with pytest.raises(InputError) as info:
        actions.save_care_plan(actor=system, patient=world.patient, **(base | kwargs))
    assert info.value.field == field


def test_api_clinician_writes_patient_reads_foreign_404(world: Any) -> None:
    body = {
        "goals": "Sleep better",
        "modalities": ["counselling", "support_group"],
        "taper": [{"start": "2026-12-01", "target_mg": 80}],
    }
    assert api(world, "carol", "put", "/patients/P-001/care-plan", body).status_code == 403
    saved = api(world, "alice", "put", "/patients/P-001/care-plan", body)
    assert saved.status_code == 200 and saved.json()["taper"] == [{"start": "2026-12-01", "target_mg": 80.0}]
    mine = api(world, "carol", "get", "/patients/P-001/care-plan")
    assert mine.status_code == 200 and mine.json()["modalities"] == ["counselling", "support_group"]
    assert "never proposes a dose" in mine.json()["note"]
    assert api(world, "bob", "get", "/patients/P-001/care-plan").status_code == 404
    bad = api(world, "alice", "put", "/patients/P-001/care-plan", body | {"modalities": ["magic"]})
    assert bad.status_code == 422


def test_a_step_already_on_the_plan_is_kept_when_the_plan_is_saved_again(world: Any, system: Any) -> None:
    from kratomwatch.careplans.models import TaperStep

    plan = actions.save_care_plan(
        actor=system, patient=world.patient, goals="g", modalities=[], taper=[(dt.date(2026, 12, 8), 60.0)]
    )
    TaperStep.objects.filter(plan=plan).update(start=dt.date(2020, 1, 6))  # a long-standing plan's first step
    again = actions.save_care_plan(
        actor=system,
        patient=world.patient,
        goals="g",
        modalities=[],
        taper=[(dt.date(2020, 1, 6), 60.0), (dt.date(2026, 12, 15), 50.0)],
    )
    assert list(again.taper_steps.order_by("start").values_list("start", flat=True)) == [
        dt.date(2020, 1, 6),
        dt.date(2026, 12, 15),
    ]
