"""The only write path for assessments and schedules.

Keyword-only functions under ``transaction.atomic`` that validate, write and append an audit event in the
same transaction. Scoring is the pure core's (``core.instruments.score``); its typed errors are turned into
``InputError`` naming the field (``answers`` or ``instrument``) and, for a bad answer, the item and value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from kratomwatch.assessments.models import Assessment, AssessmentSource, Schedule
from kratomwatch.audit.log import Actor, record
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import Conflict, InputError, NotFound
from kratomwatch.records import validation
from kratomwatch.records.models import Patient
from kratomwatch.records.validation import future_tolerance
from kratomwatch.records.writes import alert_input_write

#: Instruments that need observation, examination or a diagnostic interview by a clinician, so they are
#: never stored as a self-report: COWS (pulse, pupils, observed tremor and gooseflesh), the full DN4 (its
#: last three items are a bedside examination) and the DSM-5 criteria (a diagnostic assessment). This is
#: a kratomwatch rule, documented in docs/assessments.md; the DN4-interview and the rest are self-report.
CLINICIAN_ADMINISTERED = frozenset({"cows", "dn4", "dsm5_sud"})

MAX_EVERY_DAYS = 366


class AnswerError(InputError):
    """A bad answer: names the item (id and 1-based position) as well as the value."""

    def __init__(self, message: str, value: object, *, item_id: str | None = None, position: int | None = None):
        super().__init__("answers", value, message)
        self.item_id = item_id
        self.position = position


def definition_for(instrument_id: object) -> ins.InstrumentDefinition:
    """The registered definition, or InputError on field ``instrument``."""
    if not isinstance(instrument_id, str):
        raise InputError("instrument", instrument_id, f"instrument must be a text id, got {instrument_id!r}")
    try:
        return ins.get(instrument_id)
    except ins.UnknownInstrument as exc:
        raise InputError("instrument", instrument_id, str(exc), code="unknown_instrument") from None


def score_answers(
    definition: ins.InstrumentDefinition, answers: object, *, supervised: bool = False
) -> ins.ScoreResult:
    """Score through the core, converting its errors into ``AnswerError`` (field ``answers``)."""
    if isinstance(answers, str | bytes | dict) or not isinstance(answers, Sequence):
        raise AnswerError(
            f"{definition.id}: answers must be a list of {len(definition.items)} integers (null for a blank)",
            answers if isinstance(answers, str | int | float | None) else type(answers).__name__,
        )
    try:
        return ins.score(definition, cast("Sequence[int | None]", list(answers)), supervised=supervised)
    except ins.WrongAnswerCount as exc:
        raise AnswerError(str(exc), exc.got) from None
    except ins.AnswerOutOfRange as exc:
        raise AnswerError(str(exc), exc.value, item_id=exc.item_id, position=exc.position) from None
    except ins.InstrumentError as exc:
        raise AnswerError(str(exc), None) from None


@alert_input_write()
def record_assessment(
    *,
    actor: Actor,
    patient: Patient,
    instrument_id: str,
    answers: Sequence[int | None],
    administered_at: dt.datetime,
    source: str,
    supervised: bool = False,
    now: dt.datetime | None = None,
) -> Assessment:
    """Validate, score and store one administration of an instrument. Writes nothing on error."""
    definition = definition_for(instrument_id)
    if source not in AssessmentSource.values:
        raise InputError("source", source, f"source {source!r} is not one of: {', '.join(AssessmentSource.values)}")
    if source == AssessmentSource.SELF_REPORT and definition.id in CLINICIAN_ADMINISTERED:
        raise InputError(
            "instrument",
            definition.id,
            f"{definition.id} is administered by a clinician (observation, examination or diagnostic "
            "interview) and cannot be recorded as a self-report",
            code="clinician_administered",
        )
    if not isinstance(supervised, bool):
        raise InputError("supervised", supervised, "supervised must be true or false")
    if not isinstance(administered_at, dt.datetime):
        raise InputError("administered_at", administered_at, "administered_at must be a date and time")
    validation.check_not_before_birth("administered_at", administered_at.date(), patient)
    exposure.check_not_future(
        administered_at, now or timezone.now(), tolerance=future_tolerance(), field="administered_at"
    )
    result = score_answers(definition, answers, supervised=supervised)
    if Assessment.objects.filter(
        patient=patient, instrument_id=definition.id, administered_at=administered_at
    ).exists():
        raise Conflict(
            "administered_at",
            administered_at.isoformat(),
            f"an assessment of {definition.id} at {administered_at.isoformat()} is already stored for this patient",
        )
    total = result.total
    band = result.band
    assessment = Assessment(
        patient=patient,
        instrument_id=definition.id,
        instrument_version=definition.version,
        answers=list(result.answers),
        supervised=supervised,
        missing_policy=result.missing_policy.value,
        scores={scale.scale_id: scale.value for scale in result.scales},
        total=float(total) if total is not None else None,
        band_id=band.id if band is not None else "",
        band_label=band.label if band is not None else "",
        flags=list(result.flag_ids),
        reasons=list(result.reasons),
        valid=result.valid,
        administered_at=administered_at,
        source=source,
    )
    try:
        with transaction.atomic():
            assessment.save()
    except IntegrityError:  # a concurrent request stored the same (patient, instrument, time) first
        raise Conflict(
            "administered_at",
            administered_at.isoformat(),
            f"an assessment of {definition.id} at {administered_at.isoformat()} is already stored for this patient",
        ) from None
    record(
        actor,
        "assessment.create",
        object_type="assessment",
        object_id=assessment.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"instrument": definition.id, "version": definition.version, "source": source},
    )
    return assessment


def _check_every_days(every_days: object) -> int:
    if isinstance(every_days, bool) or not isinstance(every_days, int) or not 1 <= every_days <= MAX_EVERY_DAYS:
        raise InputError(
            "every_days", every_days, f"the interval must be a whole number of days from 1 to {MAX_EVERY_DAYS}"
        )
    return every_days


@alert_input_write()
def set_schedule(
    *,
    actor: Actor,
    patient: Patient,
    instrument_id: str,
    every_days: int,
    start: dt.date,
    active: bool = True,
) -> tuple[Schedule, bool]:
    """Create or replace the patient's schedule for an instrument. Returns (schedule, created)."""
    definition = definition_for(instrument_id)
    every_days = _check_every_days(every_days)
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
        raise InputError("start", start, "start must be a date (YYYY-MM-DD)")
    validation.check_plausible_date("start", start, patient, patient.local_today(), ahead=validation.PLAN_AHEAD)
    schedule = Schedule.objects.select_for_update().filter(patient=patient, instrument_id=definition.id).first()
    created = schedule is None
    if schedule is None:
        schedule = Schedule(patient=patient, instrument_id=definition.id)
    schedule.every_days = every_days
    schedule.start = start
    schedule.active = active
    schedule.save()
    record(
        actor,
        "assessment_schedule.create" if created else "assessment_schedule.update",
        object_type="assessment_schedule",
        object_id=schedule.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"instrument": definition.id, "every_days": every_days, "active": active},
    )
    return schedule, created


@alert_input_write()
def deactivate_schedule(*, actor: Actor, patient: Patient, instrument_id: str) -> Schedule:
    """Stop a schedule (kept for the record, no longer due)."""
    definition = definition_for(instrument_id)
    schedule = Schedule.objects.select_for_update().filter(patient=patient, instrument_id=definition.id).first()
    if schedule is None:
        raise NotFound("instrument", instrument_id, f"no {definition.id} schedule for patient {patient.code!r}")
    schedule.active = False
    schedule.save(update_fields=["active", "updated_at"])
    record(
        actor,
        "assessment_schedule.deactivate",
        object_type="assessment_schedule",
        object_id=schedule.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"instrument": definition.id},
    )
    return schedule
