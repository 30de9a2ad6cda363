"""Dose commands: ``dose`` (standardize one dose, no database), ``exposure``, ``import doses`` and ``export doses``.

Reads go through ``kratomwatch.access`` as the operator and are audited: ``exposure`` as
``patient.read.exposure``, ``export doses`` as the list read ``list.doses.export`` (with the row count).
``import doses`` writes through ``records.actions.import_doses`` (one transaction per file, idempotent), with the
patients resolved through access.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.table import Table

from kratomwatch.cli import boot, console, err, fail, operator, operator_actor, parse_date, progress, reporting
from kratomwatch.core import units
from kratomwatch.core.errors import InputError
from kratomwatch.jobs.dose_csv import parse_dose_rows, write_doses_csv

import_app = typer.Typer(help="Import data files (idempotent; each file is one transaction).", no_args_is_help=True)
export_app = typer.Typer(help="Export data files.", no_args_is_help=True)


# --- dose (no database) --------------------------------------------------------------------------------------


def dose(
    amount: float,
    unit: str,
    form: Annotated[
        str,
        typer.Option(help="leaf_powder, crushed_leaf, capsule, tablet, liquid_extract, resin, seven_oh_product, other"),
    ],
    mitragynine: Annotated[float | None, typer.Option(help="Certificate mitragynine content")] = None,
    seven_oh: Annotated[float | None, typer.Option("--seven-oh", help="Certificate 7-OH content")] = None,
    content_unit: Annotated[str, typer.Option(help="mg/g, mg/mL or mg/unit")] = "mg/g",
    unit_mass_mg: Annotated[float | None, typer.Option(help="Mass of one capsule or tablet (mg)")] = None,
    grams_per_teaspoon: Annotated[float | None, typer.Option(help="Lot calibration (g per level teaspoon)")] = None,
    seven_oh_cap: Annotated[float, typer.Option(help="7-OH cap, % of total alkaloids")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Standardize one dose to mg mitragynine and mg 7-OH (no database). Never a dose recommendation."""
    boot()
    from kratomwatch.accounts import program_settings
    from kratomwatch.records import potency

    with reporting(as_json=as_json):
        parsed_form = units.parse_form(form)
        parsed_unit = units.parse_unit(unit)
        result = units.compute_dose_mg(
            amount,
            parsed_unit,
            units.Potency(
                parsed_form, _certificate(mitragynine, seven_oh, content_unit), unit_mass_mg, grams_per_teaspoon
            ),
            leaf_reference=potency.leaf_content(),
            volumetric_default=potency.volumetric_default(program_settings.defaults()),
            seven_oh_cap_percent=seven_oh_cap,
        )
    payload = {
        "amount": amount,
        "unit": parsed_unit.value,
        "form": parsed_form.value,
        "mitragynine_mg": result.mitragynine_mg,
        "seven_oh_mg": result.seven_oh_mg,
        "basis": result.basis.value,
        "mitragynine_range_mg": _pair(result.mitragynine_range),
        "seven_oh_range_mg": _pair(result.seven_oh_range),
        "seven_oh_share_percent": result.seven_oh_share_percent,
        "enhanced": result.enhanced,
        "seven_oh_cap_percent": seven_oh_cap,
        "reasons": list(result.reasons),
    }
    if as_json:
        print(json.dumps(payload))
        return

    def mg(v: float | None) -> str:
        return "unknown" if v is None else f"{v:.2f} mg"

    console.print(
        f"mitragynine: {mg(result.mitragynine_mg)}   7-OH: {mg(result.seven_oh_mg)}   basis: {result.basis.value}"
    )
    if result.mitragynine_range:
        console.print(f"mitragynine range: {result.mitragynine_range.low:.2f}-{result.mitragynine_range.high:.2f} mg")
    if result.seven_oh_share_percent is not None:
        console.print(
            f"7-OH share of total alkaloids: {result.seven_oh_share_percent:.2f}% "
            f"(cap {seven_oh_cap}%): {'ENHANCED' if result.enhanced else 'within cap'}"
        )
    for reason in result.reasons:
        console.print(f"- {reason}", style="dim")


def _certificate(mitragynine: float | None, seven_oh: float | None, content_unit: str) -> units.Certificate | None:
    if (mitragynine is None) != (seven_oh is None):
        raise InputError(
            "seven_oh" if seven_oh is None else "mitragynine",
            None,
            "a certificate needs both --mitragynine and --seven-oh",
        )
    if mitragynine is None or seven_oh is None:
        return None
    return units.Certificate(mitragynine, seven_oh, units.parse_content_unit(content_unit))


def _pair(r: units.Range | None) -> list[float] | None:
    return None if r is None else [r.low, r.high]


# --- exposure ------------------------------------------------------------------------------------------------


