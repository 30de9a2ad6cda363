"""The ``kratomwatch`` command line. Thin commands over actions (writes), access/queries (reads) and core."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kratomwatch import cli_alerts, cli_audit, cli_knowledge, program_defaults
from kratomwatch.core import units
from kratomwatch.core.errors import InputError

app = typer.Typer(
    help="kratomwatch: clinical monitoring of kratom use. It never recommends a dose.",
    no_args_is_help=True,
    add_completion=False,
)
import_app = typer.Typer(help="Import data files (idempotent; each file is one transaction).", no_args_is_help=True)
export_app = typer.Typer(help="Export data files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

console = Console()
err = Console(stderr=True)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")
    import django

    django.setup()


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def cli_actor() -> Any:
    from kratomwatch.audit.log import Actor

    return Actor.system(f"cli:{getpass.getuser()}")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    console.print("database is up to date")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the site and API (development server; use a WSGI server such as gunicorn in production)."""
    setup_django()
    from django.core.management import call_command

    call_command("runserver", f"{host}:{port}", use_reloader=False)


@app.command()
def demo(
    patients: int = typer.Option(36, min=30, max=5000, help="Number of synthetic patients"),
    days: int = typer.Option(90, min=30, max=730, help="Days of history"),
    seed: int = 20261121,
) -> None:
    """Load the synthetic demo program (idempotent: a second run changes nothing) and print the logins."""
    setup_django()
    from kratomwatch.records.demo import DEMO_LOGINS, load_demo

    with _progress() as progress:
        task = progress.add_task("demo data", total=None)
        summary = load_demo(
            patients=patients,
            days=days,
            seed=seed,
            step=lambda n, total: progress.update(task, completed=n, total=total),
        )
    console.print(
        f"demo program: {summary['program']} ({summary['status']}): {summary['patients']} patients, "
        f"{summary['doses']} doses"
    )
    table = Table(title="Demo logins (synthetic data only)")
    for col in ("username", "password", "role"):
        table.add_column(col)
    for username, password, role in DEMO_LOGINS:
        table.add_row(username, password, role)
    console.print(table)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


DOSE_COLUMNS = ("patient_code", "lot_id", "taken_at", "amount", "unit")


def parse_dose_rows(path: Path) -> tuple[list[tuple[int, Any]], list[tuple[int, InputError]]]:
    """Parse a dose CSV into DoseIn rows; malformed rows are returned as errors with their line."""
    from kratomwatch.records.actions import DoseIn

    rows: list[tuple[int, Any]] = []
    errors: list[tuple[int, InputError]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in DOSE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                "header",
                ",".join(reader.fieldnames or []),
                f"{path.name}: missing required column(s): {', '.join(missing)}",
            )
        for line, raw in enumerate(reader, start=2):
            try:
                rows.append((line, _dose_row(raw, DoseIn)))
            except InputError as exc:
                errors.append((line, exc))
    return rows, errors


def _dose_row(raw: dict[Any, Any], dose_in: Any) -> Any:
    if None in raw:
        raise InputError("row", raw[None], "row has more fields than the header")
    values = {k: (v or "").strip() for k, v in raw.items() if k is not None}
    try:
        lot_id = int(values["lot_id"])
    except ValueError:
        raise InputError("lot_id", values["lot_id"], f"lot_id {values['lot_id']!r} is not an integer") from None
    try:
        taken_at = dt.datetime.fromisoformat(values["taken_at"])
    except ValueError:
        raise InputError(
            "taken_at", values["taken_at"], f"taken_at {values['taken_at']!r} is not an ISO 8601 timestamp"
        ) from None
    if taken_at.tzinfo is None:
        raise InputError("taken_at", values["taken_at"], f"taken_at {values['taken_at']!r} has no UTC offset")
    try:
        amount = float(values["amount"])
    except ValueError:
        raise InputError("amount", values["amount"], f"amount {values['amount']!r} is not a number") from None
    return dose_in(
        patient_code=values["patient_code"],
        lot_id=lot_id,
        taken_at=taken_at,
        amount=amount,
        unit=values["unit"],
        source=values.get("source") or "import",
        idempotency_key=values.get("idempotency_key") or None,
    )


