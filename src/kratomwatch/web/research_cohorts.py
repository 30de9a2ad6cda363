"""The researcher's cohort workspace: a program's saved cohorts, the analysis of one cohort, its charts (SVG and
PNG), its numbers (CSV, one per table, or all in a ZIP) and its PDF report; new, edit and delete.

Who: a researcher of the program, or staff (``access.get_research_program_for`` and
``access.get_research_cohort_for``): a clinician of the program gets 403, anyone else the same 404 as for a cohort
that does not exist. Analyses run only on the program's latest **analysis snapshot** (a de-identified research
export, ``research.snapshot``), never on identifiable rows: every number on these pages comes from the report of
``research.cohort.analyse`` (cells below k withheld), and no page shows a patient code or any other identifier. The
snapshot is refreshed as a background job followed on the job page. Every page states that these are observational
data that cannot establish efficacy. A bad filter is shown next to its field in words, with HTTP 400, and nothing is
saved.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import math
import re
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import kratomwatch
from kratomwatch import access
from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor
from kratomwatch.core import deid
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.demo.data import DEMO_SLUG
from kratomwatch.jobs import long_jobs, progress
from kratomwatch.research import actions, charts, report_pdf, snapshot
from kratomwatch.research import cohort as engine
from kratomwatch.research import export as research_export
from kratomwatch.research.models import Cohort
from kratomwatch.web.jobs import _row as job_row
from kratomwatch.web.jobs import _zone as clinic_zone
from kratomwatch.web.security import login_and_access

CHOICE_FILTERS = ("conditions", "sexes", "age_bands", "jurisdictions")
CHOICE_COLUMNS = {"conditions": "conditions", "sexes": "sex", "age_bands": "age_band", "jurisdictions": "jurisdiction"}
CHOICE_LABELS = {
    "conditions": "Conditions (any of)",
    "sexes": "Sex",
    "age_bands": "Age bands",
    "jurisdictions": "Jurisdictions (any of)",
}
VARIABLE_LABELS = {"age_band": "Age band", "sex": "Sex", "jurisdiction": "Jurisdiction", "condition": "Condition"}
NUMBER_FIELDS: dict[str, tuple[str, str, bool]] = {
    # key: (label, what to enter, whole number)
    "exposure_min_mg": (
        "Mean mitragynine, mg per day over study days 0-27: at least",
        "the lowest mean daily mitragynine in mg (0 or more)",
        False,
    ),
    "exposure_max_mg": (
        "Mean mitragynine, mg per day over study days 0-27: at most",
        "the highest mean daily mitragynine in mg (0 or more)",
        False,
    ),
    "enrolled_from_year": ("Enrolled in or after (year)", "a year such as 2025", True),
    "enrolled_to_year": ("Enrolled in or before (year)", "a year such as 2026", True),
    "baseline_min": ("Baseline score: at least", "the lowest baseline score (points)", False),
    "baseline_max": ("Baseline score: at most", "the highest baseline score (points)", False),
}
PAIRS = (
    ("exposure_min_mg", "exposure_max_mg", "The lowest mean daily dose is above the highest"),
    ("enrolled_from_year", "enrolled_to_year", "The first enrolment year is after the last"),
    ("baseline_min", "baseline_max", "The lowest baseline score is above the highest"),
)
BASELINE_INSTRUMENTS = engine.TRAJECTORY_INSTRUMENTS
CHART_NAME = re.compile(r"^(trajectory-(?P<instrument>[a-z0-9_]+)|survival-(?P<event>[a-z0-9_]+)|incidence|exposure)$")
CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# An SVG chart is an image: no script, and its own text styles (matplotlib writes them as style attributes).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the same bytes for the same report
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


# --- the analysis -------------------------------------------------------------------------------------------------


def _title(instrument_id: str) -> str:
    try:
        return ins.get(instrument_id).title
    except (KeyError, LookupError):
        return instrument_id


_REPORTS: dict[tuple[Any, ...], dict[str, Any]] = {}
_REPORTS_LOCK = threading.Lock()
_REPORTS_KEEP = 32


def cohort_report(
    cohort: Cohort, snap: snapshot.Snapshot, *, week: int = 12, instrument: str = "peg", actor: Actor | None = None
) -> dict[str, Any]:
    """The cohort's report on ``snap`` (the shared JSON shape of ``research.cohort``), audited as an analysis shown
    when ``actor`` is given (the page and each download of numbers; the chart images of a page are not audited
    again). The last few reports are kept in memory for the charts and downloads of the same page view; the key
    holds the snapshot's checksum and the definition, so a new snapshot or an edited cohort is analysed afresh."""
    if actor is not None:
        actions.record_analysis(
            actor=actor,
            program=cohort.program,
            snapshot_id=snap.snapshot_id,
            definition=engine.check_definition(cohort.definition),
            cohort_id=cohort.pk,
        )
    key = (
        snap.checksum,
        cohort.pk,
        cohort.name,
        json.dumps(cohort.definition, sort_keys=True),
        week,
        instrument,
    )
    with _REPORTS_LOCK:
        kept = _REPORTS.get(key)
    if kept is not None:
        return copy.deepcopy(kept)
    report = engine.analyse(
        snapshot.load(snap),
        engine.check_definition(cohort.definition),
        k=snap.k,
        responder_instrument=instrument,
        responder_week=week,
        name=cohort.name,
        cohort_id=cohort.pk,
    ).to_dict()
    with _REPORTS_LOCK:
        while len(_REPORTS) >= _REPORTS_KEEP:
            _REPORTS.pop(next(iter(_REPORTS)))
        _REPORTS[key] = report
    return copy.deepcopy(report)


