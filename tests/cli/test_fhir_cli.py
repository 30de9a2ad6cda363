"""`kratomwatch fhir questionnaire` and `kratomwatch fhir responses`, validated with fhir.resources (R4B)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from typer.testing import CliRunner

from kratomwatch.cli import app

runner = CliRunner()


def test_questionnaire_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fhir", "questionnaire", "gad7"])
    assert result.exit_code == 0, result.output
    Questionnaire.model_validate(json.loads(result.output))
    out = tmp_path / "gad7.json"
    result = runner.invoke(app, ["fhir", "questionnaire", "bpi_sf", "--out", str(out), "--base-url", "https://x.test"])
    assert result.exit_code == 0 and "Questionnaire bpi-sf" in result.output
    body = json.loads(out.read_text())
    Questionnaire.model_validate(body)
    assert body["url"] == "https://x.test/Questionnaire/bpi-sf"


@pytest.mark.django_db
def test_responses_of_a_patient_to_a_file(world: Any, system: Any, tmp_path: Path) -> None:
    from kratomwatch.assessments import actions

    stored = actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=[0, 0, 0, 0, 0, 0, 0, 0, 1],
        administered_at=world.now - dt.timedelta(days=1),
        source="clinician",
        now=world.now,
    )
    out = tmp_path / "p-001.json"
    result = runner.invoke(app, ["fhir", "responses", "P-001", "--out", str(out), "--questionnaires"])
    assert result.exit_code == 0, result.output
    assert "3 FHIR resources of P-001" in result.output
    body = json.loads(out.read_text())
    Bundle.model_validate(body)
    kinds = [e["resource"]["resourceType"] for e in body["entry"]]
    assert kinds == ["Questionnaire", "QuestionnaireResponse", "Observation"]
    (observation,) = (e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Observation")
    assert observation["derivedFrom"] == [{"reference": f"QuestionnaireResponse/assessment-{stored.pk}"}]
    assert "suicidality" in " ".join(n["text"] for n in observation["note"])
