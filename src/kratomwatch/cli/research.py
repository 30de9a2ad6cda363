"""``kratomwatch research export``: the de-identified, consent-filtered research export (``research/export.py``).

The operator's patients come from ``kratomwatch.access`` (the registry, as staff see it), narrowed to ``--program``;
the export keeps only those with active research consent. The project secret is read from the server's environment
(``KRATOMWATCH_RESEARCH_SECRET``, or ``KRATOMWATCH_RESEARCH_SECRET_<PROGRAM>``; docs/research.md). Bad input
(unknown program or format, k below 2, an output directory that is not empty, no secret) is one line naming the
option and its value, exit 2. Audited as ``research.export`` (who, program, counts; no identifiers).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from kratomwatch.cli import boot, console, operator, operator_actor, progress, reporting
from kratomwatch.core import deid
from kratomwatch.core.errors import InputError

research_app = typer.Typer(help="De-identified research exports.", no_args_is_help=True)


@research_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="New (or empty) directory to write the export into")],
    program: Annotated[str | None, typer.Option(help="Program slug (default: every program)")] = None,
    formats: Annotated[
        str, typer.Option("--format", help="csv, parquet and/or fhir (FHIR R4 NDJSON), comma separated")
    ] = "csv,parquet",
    dates: Annotated[str, typer.Option(help="shifted (per-participant offset) or study-days")] = "shifted",
    k: Annotated[int, typer.Option("--k", help="k-anonymity on age band, sex, jurisdiction, conditions")] = 5,
    project: Annotated[
        str | None, typer.Option(help="Export project: exports of one project link (default: the program slug)")
    ] = None,
) -> None:
    """Export the research-consented participants' data, de-identified (Safe Harbor, k-anonymity), as CSV, Parquet
    and/or FHIR R4 Bulk Data NDJSON with a manifest, a README and a REDCap data dictionary."""
    boot()
    from kratomwatch import access
    from kratomwatch.research import export as research_export

    with reporting():
        deid.check_k(k)
        request = research_export.ExportRequest(
            out=out.absolute(),
            project=project or program or "all-programs",
            now=dt.datetime.now(dt.UTC),
            formats=research_export.parse_formats(formats),
            dates=dates,
            k=k,
        )
        research_export.check_request(request)
        who = operator()
        patients = access.patients_for(who)
        chosen = None
        if program is not None:
            chosen = access.programs_for(who).filter(slug=program).first()
            if chosen is None:
                raise InputError("program", program, f"program {program!r} not found")
            patients = patients.filter(program=chosen)
        secret = research_export.project_secret(chosen)
        with progress() as bar:
            task = bar.add_task("research export", total=len(research_export.STEPS))

            def step(name: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"research export: {name}")

            result = research_export.export(
                patients, request, actor=operator_actor(), secret=secret, program=chosen, progress=step
            )
    console.print(
        f"exported {result.included} participants ({result.excluded} without active research consent left out, "
        f"{result.withheld} withheld for k-anonymity) to {result.out}",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(research_app, name="research")