def source_line(program: Program, report: Mapping[str, Any]) -> str:
    """The foot line of every chart: the data stamp, and "synthetic demo data" for the demo program."""
    line = charts.source_line(report)
    return f"Synthetic demo data. {line}" if program.slug == DEMO_SLUG else line


def _aware(iso: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def choices(snap: snapshot.Snapshot | None) -> dict[str, list[str]]:
    """The levels a filter can take, from the snapshot's (de-identified, generalised) participants."""
    if snap is None:
        return {key: [] for key in CHOICE_FILTERS}
    people = snapshot.load(snap).participants
    out: dict[str, list[str]] = {}
    for key in CHOICE_FILTERS:
        column = CHOICE_COLUMNS[key]
        if column not in people.columns:
            out[key] = []
            continue
        values = people.get_column(column).drop_nulls()
        if key == "conditions":
            values = values.str.split("|").explode()
        # "*" marks a value withheld for k-anonymity: it is not a level one can choose
        out[key] = sorted({str(v) for v in values.to_list() if str(v).strip() and str(v) != "*"})
    return out


# --- the form -----------------------------------------------------------------------------------------------------


@dataclass
class CohortForm:
    values: dict[str, Any]
    errors: dict[str, str]


def _initial(cohort: Cohort | None) -> dict[str, Any]:
    definition = cohort.definition if cohort is not None else {}
    values: dict[str, Any] = {"name": cohort.name if cohort is not None else ""}
    for key in CHOICE_FILTERS:
        values[key] = list(definition.get(key) or [])
    for key in NUMBER_FIELDS:
        value = definition.get(key)
        values[key] = "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    values["baseline_instrument"] = definition.get("baseline_instrument") or ""
    return values


def _number(key: str, text: str, errors: dict[str, str]) -> float | int | None:
    if not text:
        return None
    _, what, whole = NUMBER_FIELDS[key]
    try:
        value = float(text)
    except ValueError:
        errors[key] = f"Enter {what}."
        return None
    if not math.isfinite(value) or (whole and not value.is_integer()):
        errors[key] = f"Enter {what}."
        return None
    if key.startswith("exposure") and value < 0:
        errors[key] = f"Enter {what}: a dose cannot be negative."
        return None
    if whole and not 1900 <= value <= 2200:
        errors[key] = f"Enter {what} (between 1900 and 2200)."
        return None
    return int(value) if whole else value


def parse_form(post: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(values to show again, the definition, errors by field) from the cohort form."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"name": post.get("name", "").strip()}
    definition: dict[str, Any] = {}
    if not values["name"]:
        errors["name"] = "Give the cohort a name, for example 'Chronic pain, first year'."
    for key in CHOICE_FILTERS:
        values[key] = [v for v in post.getlist(key) if v.strip()]
        if values[key]:
            definition[key] = values[key]
    for key in NUMBER_FIELDS:
        values[key] = post.get(key, "").strip()
        number = _number(key, values[key], errors)
        if number is not None:
            definition[key] = number
    values["baseline_instrument"] = post.get("baseline_instrument", "").strip()
    if values["baseline_instrument"]:
        if values["baseline_instrument"] not in BASELINE_INSTRUMENTS:
            errors["baseline_instrument"] = "Choose one of the listed questionnaires."
        else:
            definition["baseline_instrument"] = values["baseline_instrument"]
    elif "baseline_min" in definition or "baseline_max" in definition:
        errors["baseline_instrument"] = "Choose which questionnaire's baseline score the limits apply to."
    for low, high, words in PAIRS:
        if low in definition and high in definition and definition[low] > definition[high] and low not in errors:
            errors[low] = f"{words} ({values[low]} and {values[high]}): swap them or leave one empty."
    return values, definition, errors


def _engine_error(exc: InputError) -> tuple[str, str]:
    """An error of the engine or the action, in the form's words, on the field it names."""
    field = exc.field
    if isinstance(exc, Conflict) and exc.field == "name":
        return "name", "This program already has a cohort with this name: choose another."
    if field in NUMBER_FIELDS:
        return field, f"Enter {NUMBER_FIELDS[field][1]}."
    if field in CHOICE_FILTERS:
        return field, f"{CHOICE_LABELS[field]}: choose from the listed values ({exc.message})."
    if field == "name":
        return "name", f"Name: {exc.message}."
    return field, exc.message


def _save(request: HttpRequest, program: Program, cohort: Cohort | None) -> tuple[Cohort | None, CohortForm]:
    values, definition, errors = parse_form(request.POST)
    saved: Cohort | None = None
    if not errors:
        actor = Actor.of(request.user)
        try:
            if cohort is None:
                saved = actions.create_cohort(actor=actor, program=program, name=values["name"], definition=definition)
            else:
                saved = actions.update_cohort(actor=actor, cohort=cohort, name=values["name"], definition=definition)
        except InputError as exc:
            if isinstance(exc, access.Forbidden | access.NotFound):
                raise
            field, message = _engine_error(exc)
            errors[field] = message
            saved = None
    return saved, CohortForm(values, errors)


def _form_context(snap: snapshot.Snapshot | None, form: CohortForm) -> dict[str, Any]:
    levels = choices(snap)
    numbers = [
        {
            "key": key,
            "label": label,
            "step": "1" if whole else "any",
            "value": form.values.get(key, ""),
            "error": form.errors.get(key),
        }
        for key, (label, _, whole) in NUMBER_FIELDS.items()
    ]
    choice_fields = []
    for key in CHOICE_FILTERS:
        chosen = set(form.values.get(key) or [])
        # a saved value no longer in the snapshot stays listed (and ticked), so it is not dropped silently
        options = sorted(set(levels[key]) | chosen)
        choice_fields.append(
            {
                "key": key,
                "label": CHOICE_LABELS[key],
                "options": [{"value": o, "checked": o in chosen} for o in options],
                "error": form.errors.get(key),
            }
        )
    return {
        "form": form,
        "choice_fields": choice_fields,
        "exposure_fields": [f for f in numbers if not str(f["key"]).startswith("baseline")],
        "baseline_fields": [f for f in numbers if str(f["key"]).startswith("baseline")],
        "baseline_choices": [(i, _title(i)) for i in BASELINE_INSTRUMENTS],
    }


# --- pages --------------------------------------------------------------------------------------------------------


def snapshot_status(program: Program, user: Any) -> dict[str, Any]:
    """The program's latest snapshot (when, in the clinic's zone) and the user's latest refresh job."""
    snap = snapshot.latest(program)
    jobs = [
        job_row(j)
        for j in progress.mine(user, kinds=(long_jobs.RESEARCH_SNAPSHOT,), limit=10)
        if long_jobs.meta(j.id).get("program_id") == program.pk
    ]
    return {
        "snapshot": snap,
        "snapshot_at": _aware(snap.created_at) if snap is not None else None,
        "refresh_job": jobs[0] if jobs else None,
        "missing_secret": long_jobs.research_secret_missing(program),
        "zone": clinic_zone(),
    }


def workspaces(user: Any) -> list[dict[str, Any]]:
    """For the researcher's home: each program in the user's research scope with its latest analysis snapshot
    (when) and its saved cohorts (names and links only)."""
    cohorts = list(access.research_cohorts_for(user).order_by("name"))
    out = []
    for program in access.research_programs_for(user).order_by("name"):
        snap = snapshot.latest(program)
        out.append(
            {
                "program": program,
                "snapshot": snap,
                "snapshot_at": _aware(snap.created_at) if snap is not None else None,
                "cohorts": [c for c in cohorts if c.program_id == program.pk],
            }
        )
    return out


def _caveat() -> str:
    return engine.CAVEAT


@login_and_access
@require_http_methods(["GET", "POST"])
def cohort_list(request: HttpRequest, program_id: int) -> HttpResponse:
    """The program's saved cohorts, the analysis data's date with its refresh button, and the new-cohort form."""
    program = access.get_research_program_for(request.user, program_id)
    status = snapshot_status(program, request.user)
    form = CohortForm(_initial(None), {})
    if request.method == "POST":
        saved, form = _save(request, program, None)
        if saved is not None:
            return redirect("research-cohort", cohort_id=saved.pk)
    context = {
        "program": program,
        "cohorts": access.research_cohorts_for(request.user).filter(program=program).order_by("name"),
        "caveat": _caveat(),
        "refresh_k": str(status["snapshot"].k if status["snapshot"] is not None else deid.DEFAULT_K),
        **status,
        **_form_context(status["snapshot"], form),
    }
    return render(request, "web/research/cohort_list.html", context, status=400 if form.errors else 200)


@login_and_access
@require_POST
def snapshot_refresh(request: HttpRequest, program_id: int) -> HttpResponse:
    """Start the refresh of the program's analysis snapshot as a background job and go to its page."""
    program = access.get_research_program_for(request.user, program_id)
    k_text = request.POST.get("k", "").strip() or str(deid.DEFAULT_K)
    errors: dict[str, str] = {}
    try:
        try:
            k = int(k_text)
        except ValueError:
            raise InputError("k", k_text, "") from None
        job = long_jobs.start_research_snapshot(user=request.user, program=program, k=k)
    except InputError as exc:
        if isinstance(exc, access.Forbidden | access.NotFound):
            raise
        if exc.field == "k":
            errors["k"] = f"Enter k as a whole number of at least {deid.MIN_K} (5 is the usual choice)."
        else:
            errors["refresh"] = exc.message
        status = snapshot_status(program, request.user)
        context = {
            "program": program,
            "cohorts": access.research_cohorts_for(request.user).filter(program=program).order_by("name"),
            "caveat": _caveat(),
            "refresh_errors": errors,
            "refresh_k": k_text,
            **status,
            **_form_context(status["snapshot"], CohortForm(_initial(None), {})),
        }
        return render(request, "web/research/cohort_list.html", context, status=400)
    return redirect("job-page", job_id=job)


def _options(request: HttpRequest) -> tuple[int, str, dict[str, str]]:
    """The responder week and instrument chosen on the page (defaults: week 12, PEG); errors by field."""
    errors: dict[str, str] = {}
    week_text = request.GET.get("week", "12").strip() or "12"
    instrument = request.GET.get("instrument", "peg").strip() or "peg"
    week = 12
    try:
        week, instrument = engine.check_options(week=week_text, instrument=instrument)
    except InputError as exc:
        if exc.field == "week":
            errors["week"] = f"Enter the week as a whole number from 0 to {engine.MAX_WEEK} (week 0 = study days 0-6)."
        else:
            errors["instrument"] = "Choose PEG or the pain numeric rating scale."
            instrument = "peg"
        try:
            week = int(week_text)
            engine.check_options(week=week, instrument="peg")
        except (InputError, ValueError):
            week = 12
    return week, instrument, errors


def _chart_links(cohort: Cohort, name: str) -> dict[str, str]:
    return {
        fmt: reverse("research-cohort-chart", kwargs={"cohort_id": cohort.pk, "chart_slug": name, "format_slug": fmt})
        for fmt in charts.FORMATS
    }


def _rows_for_page(report: dict[str, Any], cohort: Cohort) -> dict[str, Any]:
    """The report arranged for the template: each chart with its links and its table alternative."""
    trajectories = [
        {
            **t,
            "links": _chart_links(cohort, f"trajectory-{t['instrument']}"),
            "shown": any(w.get("mean") is not None for w in t.get("weeks") or []),
        }
        for t in report.get("trajectories") or []
    ]
    events = [
        {
            **e,
            "links": _chart_links(cohort, f"survival-{e['event']}"),
            "shown": any(s.get("survival") is not None for s in e.get("steps") or []),
        }
        for e in report.get("time_to_event") or []
    ]
    ae = report.get("ae_incidence") or {}
    rows = (report.get("description") or {}).get("rows") or []
    return {
        "description_rows": [
            {**r, "variable_label": VARIABLE_LABELS.get(r.get("variable"), r.get("variable"))} for r in rows
        ],
        "trajectories": trajectories,
        "events": events,
        "ae": ae,
        "ae_links": _chart_links(cohort, "incidence"),
        "ae_shown": bool(ae.get("by_grade") or ae.get("by_system")),
        "ae_tables": [("By grade", ae.get("by_grade") or []), ("By system organ class", ae.get("by_system") or [])],
        "exposure_links": _chart_links(cohort, "exposure"),
        "exposure_shown": any(
            e.get("median") is not None for e in (report.get("description") or {}).get("exposure") or []
        ),
        "definition_words": report_pdf.definition_words((report.get("cohort") or {}).get("definition") or {}),
    }


@login_and_access
@require_GET
def cohort_detail(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """The analysis of one saved cohort on the program's latest snapshot."""
    cohort = access.get_research_cohort_for(request.user, cohort_id)
    program = cohort.program
    status = snapshot_status(program, request.user)
    week, instrument, option_errors = _options(request)
    context: dict[str, Any] = {
        "program": program,
        "cohort": cohort,
        "caveat": _caveat(),
        "week": request.GET.get("week", str(week)) if option_errors.get("week") else week,
        "instrument": instrument,
        "option_errors": option_errors,
        "responder_choices": [(i, _title(i)) for i in engine.RESPONDER_INSTRUMENTS],
        "report": None,
        "tables": [],
        **status,
    }
    snap = status["snapshot"]
    if snap is not None:
        report = cohort_report(cohort, snap, week=week, instrument=instrument, actor=Actor.of(request.user))
        context["report"] = report
        context["consent_at"] = _aware((report.get("data") or {}).get("consent_as_of"))
        context["caveat"] = report.get("caveat") or context["caveat"]
        context.update(_rows_for_page(report, cohort))
        context["tables"] = [
            (name, reverse("research-cohort-table", kwargs={"cohort_id": cohort.pk, "table_slug": name}))
            for name in engine.CohortReport(report).tables()
        ]
        context["query"] = f"?week={week}&instrument={instrument}"
    return render(request, "web/research/cohort_detail.html", context, status=400 if option_errors else 200)


@login_and_access
@require_http_methods(["GET", "POST"])
def cohort_edit(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = access.get_research_cohort_for(request.user, cohort_id)
    snap = snapshot.latest(cohort.program)
    form = CohortForm(_initial(cohort), {})
    if request.method == "POST":
        saved, form = _save(request, cohort.program, cohort)
        if saved is not None:
            return redirect("research-cohort", cohort_id=saved.pk)
    context = {
        "program": cohort.program,
        "cohort": cohort,
        "caveat": _caveat(),
        "snapshot": snap,
        **_form_context(snap, form),
    }
    return render(request, "web/research/cohort_form.html", context, status=400 if form.errors else 200)


@login_and_access
@require_http_methods(["GET", "POST"])
def cohort_delete(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """A confirmation page (GET) and the deletion (POST): only the saved definition goes, no data is stored."""
    cohort = access.get_research_cohort_for(request.user, cohort_id)
    program = cohort.program
    if request.method == "POST":
        actions.delete_cohort(actor=Actor.of(request.user), cohort=cohort)
        return redirect("research-cohorts", program_id=program.pk)
    context = {"program": program, "cohort": cohort, "caveat": _caveat()}
    return render(request, "web/research/cohort_delete.html", context)


# --- downloads ----------------------------------------------------------------------------------------------------


def _report_for_download(
    request: HttpRequest, cohort_id: int, *, audited: bool = True
) -> tuple[Cohort, dict[str, Any]]:
    cohort = access.get_research_cohort_for(request.user, cohort_id)
    snap = snapshot.latest(cohort.program)
    if snap is None:
        raise Http404("no analysis data yet")
    week, instrument, errors = _options(request)
    if errors:
        week, instrument = 12, "peg"
    actor = Actor.of(request.user) if audited else None
    return cohort, cohort_report(cohort, snap, week=week, instrument=instrument, actor=actor)


def _file_name(cohort: Cohort, report: Mapping[str, Any], what: str) -> str:
    """``cohort-<id>-<snapshot>-<what>``: ASCII only (no name typed by a person in a header)."""
    snap = str((report.get("data") or {}).get("snapshot_id") or "")
    return re.sub(r"[^A-Za-z0-9._-]", "-", f"cohort-{cohort.pk}-{snap}-{what}")


def _attachment(response: HttpResponse, name: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_and_access
@require_GET
def cohort_chart(request: HttpRequest, cohort_id: int, chart_slug: str, format_slug: str) -> HttpResponse:
    chart, fmt = chart_slug, format_slug
    match = CHART_NAME.match(chart)
    if match is None or fmt not in CONTENT_TYPES:
        raise Http404("no such chart")
    cohort, report = _report_for_download(request, cohort_id, audited=False)  # an image of an audited page
    source = source_line(cohort.program, report)
    try:
        if match.group("instrument"):
            body = charts.trajectory(report, match.group("instrument"), fmt, source=source)
        elif match.group("event"):
            body = charts.survival(report, match.group("event"), fmt, source=source)
        elif chart == "incidence":
            body = charts.incidence(report, fmt, source=source)
        else:
            body = charts.exposure(report, fmt, source=source)
    except InputError:
        raise Http404("no such chart") from None
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Cache-Control"] = "private, max-age=300"
    if fmt == "svg":
        response["Content-Security-Policy"] = SVG_CSP
    if request.GET.get("download"):
        _attachment(response, _file_name(cohort, report, f"{chart}.{fmt}"))
    return response


@login_and_access
@require_GET
def cohort_table(request: HttpRequest, cohort_id: int, table_slug: str) -> HttpResponse:
    """One table of the report's numbers as CSV (suppressed cells empty, with their ``suppressed`` flag)."""
    table = table_slug
    if table not in engine.TABLE_SCHEMAS:
        raise Http404("no such table")
    cohort, report = _report_for_download(request, cohort_id)
    tables = engine.CohortReport(report).tables()
    response = HttpResponse(research_export.csv_bytes(tables[table]), content_type="text/csv; charset=utf-8")
    return _attachment(response, _file_name(cohort, report, f"{table}.csv"))


@login_and_access
@require_GET
def cohort_tables_zip(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """Every table of the report as CSV, the report JSON and a README with the data stamp, in one ZIP."""
    cohort, report = _report_for_download(request, cohort_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in engine.CohortReport(report).tables().items():
            archive.writestr(zipfile.ZipInfo(f"{name}.csv", ZIP_TIME), research_export.csv_bytes(frame))
        archive.writestr(zipfile.ZipInfo("report.json", ZIP_TIME), json.dumps(report, indent=1))
        archive.writestr(zipfile.ZipInfo("README.txt", ZIP_TIME), _readme(report))
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    return _attachment(response, _file_name(cohort, report, "tables.zip"))


def _readme(report: Mapping[str, Any]) -> str:
    data = report.get("data") or {}
    lines = [
        f"Cohort report: {(report.get('cohort') or {}).get('name', '')}",
        "",
        str(report.get("caveat") or ""),
        "",
        "Cohort definition:",
        *(f"  {line}" for line in report_pdf.definition_words((report.get("cohort") or {}).get("definition") or {})),
        "",
        f"Program: {data.get('program')}",
        f"Analysis snapshot: {data.get('snapshot_id')} (created {report_pdf.utc_text(data.get('created_at'))})",
        f"Checksum (sha256 of the snapshot's manifest.json): {data.get('checksum')}",
        f"Research consent as of: {report_pdf.utc_text(data.get('consent_as_of'))}",
        f"k: {data.get('k')} (counts below k are empty, with suppressed = true)",
        f"Software: kratomwatch {kratomwatch.__version__}",
        "",
        "One CSV per table of the report; report.json is the whole report in the shared JSON shape.",
    ]
    return "\r\n".join(lines) + "\r\n"


@login_and_access
@require_GET
def cohort_pdf(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort, report = _report_for_download(request, cohort_id)
    body = report_pdf.render(report, source=source_line(cohort.program, report))
    response = HttpResponse(body, content_type="application/pdf")
    return _attachment(response, _file_name(cohort, report, "report.pdf"))
