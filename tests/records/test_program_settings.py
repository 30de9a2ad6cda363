"""The one home of program settings: environment defaults read and checked, program overrides on top."""

from __future__ import annotations

from typing import Any

import pytest

from kratomwatch.accounts import program_settings
from kratomwatch.core.errors import InputError


def test_environment_defaults_are_numbers_and_whole_days_stay_whole() -> None:
    env = {"KRATOMWATCH_SEVEN_OH_CAP": "1.5", "KRATOMWATCH_ASSESSMENT_GRACE_DAYS": "5", "KRATOMWATCH_G_PER_TSP": " "}
    assert program_settings.environment_defaults(env) == {"seven_oh_cap_percent": 1.5, "missed_followup_grace_days": 5}
    assert isinstance(program_settings.environment_defaults(env)["missed_followup_grace_days"], int)


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("KRATOMWATCH_SEVEN_OH_CAP", "two"), ("KRATOMWATCH_ASSESSMENT_GRACE_DAYS", "2.5"), ("KRATOMWATCH_G_PER_TSP", "x")],
)
def test_a_bad_environment_default_names_the_variable_and_the_value(variable: str, raw: str) -> None:
    with pytest.raises(InputError) as bad:
        program_settings.environment_defaults({variable: raw})
    assert (bad.value.field, bad.value.value) == (variable, raw)


def test_an_out_of_range_environment_default_is_refused_by_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRATOMWATCH_G_PER_TSP", "9")  # above the 3.5 g high end of the range
    with pytest.raises(InputError) as bad:
        program_settings.defaults()
    assert bad.value.field == "grams_per_teaspoon"


@pytest.mark.django_db
def test_a_program_override_wins_over_the_environment(world: Any, system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from kratomwatch.alerts.actions import set_rule_config

    monkeypatch.setenv("KRATOMWATCH_SEVEN_OH_CAP", "1.0")
    set_rule_config(actor=system, program=world.program, overrides={"seven_oh_cap_percent": 3.0})
    configs = program_settings.for_programs([world.program.pk, world.other_program.pk])
    assert configs[world.program.pk].seven_oh_cap_percent == 3.0
    assert configs[world.other_program.pk].seven_oh_cap_percent == 1.0
    assert program_settings.stored(world.program.pk) is not None
    assert program_settings.stored(world.other_program.pk) is None


@pytest.mark.django_db
def test_a_patient_has_one_login(world: Any, system: Any) -> None:
    from kratomwatch.records.actions import create_patient_login

    with pytest.raises(InputError) as twice:
        create_patient_login(actor=system, patient=world.patient, username="carol2", password="another-long-pass-9")
    assert twice.value.field == "patient_code" and twice.value.value == "P-001"