@import_app.command("doses")
def import_doses(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file")],
    allow_partial: bool = typer.Option(False, help="Write the valid rows even if some are rejected"),
) -> None:
    """Import doses from CSV (columns: patient_code, lot_id, taken_at, amount, unit[, source, idempotency_key]).

    The file is one transaction: by default any rejected row means nothing is written. Re-running the
    same file creates nothing new.
    """
    setup_django()
    from kratomwatch.records import actions

    try:
        rows, parse_errors = parse_dose_rows(file)
    except InputError as header_error:
        fail(header_error.message)
        return
    with _progress() as progress:
        task = progress.add_task(f"importing {file.name}", total=len(rows) + len(parse_errors))
        result = actions.import_doses(actor=cli_actor(), rows=rows, rejected=parse_errors, allow_partial=allow_partial)
        progress.update(task, completed=len(rows) + len(parse_errors))
    rejected = sorted(result.rejected, key=lambda r: r[0])
    for line, problem in rejected[:50]:
        err.print(f"line {line}: {problem.field}={problem.value!r}: {problem.message}")
    if len(rejected) > 50:
        err.print(f"... and {len(rejected) - 50} more rejected rows")
    console.print(
        f"created {result.created}, skipped {result.skipped}, rejected {len(rejected)}"
        + (" (nothing written: fix the rejected rows or use --allow-partial)" if rejected and not allow_partial else "")
    )
    if rejected:
        raise typer.Exit(1)


EXPORT_COLUMNS = (
    "patient_code",
    "lot_id",
    "taken_at",
    "amount",
    "unit",
    "source",
    "idempotency_key",
    "local_date",
    "mitragynine_mg",
    "seven_oh_mg",
    "basis",
    "mitragynine_low_mg",
    "mitragynine_high_mg",
    "seven_oh_share_percent",
    "enhanced",
    "product_form",
)


@export_app.command("doses")
def export_doses(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output CSV (default: stdout)")] = None,
    program: Annotated[str | None, typer.Option(help="Program slug")] = None,
) -> None:
    """Export doses as CSV (streams; re-importable with `kratomwatch import doses`)."""
    setup_django()
    from kratomwatch.audit.log import record
    from kratomwatch.records.models import Dose

    qs = Dose.objects.order_by("patient__code", "taken_at")
    if program:
        qs = qs.filter(patient__program__slug=program)
    fields = (
        "patient__code",
        "lot_id",
        "taken_at",
        "amount",
        "unit",
        "source",
        "idempotency_key",
        "local_date",
        "mitragynine_mg",
        "seven_oh_mg",
        "basis",
        "mitragynine_low_mg",
        "mitragynine_high_mg",
        "seven_oh_share_percent",
        "enhanced",
        "lot__product__form",
    )
    handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        batch: list[Any] = []
        for row in qs.values_list(*fields).iterator(chunk_size=5000):
            batch.append((row[0], row[1], row[2].isoformat(), *row[3:]))
            if len(batch) >= 5000:
                writer.writerows(batch)
                count += len(batch)
                batch.clear()
        writer.writerows(batch)
        count += len(batch)
    finally:
        if out:
            handle.close()
    record(cli_actor(), "dose.export", object_type="dose", detail={"rows": count, "program": program})
    if out:
        console.print(f"exported {count} doses to {out}")


