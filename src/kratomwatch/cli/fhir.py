"""FHIR R4 export (``research.fhir_instruments``; mapping in docs/fhir.md).

- ``kratomwatch fhir questionnaire INSTRUMENT [--out FILE]``: the instrument as a Questionnaire (no database);
- ``kratomwatch fhir responses PATIENT_CODE [--out FILE] [--instrument ID] [--questionnaires]``: a collection
  Bundle of the patient's stored administrations (QuestionnaireResponse plus score Observations each), read
  through ``kratomwatch.access`` as the operator and audited as ``patient.read.fhir``.

JSON goes to stdout, or to ``--out``; errors follow the one CLI error shape (JSON with ``--json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kratomwatch.cli import boot, console, operator, operator_actor, reporting
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.research import fhir_instruments as fhir

fhir_app = typer.Typer(help="Export instruments and a patient's responses as FHIR R4 JSON.", no_args_is_help=True)

Out = Annotated[Path | None, typer.Option("--out", "-o", help="Output file (default: stdout)")]
BaseUrl = Annotated[str, typer.Option(help="Base URL of the FHIR identifiers")]
AsJson = Annotated[bool, typer.Option("--json", help="Report errors as JSON")]


def definition_for(instrument: str) -> ins.InstrumentDefinition:
    try:
        return ins.get(instrument)
    except ins.UnknownInstrument:
        known = ", ".join(ins.instrument_ids())
        raise NotFound(
            "instrument", instrument, f"unknown instrument {instrument!r}; known: {known}", code="unknown_instrument"
        ) from None


@fhir_app.command("questionnaire")
def questionnaire(
    instrument: Annotated[str, typer.Argument(help="Instrument id, e.g. phq9, gad7, peg, cows")],
    out: Out = None,
    base_url: BaseUrl = fhir.DEFAULT_BASE_URL,
    as_json: AsJson = False,
) -> None:
    """An instrument as a FHIR R4 Questionnaire (item wording only where its licence lets it ship)."""
    with reporting(as_json=as_json):
        resource = fhir.questionnaire(definition_for(instrument), base_url=base_url)
    _write(resource, out, f"Questionnaire {resource['id']}")


@fhir_app.command("responses")
def responses(
    patient_code: Annotated[str, typer.Argument(help="Patient code")],
    out: Out = None,
    instrument: Annotated[str | None, typer.Option(help="Only this instrument")] = None,
    questionnaires: Annotated[bool, typer.Option(help="Also include each instrument's Questionnaire")] = False,
    base_url: BaseUrl = fhir.DEFAULT_BASE_URL,
    as_json: AsJson = False,
) -> None:
    """A patient's questionnaire responses and scores as a FHIR R4 collection Bundle (audited read)."""
    boot()
    from kratomwatch import access
    from kratomwatch.assessments import queries
    from kratomwatch.core.exposure import zone

    with reporting(as_json=as_json):
        if instrument is not None:
            definition_for(instrument)
        patient = access.get_patient_for(operator(), patient_code, actor=operator_actor(), purpose="fhir")
        rows = queries.assessments_of(patient)
        try:
            bundle = fhir.responses_bundle(
                rows.filter(instrument_id=instrument) if instrument is not None else rows,
                patient_reference=f"Patient/{patient.code}",
                time_zone=zone(patient.time_zone),
                include_questionnaires=questionnaires,
                base_url=base_url,
            )
        except fhir.FhirExportError as exc:
            raise InputError("patient_code", patient_code, str(exc), code="fhir_export") from None
    _write(bundle, out, f"{len(bundle.get('entry', []))} FHIR resources of {patient.code}")


def _write(resource: dict[str, Any], out: Path | None, what: str) -> None:
    text = json.dumps(resource, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
        return
    out.write_text(text + "\n", encoding="utf-8")
    console.print(f"wrote {what} to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(fhir_app, name="fhir")