def exposure(
    patient_code: str,
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today in the patient's zone)")] = None,
    days: int = typer.Option(14, min=1, max=366),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Daily mg mitragynine and 7-OH for a patient, with the 7-day vs 28-day trend."""
    boot()
    from django.utils import timezone

    from kratomwatch import access
    from kratomwatch.core import exposure as core_exposure
    from kratomwatch.records.summary import exposure_summary

    with reporting(as_json=as_json):
        day = parse_date("as_of", as_of)
        patient = access.get_patient_for(operator(), patient_code, actor=operator_actor(), purpose="exposure")
    if day is None:
        day = timezone.now().astimezone(core_exposure.zone(patient.time_zone)).date()
    summary = exposure_summary(patient, day, days)
    if as_json:
        console.print_json(json.dumps(summary, default=str))
        return
    table = Table(title=f"{patient.code}: daily exposure ({patient.time_zone})")
    for col in ("day", "mg mitragynine", "mg 7-OH", "doses", "unknown", "first dose"):
        table.add_column(col, justify="right")
    for d in summary["days"]:
        first = d["first_dose_minute"]
        table.add_row(
            str(d["day"]),
            f"{d['mitragynine_mg']:.1f}",
            f"{d['seven_oh_mg']:.2f}",
            str(d["doses"]),
            str(d["unknown_doses"]),
            "-" if first is None else f"{first // 60:02d}:{first % 60:02d}",
        )
    console.print(table)
    t = summary["trend"]
    ratio = "n/a (no baseline)" if t["ratio"] is None else f"{t['ratio']:.2f}"
    console.print(
        f"7-day mean {t['recent_mean_mg']:.1f} mg/day vs 28-day baseline {t['baseline_mean_mg']:.1f} "
        f"mg/day (ratio {ratio})"
    )
    console.print(summary["note"], style="dim")


# --- import --------------------------------------------------------------------------------------------------


def import_doses(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file")],
    allow_partial: bool = typer.Option(False, help="Write the valid rows even if some are rejected"),
) -> None:
    """Import doses from CSV (columns: patient_code, lot_id, taken_at, amount, unit[, source, idempotency_key]).

    The file is one transaction: by default any rejected row means nothing is written. Re-running the
    same file creates nothing new; a row that reuses an idempotency key for a different dose (in the file or
    already stored) is rejected. Historical imports are not gated by care consent: rows of patients whose care
    consent is not active are written, with a warning.
    """
    boot()
    from kratomwatch import access
    from kratomwatch.consent.status import with_active_scope
    from kratomwatch.records import actions

    with reporting():
        rows, parse_errors = parse_dose_rows(file)
    codes = {d.patient_code for _, d in rows}
    found = access.patients_for(operator()).filter(code__in=codes)
    patients = {p.code: p for p in found}
    no_consent = set(patients) - set(with_active_scope(found, "care").values_list("code", flat=True))
    unconsented_rows = sum(1 for _, d in rows if d.patient_code in no_consent)
    if unconsented_rows:
        err.print(
            f"warning: {unconsented_rows} {'row concerns' if unconsented_rows == 1 else 'rows concern'} "
            "patients whose care consent is not active: "
            f"{', '.join(sorted(no_consent))} (historical imports are not gated by consent)",
            markup=False,
        )
    with progress() as bar:
        task = bar.add_task(f"importing {file.name}", total=len(rows) + len(parse_errors))
        result = actions.import_doses(
            actor=operator_actor(),
            rows=rows,
            patients=patients,
            rejected=parse_errors,
            allow_partial=allow_partial,
            without_care_consent=no_consent,
        )
        bar.update(task, completed=len(rows) + len(parse_errors))
    rejected = sorted(result.rejected, key=lambda r: r[0])
    for line, problem in rejected[:50]:
        err.print(f"line {line}: {problem.field}={problem.value!r}: {problem.message}", markup=False)
    if len(rejected) > 50:
        err.print(f"... and {len(rejected) - 50} more rejected rows")
    console.print(
        f"created {result.created}, skipped {result.skipped}, rejected {len(rejected)}"
        + (" (nothing written: fix the rejected rows or use --allow-partial)" if rejected and not allow_partial else "")
    )
    if rejected:
        raise typer.Exit(1)


# --- export --------------------------------------------------------------------------------------------------


def export_doses(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output CSV (default: stdout)")] = None,
    program: Annotated[str | None, typer.Option(help="Program slug")] = None,
) -> None:
    """Export doses as CSV for the care team: IDENTIFIED care data (patient codes), not a research export.

    Every dose you may see (voided doses left out), amounts and mg rounded to 3 decimals; streams, and is
    re-importable with `kratomwatch import doses`. It does not apply research consent: de-identified research
    exports are a separate, later feature. Audited as an export."""
    boot()
    from kratomwatch import access

    who = operator()
    patients = access.patients_for(who)
    program_id: int | None = None
    if program:
        found = access.programs_for(who).filter(slug=program).values_list("pk", flat=True).first()
        if found is None:
            fail(InputError("program", program, f"program {program!r} not found"))
        program_id = found
        patients = patients.filter(program_id=program_id)
    with _output(out) as handle:
        count = write_doses_csv(handle, patients)
    access.audit_list(who, "doses.export", actor=operator_actor(), count=count, program_id=program_id)
    if out:
        console.print(f"exported {count} doses to {out}")


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    if out is None:
        yield sys.stdout
        return
    with out.open("w", newline="", encoding="utf-8") as handle:
        yield handle


def register(app: typer.Typer) -> None:
    app.command()(exposure)
    app.command()(dose)
    import_app.command("doses")(import_doses)
    export_app.command("doses")(export_doses)
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
