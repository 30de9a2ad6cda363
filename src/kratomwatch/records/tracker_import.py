"""Import a consumer tracker's export into a patient's own record (the write; parsing is ``core.trackers``).

The patient maps each product or strain name of the file to one lot of their program (or skips it); every
entry then goes through the normal dose path (``records.actions.import_doses``, source ``import``), so potency
stays unknown or estimated exactly as the rules say for that lot. The import is all or nothing and idempotent:
each entry's key comes from the file format and the entry (``core.trackers.entry_key``), so importing the same
file again creates nothing and reports every entry as already imported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from kratomwatch.audit.log import Actor, record
from kratomwatch.core import exposure, trackers, units
from kratomwatch.core.errors import InputError
from kratomwatch.records import actions
from kratomwatch.records.models import DoseSource, Lot, Patient
from kratomwatch.records.writes import alert_input_write


@dataclass
class TrackerImportResult:
    created: int = 0
    already: int = 0
    skipped: list[trackers.SkippedEntry] = field(default_factory=list)
    """Entries not imported, with the reason (a name mapped to "skip", 0 mL, a strain not in the file)."""


def taken_at(entry: trackers.TrackerEntry, patient: Patient) -> dt.datetime:
    """The entry's instant: as written when the file gives a zone, else its wall time read in the patient's zone."""
    if entry.instant is not None:
        return entry.instant
    if entry.local is None:  # every parser sets exactly one of the two
        raise InputError("file", entry.location, f"{entry.location}: the entry has no time")
    return entry.local.replace(tzinfo=exposure.zone(patient.time_zone))


def unit_fits(unit: str, lot: Lot) -> bool:
    """Whether ``unit`` makes sense for the lot's product form (mL of a leaf powder does not)."""
    return units.Unit(unit) in units.ALLOWED_UNITS[units.Form(lot.product.form)]


@alert_input_write()
def import_tracker_file(
    *,
    actor: Actor,
    patient: Patient,
    parsed: trackers.TrackerFile,
    mapping: Mapping[str, int | None],
    now: dt.datetime | None = None,
) -> TrackerImportResult:
    """Import ``parsed`` into ``patient``'s record with ``mapping`` (file name -> lot id, or None to skip).

    Every name of the file must be mapped; a lot must be of the patient's program and fit the entry's unit.
    Any refused entry refuses the whole file (``InputError`` naming the entry's place in the file); nothing is
    saved then.
    """
    missing = [name for name in parsed.names if name not in mapping]
    if missing:
        raise InputError(f"map:{missing[0]}", missing[0], f"choose a product for {missing[0]!r}, or skip it")
    lot_ids = {lot_id for lot_id in mapping.values() if lot_id is not None}
    lots = {lot.pk: lot for lot in Lot.objects.select_related("product").filter(pk__in=lot_ids)}
    for name, lot_id in mapping.items():
        if lot_id is None:
            continue
        lot = lots.get(lot_id)
        if lot is None or lot.product.program_id != patient.program_id:
            raise InputError(f"map:{name}", lot_id, f"that product is not in your program's list (for {name!r})")
    result = TrackerImportResult(skipped=list(parsed.skipped))
    rows: list[tuple[int, actions.DoseIn]] = []
    locations: dict[int, str] = {}
    for index, entry in enumerate(parsed.entries):
        lot_id = mapping.get(entry.name)
        if lot_id is None:
            result.skipped.append(trackers.SkippedEntry(entry.location, f"{entry.name!r} was set to skip"))
            continue
        if not unit_fits(entry.unit, lots[lot_id]):
            raise InputError(
                f"map:{entry.name}",
                lot_id,
                f"{entry.name!r} is recorded in {entry.unit}, which does not fit {lots[lot_id].product}: "
                "choose another product or skip it",
            )
        locations[index] = entry.location
        rows.append(
            (
                index,
                actions.DoseIn(
                    patient_code=patient.code,
                    lot_id=lot_id,
                    taken_at=taken_at(entry, patient),
                    amount=entry.amount,
                    unit=entry.unit,
                    source=DoseSource.IMPORT.value,
                    idempotency_key=trackers.entry_key(parsed.format, entry),
                ),
            )
        )
    outcome = actions.import_doses(actor=actor, rows=rows, patients={patient.code: patient}, now=now)
    if outcome.rejected:
        index, err = outcome.rejected[0]
        where = locations.get(index, "file")
        message = err.message.replace("taken_at", "the time")
        raise InputError("file", where, f"{where}: {message}. Nothing was imported.")
    result.created = outcome.created
    result.already = outcome.skipped
    record(
        actor,
        "tracker.import",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={
            "format": parsed.format,
            "created": result.created,
            "already": result.already,
            "skipped": len(result.skipped),
        },
    )
    return result