@app.command()
def exposure(
    patient_code: str,
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today in the patient's zone)")] = None,
    days: int = typer.Option(14, min=1, max=366),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Daily mg mitragynine and 7-OH for a patient, with the 7-day vs 28-day trend."""
    setup_django()
    from django.utils import timezone

    from kratomwatch.audit.log import record
    from kratomwatch.core import exposure as core_exposure
    from kratomwatch.records.models import Patient
    from kratomwatch.records.summary import exposure_summary

    patient = Patient.objects.filter(code=patient_code).first()
    if patient is None:
        fail(f"patient_code {patient_code!r}: no such patient")
        return
    try:
        day = (
            dt.date.fromisoformat(as_of)
            if as_of
            else timezone.now().astimezone(core_exposure.zone(patient.time_zone)).date()
        )
    except ValueError:
        fail(f"as_of {as_of!r} is not a date (YYYY-MM-DD)")
        return
    record(
        cli_actor(),
        "patient.read.exposure",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
    )
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


@app.command()
def createuser(
    username: str,
    role: Annotated[str, typer.Option(help="clinician, program_admin, researcher, patient or staff")] = "clinician",
    program: Annotated[str | None, typer.Option(help="Program slug (for program roles)")] = None,
    patient_code: Annotated[str | None, typer.Option(help="Patient code (for role patient)")] = None,
    token: Annotated[bool, typer.Option(help="Also create an API token and print it once")] = False,
) -> None:
    """Create a user. The password is read from KRATOMWATCH_PASSWORD or prompted for."""
    setup_django()
    from kratomwatch.accounts.actions import create_user

    password = os.environ.get("KRATOMWATCH_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    try:
        user, raw = create_user(
            actor=cli_actor(),
            username=username,
            password=password,
            role=role,
            program_slug=program,
            patient_code=patient_code,
            with_token=token,
        )
    except InputError as exc:
        fail(f"{exc.field}={exc.value!r}: {exc.message}")
        return
    console.print(f"created user {user.get_username()} ({role})")
    if raw:
        console.print(f"API token (shown once): {raw}")


@app.command()
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
    from kratomwatch.knowledge.loader import leaf_reference

    try:
        parsed_form = units.parse_form(form)
        parsed_unit = units.parse_unit(unit)
        cert = None
        if (mitragynine is None) != (seven_oh is None):
            raise InputError(
                "seven_oh" if seven_oh is None else "mitragynine",
                None,
                "a certificate needs both --mitragynine and --seven-oh",
            )
        if mitragynine is not None and seven_oh is not None:
            cert = units.Certificate(mitragynine, seven_oh, units.parse_content_unit(content_unit))
        potency = units.Potency(parsed_form, cert, unit_mass_mg, grams_per_teaspoon)
        ref = leaf_reference().mitragynine_mg_per_g
        point, low, high = program_defaults.grams_per_teaspoon()
        result = units.compute_dose_mg(
            amount,
            parsed_unit,
            potency,
            leaf_reference=units.LeafContent(
                units.Range(ref.point, ref.low, ref.high), leaf_reference().seven_oh_quantified
            ),
            volumetric_default=units.Range(point, low, high),
            seven_oh_cap_percent=seven_oh_cap,
        )
    except InputError as exc:
        if as_json:
            print(json.dumps({"error": {"code": exc.code, "message": exc.message, "field": exc.field}}))
            raise typer.Exit(2) from None
        fail(f"{exc.field}={exc.value!r}: {exc.message}")
        return
    payload = {
        "amount": amount,
        "unit": parsed_unit.value,
        "form": parsed_form.value,
        "mitragynine_mg": result.mitragynine_mg,
        "seven_oh_mg": result.seven_oh_mg,
        "basis": result.basis.value,
        "mitragynine_range_mg": None
        if result.mitragynine_range is None
        else [result.mitragynine_range.low, result.mitragynine_range.high],
        "seven_oh_range_mg": None
        if result.seven_oh_range is None
        else [result.seven_oh_range.low, result.seven_oh_range.high],
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


cli_knowledge.register(app)
cli_alerts.register(app)
cli_audit.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
