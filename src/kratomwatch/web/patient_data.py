"""The patient's own data in and out: download the record (CSV and FHIR R4), import a consumer tracker's export.

Every page resolves the patient with ``access.get_own_patient_for`` (the logged-in patient's own record only;
anyone else gets 404; care teams use their own pages). The download is built by ``research.patient_export`` and
audited as ``patient.export``. The import reads the file with ``core.trackers`` (pure), shows a preview where the
patient maps each product name of the file to one of their program's products (or skips it), then writes through
``records.tracker_import`` (one transaction, idempotent). Between the upload and the confirmation the file's text
is kept in the patient's server-side session, never in the page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from kratomwatch import access
from kratomwatch.audit.log import Actor, record
from kratomwatch.consent.guard import require_care_consent
from kratomwatch.core import exposure, trackers, units
from kratomwatch.core.errors import InputError
from kratomwatch.records import tracker_import
from kratomwatch.records.models import Lot, Patient
from kratomwatch.research import patient_export
from kratomwatch.web.security import login_and_access

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
SESSION_KEY = "kw_tracker_import"
PREVIEW_ROWS = 60
UNIT_WORDS = {"g": "grams", "mL": "millilitres (mL)"}


# --- download -------------------------------------------------------------------------------------------


def _audit_export(request: HttpRequest, patient: Patient, what: str) -> None:
    record(
        Actor.of(request.user),
        "patient.export",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"format": what},
    )


@login_and_access
@require_GET
def download(request: HttpRequest) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, None, purpose="patient_download_page")
    return render(request, "web/patient_data/download.html", {"patient": patient})


@login_and_access
@require_GET
def download_csv(request: HttpRequest) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, None, purpose="patient_export")
    today = patient.local_today()
    body = patient_export.csv_zip(patient_export.gather(patient), today=today)
    _audit_export(request, patient, "csv")
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="kratomwatch-{patient.code}-{today.isoformat()}-csv.zip"'
    return response


@login_and_access
@require_GET
def download_fhir(request: HttpRequest) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, None, purpose="patient_export")
    bundle = patient_export.fhir_bundle(patient_export.gather(patient), now=timezone.now())
    _audit_export(request, patient, "fhir")
    response = HttpResponse(json.dumps(bundle, indent=2), content_type="application/fhir+json")
    name = f"kratomwatch-{patient.code}-{patient.local_today().isoformat()}-fhir.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- import ---------------------------------------------------------------------------------------------


def _lot_label(lot: Lot) -> str:
    allowed = sorted(u.value for u in units.ALLOWED_UNITS[units.Form(lot.product.form)])
    recalled = " - recalled" if lot.recalled else ""
    return f"{lot.product} (lot {lot.lot_code}){recalled}; measured in {', '.join(allowed)}"


def _token(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _when(entry: trackers.TrackerEntry, patient: Patient) -> dt.datetime:
    return tracker_import.taken_at(entry, patient).astimezone(exposure.zone(patient.time_zone))


def _read_upload(request: HttpRequest) -> tuple[str, str, str, dict[str, str]]:
    """(text, chosen format or "", file name, errors) of the uploaded file."""
    upload = request.FILES.get("file")
    chosen = request.POST.get("format", "")
    if chosen and chosen not in trackers.FORMATS:
        return "", "", "", {"format": "Choose one of the listed apps, or let kratomwatch tell."}
    if upload is None:
        return "", chosen, "", {"file": "Choose the file you exported from your tracker app."}
    if upload.size is None or upload.size > MAX_UPLOAD_BYTES:
        return "", chosen, upload.name or "", {"file": "The file is larger than 2 MB. Export a shorter period."}
    name = upload.name or "file"
    if not name.lower().endswith((".csv", ".json", ".txt")):
        return "", chosen, name, {"file": "Choose a CSV or JSON file exported from Herbal Tracker+ or Tea Taper."}
    try:
        text = trackers.decode(upload.read())
    except InputError as exc:
        return "", chosen, name, {"file": f"The file could not be read: {exc.message}"}
    return text, chosen, name, {}


def _parse(text: str, chosen: str) -> tuple[trackers.TrackerFile | None, dict[str, str]]:
    try:
        return trackers.parse(text, chosen or None), {}
    except InputError as exc:
        field = "format" if exc.field == "format" else "file"
        return None, {field: f"The file was not imported, nothing was saved. {exc.message}"}


def _preview_context(  # noqa: PLR0917 - one page's context from the request, patient, file and form state
    request: HttpRequest,
    patient: Patient,
    parsed: trackers.TrackerFile,
    stored: dict[str, Any],
    selected: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:
    lots = list(access.lots_for(request.user, program_id=patient.program_id))
    counts = Counter(e.name for e in parsed.entries)
    unit_of = {e.name: e.unit for e in parsed.entries}
    names = [
        {
            "index": i,
            "name": name,
            "count": counts[name],
            "unit": UNIT_WORDS.get(unit_of[name], unit_of[name]),
            "error": errors.get(f"map-{i}", ""),
            "options": [
                {"value": str(lot.pk), "label": _lot_label(lot), "selected": selected.get(f"map-{i}") == str(lot.pk)}
                for lot in lots
            ],
            "skip_selected": selected.get(f"map-{i}") == "skip",
        }
        for i, name in enumerate(parsed.names)
    ]
    rows = [
        {"when": _when(e, patient), "name": e.name, "amount": f"{e.amount:g} {e.unit}", "note": e.note}
        for e in parsed.entries[:PREVIEW_ROWS]
    ]
    instants = [_when(e, patient) for e in parsed.entries]
    zone = exposure.zone(patient.time_zone)
    return {
        "patient": patient,
        "step": "preview",
        "format_label": trackers.FORMATS[parsed.format],
        "filename": stored.get("filename", ""),
        "token": stored.get("token", ""),
        "entry_count": len(parsed.entries),
        "names": names,
        "rows": rows,
        "more_rows": max(0, len(parsed.entries) - PREVIEW_ROWS),
        "skipped": parsed.skipped,
        "first": min(instants) if instants else None,
        "last": max(instants) if instants else None,
        "naive_times": parsed.has_naive_times,
        "zone_name": patient.time_zone,
        "zone_abbr": timezone.now().astimezone(zone).tzname(),
        "zone_hint": parsed.zone_hint if parsed.zone_hint and parsed.zone_hint != patient.time_zone else "",
        "errors": errors,
        "has_lots": bool(lots),
    }


def _mapping(
    request: HttpRequest, patient: Patient, parsed: trackers.TrackerFile
) -> tuple[dict[str, int | None], dict[str, str]]:
    lots = {lot.pk: lot for lot in access.lots_for(request.user, program_id=patient.program_id)}
    unit_of = {e.name: e.unit for e in parsed.entries}
    mapping: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for i, name in enumerate(parsed.names):
        raw = request.POST.get(f"map-{i}", "")
        if raw == "skip":
            mapping[name] = None
            continue
        lot = lots.get(int(raw)) if raw.isdigit() else None
        if lot is None:
            errors[f"map-{i}"] = f"Choose which of your products \u201c{name}\u201d is, or choose \u201cSkip\u201d."
        elif not tracker_import.unit_fits(unit_of[name], lot):
            errors[f"map-{i}"] = (
                f"\u201c{name}\u201d is recorded in {UNIT_WORDS.get(unit_of[name], unit_of[name])}, which does not fit "
                f"{lot.product}. Choose another product or \u201cSkip\u201d."
            )
        else:
            mapping[name] = lot.pk
    return mapping, errors


@login_and_access
@require_http_methods(["GET", "POST"])
def import_tracker(request: HttpRequest) -> HttpResponse:
    patient = access.get_own_patient_for(request.user, None, purpose="patient_import")
    base: dict[str, Any] = {"patient": patient, "formats": list(trackers.FORMATS.items()), "step": "upload"}
    if request.method == "GET":
        return render(request, "web/patient_data/import.html", {**base, "errors": {}})
    if request.POST.get("step") != "confirm":
        text, chosen, filename, errors = _read_upload(request)
        parsed = None
        if not errors:
            parsed, errors = _parse(text, chosen)
        if parsed is None:
            return render(
                request,
                "web/patient_data/import.html",
                {**base, "errors": errors, "chosen": chosen, "filename": filename},
                status=400,
            )
        stored = {"text": text, "format": parsed.format, "filename": filename, "token": _token(text)}
        request.session[SESSION_KEY] = stored
        return render(
            request, "web/patient_data/import.html", _preview_context(request, patient, parsed, stored, {}, {})
        )
    stored = request.session.get(SESSION_KEY) or {}
    if not stored or stored.get("token") != request.POST.get("token"):
        errors = {"file": "This preview has expired or belongs to another file. Please upload the file again."}
        return render(request, "web/patient_data/import.html", {**base, "errors": errors}, status=400)
    parsed, errors = _parse(stored["text"], stored["format"])
    if parsed is None:  # pragma: no cover - the same text parsed at upload
        return render(request, "web/patient_data/import.html", {**base, "errors": errors}, status=400)
    selected = {k: str(request.POST.get(k, "")) for k in request.POST if k.startswith("map-")}
    mapping, errors = _mapping(request, patient, parsed)
    if not errors:
        try:
            require_care_consent(patient)
            result = tracker_import.import_tracker_file(
                actor=Actor.of(request.user), patient=patient, parsed=parsed, mapping=mapping
            )
        except InputError as exc:
            errors = {"form": exc.message if exc.field == "file" else f"Nothing was imported. {exc.message}"}
        else:
            return render(
                request,
                "web/patient_data/import.html",
                {**base, "step": "done", "result": result, "format_label": trackers.FORMATS[parsed.format]},
            )
    context = _preview_context(request, patient, parsed, stored, selected, errors)
    return render(request, "web/patient_data/import.html", context, status=400)
