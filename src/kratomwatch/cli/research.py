"""``kratomwatch research export``: the de-identified, consent-filtered research export (``research/export.py``);
``research snapshot``, ``research cohort save|list`` and ``research analyse``: cohort analytics on the program's
analysis snapshot (``research/snapshot.py``, ``research/cohort.py``; the same report as the API and the web).

The operator's patients come from ``kratomwatch.access`` (the registry, as staff see it), narrowed to ``--program``;
the export keeps only those with active research consent. The project secret is read from the server's environment
(``KRATOMWATCH_RESEARCH_SECRET``, or ``KRATOMWATCH_RESEARCH_SECRET_<PROGRAM>``; docs/research.md). Bad input
(unknown program or format, k below 2, an output directory that is not empty, no secret) is one line naming the
option and its value, exit 2. Audited as ``research.export`` (who, program, counts; no identifiers).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from kratomwatch.cli import boot, console, operator, operator_actor, progress, reporting
from kratomwatch.core import deid
from kratomwatch.core.errors import InputError

if TYPE_CHECKING:
    from kratomwatch.accounts.models import Program

research_app = typer.Typer(help="De-identified research exports and cohort analytics.", no_args_is_help=True)
cohort_app = typer.Typer(help="Saved cohorts (filter definitions) of a program.", no_args_is_help=True)
research_app.add_typer(cohort_app, name="cohort")


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


# --- cohort analytics ---------------------------------------------------------------------------------------------

ProgramOpt = Annotated[str, typer.Option("--program", help="Program slug")]
ConditionOpt = Annotated[list[str] | None, typer.Option("--condition", help="Condition (any of; repeat)")]
JurisdictionOpt = Annotated[list[str] | None, typer.Option("--jurisdiction", help="Jurisdiction (any of; repeat)")]
AgeBandOpt = Annotated[list[str] | None, typer.Option("--age-band", help="Age band as exported (any of; repeat)")]
SexOpt = Annotated[list[str] | None, typer.Option("--sex", help="Sex (any of; repeat)")]
MinMgOpt = Annotated[float | None, typer.Option("--exposure-min-mg", help="Mean daily mitragynine mg, days 0-27")]
MaxMgOpt = Annotated[float | None, typer.Option("--exposure-max-mg", help="Mean daily mitragynine mg, days 0-27")]
FromYearOpt = Annotated[int | None, typer.Option("--enrolled-from-year", help="Enrolled in or after this year")]
ToYearOpt = Annotated[int | None, typer.Option("--enrolled-to-year", help="Enrolled in or before this year")]
BaselineOpt = Annotated[str | None, typer.Option("--baseline-instrument", help="Instrument of the baseline filter")]
BaseMinOpt = Annotated[float | None, typer.Option("--baseline-min", help="Baseline score at least")]
BaseMaxOpt = Annotated[float | None, typer.Option("--baseline-max", help="Baseline score at most")]

#: The commands' filter parameters -> the filter keys they set.
PARAMS = {
    "condition": "conditions",
    "jurisdiction": "jurisdictions",
    "age_band": "age_bands",
    "sex": "sexes",
    **{key: key for key in ("exposure_min_mg", "exposure_max_mg", "enrolled_from_year", "enrolled_to_year")},
    **{key: key for key in ("baseline_instrument", "baseline_min", "baseline_max")},
}
#: Filter key -> the option that sets it (errors name the option).
OPTIONS = {
    "conditions": "--condition",
    "jurisdictions": "--jurisdiction",
    "age_bands": "--age-band",
    "sexes": "--sex",
    "exposure_min_mg": "--exposure-min-mg",
    "exposure_max_mg": "--exposure-max-mg",
    "enrolled_from_year": "--enrolled-from-year",
    "enrolled_to_year": "--enrolled-to-year",
    "baseline_instrument": "--baseline-instrument",
    "baseline_min": "--baseline-min",
    "baseline_max": "--baseline-max",
}


def _definition(values: dict[str, Any]) -> dict[str, Any]:
    """The filters given on the command line (parameter name -> value), checked (``InputError`` naming the
    option)."""
    from kratomwatch.research.cohort import check_definition

    given = {PARAMS[name]: value for name, value in values.items() if value not in (None, [])}
    try:
        return check_definition(given).filters()
    except InputError as problem:
        option = OPTIONS.get(problem.field, problem.field)
        raise InputError(option, problem.value, problem.message.replace(problem.field, option)) from None


def _research_program(slug: str) -> Program:
    from kratomwatch import access

    chosen = access.research_programs_for(operator()).filter(slug=slug).first()
    if chosen is None:
        raise InputError("--program", slug, f"program {slug!r} not found")
    return chosen


@research_app.command("snapshot")
def snapshot(
    program: ProgramOpt,
    k: Annotated[int, typer.Option("--k", help="k-anonymity of the snapshot and its reports")] = deid.DEFAULT_K,
) -> None:
    """Build a new analysis snapshot of the program (a de-identified study-day export; the last 3 are kept)."""
    boot()
    from kratomwatch import access
    from kratomwatch.research import snapshot as research_snapshot

    with reporting():
        deid.check_k(k)
        chosen = _research_program(program)
        patients = access.research_patients_for(operator(), chosen)
        with progress() as bar:
            task = bar.add_task("analysis snapshot", total=len(research_snapshot.STEPS))

            def step(name: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"analysis snapshot: {name}")

            snap = research_snapshot.build(
                patients, program=chosen, actor=operator_actor(), k=k, now=dt.datetime.now(dt.UTC), progress=step
            )
    console.print(
        f"snapshot {snap.snapshot_id} of {chosen.slug}: {snap.counts.get('included', 0)} participants "
        f"({snap.counts.get('excluded_without_research_consent', 0)} without active research consent left out, "
        f"{snap.counts.get('withheld_small_cells', 0)} withheld for k-anonymity), k = {snap.k}, "
        f"checksum {snap.checksum}",
        markup=False,
        highlight=False,
    )


@cohort_app.command("save")
def cohort_save(
    program: ProgramOpt,
    name: Annotated[str, typer.Option("--name", help="Cohort name (unique in the program)")],
    condition: ConditionOpt = None,
    jurisdiction: JurisdictionOpt = None,
    age_band: AgeBandOpt = None,
    sex: SexOpt = None,
    exposure_min_mg: MinMgOpt = None,
    exposure_max_mg: MaxMgOpt = None,
    enrolled_from_year: FromYearOpt = None,
    enrolled_to_year: ToYearOpt = None,
    baseline_instrument: BaselineOpt = None,
    baseline_min: BaseMinOpt = None,
    baseline_max: BaseMaxOpt = None,
) -> None:
    """Save a named cohort definition (filters) for the program."""
    given = dict(locals())
    boot()
    from kratomwatch.research import actions as research_actions

    with reporting():
        chosen = _research_program(program)
        filters = _definition({key: value for key, value in given.items() if key in PARAMS})
        try:
            saved = research_actions.create_cohort(
                actor=operator_actor(), program=chosen, name=name, definition=filters
            )
        except InputError as problem:
            raise InputError(f"--{problem.field}", problem.value, problem.message) from None
    console.print(f"saved cohort {saved.name!r} ({json.dumps(saved.definition)})", markup=False, highlight=False)


@cohort_app.command("list")
def cohort_list(program: ProgramOpt) -> None:
    """The program's saved cohorts and their filters."""
    boot()
    from kratomwatch import access

    with reporting():
        chosen = _research_program(program)
        cohorts = list(access.research_cohorts_for(operator()).filter(program=chosen).order_by("name"))
    table = Table(title=f"Cohorts of {chosen.slug}")
    for column in ("id", "name", "filters", "updated (UTC)"):
        table.add_column(column)
    for c in cohorts:
        table.add_row(
            str(c.pk), c.name, json.dumps(c.definition), c.updated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
        )
    console.print(table)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(title: str, frame: Any, columns: list[str] | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    names = columns or list(frame.columns)
    for name in names:
        table.add_column(name)
    for row in frame.select(names).iter_rows():
        table.add_row(*[_fmt(v, 3 if n in ("p_value", "survival") else 2) for n, v in zip(names, row, strict=True)])
    return table


def print_report(report: dict[str, Any], tables: dict[str, Any]) -> None:
    """The report as Rich tables (the same numbers as the JSON and the CSV files)."""
    head = report["cohort"]
    data = report["data"]
    n = "withheld (< k)" if head["n"] is None else head["n"]
    console.print(
        f"Cohort {head['name']!r}: n = {n}; filters {json.dumps(head['definition'])}\n"
        f"Snapshot {data['snapshot_id']} of {data['program']} (research consent as of {data['consent_as_of']}), "
        f"k = {data['k']}, checksum {data['checksum']}",
        markup=False,
        highlight=False,
    )
    console.print(report["caveat"], markup=False, highlight=False, style="italic")
    if head.get("reason"):
        console.print(f"Nothing to show: {head['reason']}", markup=False, highlight=False)
        return
    console.print(_table("Participants", tables["description"]))
    console.print(_table("Baseline scores (first valid score, study days -14..+7)", tables["baseline"]))
    console.print(_table("Exposure", tables["exposure"]))
    cols = ["instrument", "week", "n", "mean", "lower", "upper", "suppressed"]
    console.print(_table("Weekly means with 95% intervals", tables["trajectories"], cols))
    responders = report["responders"]
    if responders:
        title = (
            f"IMMPACT responders, {responders['label']}, week {responders['week']} (evaluable "
            f"{_fmt(responders['evaluable'])}, no baseline {_fmt(responders['no_baseline'])}, missing at the week "
            f"{_fmt(responders['missing_at_week'])})"
        )
        cols = ["threshold", "responders", "n", "proportion", "lower", "upper", "suppressed"]
        console.print(_table(title, tables["responders"], cols))
    model = report["exposure_outcome"]
    if model:
        cols = ["status", "coefficient", "lower", "upper", "p_value", "n_participants", "n_observations"]
        console.print(
            _table(f"Exposure and outcome: {model['formula']} (per {model['per']})", tables["exposure_outcome"], cols)
        )
        console.print(model["reason"] or model["note"], markup=False, highlight=False)
    summary = [{k: e[k] for k in ("event", "n", "events", "censored", "median_days")} for e in report["time_to_event"]]
    if summary:
        import polars as pl

        console.print(_table("Time to event (Kaplan-Meier; days since enrolment)", pl.DataFrame(summary)))
    cols = ["by", "group", "events", "rate", "lower", "upper", "suppressed"]
    months = report["ae_incidence"]["patient_months"]
    console.print(
        _table(f"Adverse events per 100 patient-months ({months:.1f} patient-months)", tables["ae_incidence"], cols)
    )


@research_app.command("analyse")
def analyse(
    program: ProgramOpt,
    cohort: Annotated[str | None, typer.Option("--cohort", help="A saved cohort's name (instead of filters)")] = None,
    week: Annotated[int, typer.Option("--week", help="Week of the responder analysis (0 = days 0-6)")] = 12,
    instrument: Annotated[str, typer.Option("--instrument", help="Responder instrument: peg or pain_nrs")] = "peg",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    csv_dir: Annotated[Path | None, typer.Option("--csv", help="Write the report's tables as CSV files here")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the report as a PDF file (charts included)")] = None,
    condition: ConditionOpt = None,
    jurisdiction: JurisdictionOpt = None,
    age_band: AgeBandOpt = None,
    sex: SexOpt = None,
    exposure_min_mg: MinMgOpt = None,
    exposure_max_mg: MaxMgOpt = None,
    enrolled_from_year: FromYearOpt = None,
    enrolled_to_year: ToYearOpt = None,
    baseline_instrument: BaselineOpt = None,
    baseline_min: BaseMinOpt = None,
    baseline_max: BaseMaxOpt = None,
) -> None:
    """Analyse a cohort (saved, or given by filters) on the program's newest analysis snapshot."""
    given = dict(locals())
    boot()
    from kratomwatch import access
    from kratomwatch.research import snapshot as research_snapshot

    with reporting(as_json=as_json):
        chosen = _research_program(program)
        filters = _definition({key: value for key, value in given.items() if key in PARAMS})
        name, cohort_id = "Unsaved cohort", None
        if cohort is not None:
            if filters:
                raise InputError("--cohort", cohort, "give either --cohort or filter options, not both")
            saved = access.research_cohorts_for(operator()).filter(program=chosen, name=cohort).first()
            if saved is None:
                raise InputError("--cohort", cohort, f"program {chosen.slug!r} has no cohort named {cohort!r}")
            filters, name, cohort_id = saved.definition, saved.name, saved.pk
        try:
            result = research_snapshot.report(
                chosen,
                filters,
                actor=operator_actor(),
                week=week,
                instrument=instrument,
                name=name,
                cohort_id=cohort_id,
            )
        except InputError as problem:
            field = OPTIONS.get(
                problem.field,
                {"week": "--week", "instrument": "--instrument", "snapshot": "--program"}.get(problem.field),
            )
            raise InputError(field or problem.field, problem.value, problem.message) from None
        tables = result.tables()
        if pdf is not None and not pdf.parent.is_dir():
            raise InputError("--pdf", str(pdf), "the folder for the PDF does not exist")
        if csv_dir is not None:
            _write_csv(csv_dir, tables)
        report = result.to_dict()
        if pdf is not None:
            _write_pdf(pdf, report)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    print_report(report, tables)
    if csv_dir is not None:
        console.print(f"tables written to {csv_dir}", markup=False, highlight=False)
    if pdf is not None:
        console.print(f"report written to {pdf}", markup=False, highlight=False)


@research_app.command("nof1-pool")
def nof1_pool(
    program: ProgramOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Completed n-of-1 trials of one design pooled across participants on the program's newest analysis snapshot
    (groups and conditions below the snapshot's k withheld)."""
    boot()
    from kratomwatch.research import nof1_pool as research_nof1_pool

    with reporting(as_json=as_json):
        chosen = _research_program(program)
        try:
            report = research_nof1_pool.report(chosen, actor=operator_actor()).to_dict()
        except InputError as problem:
            field = "--program" if problem.field == "snapshot" else problem.field
            raise InputError(field, problem.value, problem.message) from None
    if as_json:
        print(json.dumps(report, indent=2))
        return
    print_nof1_pool(report)


def print_nof1_pool(report: dict[str, Any]) -> None:
    """The pooled report as one table per design group, with its caveat."""
    data = report["data"]
    console.print(
        f"snapshot {data['snapshot_id']} of {data['program']} (k = {report['k']}): "
        f"{report['trials_in_snapshot']} ended n-of-1 trial(s)",
        markup=False,
        highlight=False,
    )
    if report["reason"]:
        console.print(report["reason"], markup=False, highlight=False)
    for group in report["groups"]:
        design = group["design"]
        title = (
            f"{group['design_key']}: {design['primary_instrument']} "
            f"({'lower' if design['lower_is_better'] else 'higher'} is better), reference {design['reference']}"
        )
        if group["suppressed"]:
            console.print(f"{title}: {group['reason']}", markup=False, highlight=False)
            continue
        table = Table(title=f"{title}; {group['n_participants']} participants", title_justify="left")
        for column in ("condition", "n", "mean (95 % interval)", "P(better)", "tau (95 %)", "new patient", "DL mean"):
            table.add_column(column)
        for c in group["conditions"]:
            if c["suppressed"]:
                table.add_row(c["condition"], "withheld", c["reason"], "", "", "", "")
                continue
            mu, tau, new, dl = c["mu"], c["tau"], c["predictive"], c["der_simonian_laird"]
            table.add_row(
                c["condition"],
                str(c["n_participants"]),
                f"{_fmt(mu['mean'])} ({_fmt(mu['interval_95'][0])} to {_fmt(mu['interval_95'][1])})",
                _fmt(mu["prob_better"]),
                f"{_fmt(tau['median'])} ({_fmt(tau['interval_95'][0])} to {_fmt(tau['interval_95'][1])})",
                f"{_fmt(new['mean'])} ({_fmt(new['interval_95'][0])} to {_fmt(new['interval_95'][1])})",
                f"{_fmt(dl['mean'])} ({_fmt(dl['interval_95'][0])} to {_fmt(dl['interval_95'][1])})",
            )
        console.print(table)
        console.print(group["caveat"], markup=False, highlight=False)
    console.print(report["method"], markup=False, highlight=False)


def _write_pdf(target: Path, report: dict[str, Any]) -> None:
    """The report as PDF (``research/report_pdf.py``, the same as the web page's download), written beside and
    renamed into place: no half-written file."""
    from kratomwatch.research import report_pdf

    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_bytes(report_pdf.render(report))
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError("--pdf", str(target), f"cannot write the file: {exc.strerror}") from None


def _write_csv(folder: Path, tables: dict[str, Any]) -> None:
    """One CSV per table of the report (written beside, then renamed: no half-written file)."""
    from kratomwatch.research import export as research_export

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("--csv", str(folder), f"cannot create the directory: {exc.strerror}") from None
    if not folder.is_dir():
        raise InputError("--csv", str(folder), "not a directory")
    for name, frame in tables.items():
        target = folder / f"{name}.csv"
        partial = folder / f".{name}.csv.partial"
        partial.write_bytes(research_export.csv_bytes(frame))
        partial.replace(target)


def register(app: typer.Typer) -> None:
    app.add_typer(research_app, name="research")
