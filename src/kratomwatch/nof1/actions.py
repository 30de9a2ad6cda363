"""Writes of n-of-1 trials (keyword-only, transactional, audited): design, signatures, start, stop, withdrawal,
completion.

The clinician describes the conditions and may copy a daily mg target from the care plan; kratomwatch never
proposes a condition, a target or a dose. No alert rule reads a trial: the only alert input a trial changes is the
measurement schedule, written through ``assessments.actions.set_schedule`` (a declared alert-input write), so the
alerts follow that write as always.

Lifecycle (``nof1.models``): ``draft`` -> (clinician signs: the protocol PDF is frozen with its sha256; patient
signs) ``signed`` -> ``active`` (the seeded schedule is dated and stored) -> ``completed`` or ``stopped``.
Changing the design of a draft the clinician has already signed clears that signature and the frozen protocol:
the protocol the patient signs is always the one the clinician signed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.assessments import queries as assessment_queries
from kratomwatch.assessments.actions import MAX_EVERY_DAYS
from kratomwatch.audit.log import Actor, record
from kratomwatch.core import nof1_design
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.nof1 import queries
from kratomwatch.nof1.models import CONSENT_SCOPE, Condition, Period, Trial, TrialStatus
from kratomwatch.nof1.pdf import protocol_pdf
from kratomwatch.records import writes
from kratomwatch.records.models import Patient
from kratomwatch.records.validation import PAST_LIMIT

__all__ = [
    "ConditionIn",
    "TrialIn",
    "complete_ended_trials",
    "complete_if_ended",
    "create_trial",
    "sign_as_clinician",
    "sign_as_patient",
    "start_trial",
    "stop_trial",
    "update_trial",
    "withdraw",
]

MAX_TARGET_MG = 5000.0
MAX_MCID = 1000.0
MAX_STOPPING_RULES = 20
MAX_RULE_CHARS = 500
MAX_TEXT = 5000
START_PAST = PAST_LIMIT
START_AHEAD = dt.timedelta(days=90)
"""A trial starts at most 90 days ahead, and at most a year back (a trial recorded after the fact: the record
takes no measure older than that); outside that window a date is a typing error (a product choice)."""
PROGRAM_CHOICE = "program choice"
CODE_CHARS = 8


@dataclass
class ConditionIn:
    code: str
    label: str
    description: str = ""
    is_reference: bool = False
    target_mitragynine_mg: float | None = None
    target_seven_oh_mg: float | None = None


@dataclass
class TrialIn:
    """The clinician's design. ``secondary_instruments`` is [(instrument_id, every_days)]; ``seed`` None draws one
    (``secrets.randbits(63)``), recorded on the trial."""

    title: str
    conditions: list[ConditionIn]
    primary_instrument: str
    period_days: int
    blocks: int
    question: str = ""
    lower_is_better: bool = True
    measure_every_days: int = 1
    secondary_instruments: list[tuple[str, int]] = field(default_factory=list)
    mcid: float | None = None
    mcid_source: str = ""
    mcid_program_choice: bool = False
    washout_days: int = 0
    run_in_days: int = 0
    blinded: bool = False
    stopping_rules: list[str] = field(default_factory=list)
    seed: int | None = None


def _text(name: str, value: object, limit: int, *, required: bool = False, what: str = "") -> str:
    if not isinstance(value, str):
        raise InputError(name, value, f"{what or name} must be text")
    value = value.strip()
    if required and not value:
        raise InputError(name, value, f"{what or name} is required")
    if len(value) > limit:
        raise InputError(name, value[:40], f"{what or name} must be at most {limit} characters")
    return value


def _mg(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(name, value, "a daily target must be a number of mg")
    if not 0 <= value <= MAX_TARGET_MG:
        raise InputError(name, value, f"a daily target must be between 0 and {MAX_TARGET_MG:g} mg")
    return float(value)


def _conditions(items: Sequence[ConditionIn]) -> list[ConditionIn]:
    out: list[ConditionIn] = []
    for i, c in enumerate(items):
        code = _text(f"conditions.{i}.code", c.code, CODE_CHARS, required=True, what="the condition's short code")
        out.append(
            ConditionIn(
                code=code,
                label=_text(
                    f"conditions.{i}.label", c.label, 120, required=True, what=f"the label of condition {code}"
                ),
                description=_text(f"conditions.{i}.description", c.description, MAX_TEXT, what="the description"),
                is_reference=bool(c.is_reference),
                target_mitragynine_mg=_mg(f"conditions.{i}.target_mitragynine_mg", c.target_mitragynine_mg),
                target_seven_oh_mg=_mg(f"conditions.{i}.target_seven_oh_mg", c.target_seven_oh_mg),
            )
        )
    references = [c.code for c in out if c.is_reference]
    if len(references) > 1:
        raise InputError("conditions", references, f"only one condition can be the reference ({', '.join(references)})")
    return out


def _instrument(name: str, instrument_id: object) -> str:
    try:
        return assessment_actions.definition_for(instrument_id).id
    except InputError as problem:
        raise InputError(name, instrument_id, problem.message) from None


def _every(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EVERY_DAYS:
        raise InputError(name, value, f"the interval must be a whole number of days from 1 to {MAX_EVERY_DAYS}")
    return value


def _checked(design: TrialIn) -> dict[str, Any]:
    """The model fields of a valid design; ``InputError`` naming the field otherwise."""
    conditions = _conditions(design.conditions)
    if not any(c.is_reference for c in conditions) and len(conditions) >= 2:
        raise InputError(
            "reference", "", "choose the reference condition the others are compared to (for example usual care)"
        )
    design.conditions = conditions
    nof1_design.validate(queries.design_from(design, design.conditions))
    primary = _instrument("primary_instrument", design.primary_instrument)
    secondaries: list[dict[str, Any]] = []
    for i, pair in enumerate(design.secondary_instruments):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InputError(f"secondary_instruments.{i}", pair, "each secondary outcome is (instrument, every days)")
        instrument = _instrument(f"secondary_instruments.{i}.instrument_id", pair[0])
        if instrument == primary or instrument in {s["instrument_id"] for s in secondaries}:
            raise InputError(
                f"secondary_instruments.{i}.instrument_id", instrument, f"{instrument} is already an outcome"
            )
        secondaries.append(
            {"instrument_id": instrument, "every_days": _every(f"secondary_instruments.{i}.every_days", pair[1])}
        )
    mcid, source, program_choice = _mcid(design)
    rules = [
        _text(f"stopping_rules.{i}", rule, MAX_RULE_CHARS, what="a stopping rule")
        for i, rule in enumerate(design.stopping_rules)
    ]
    rules = [r for r in rules if r]
    if len(rules) > MAX_STOPPING_RULES:
        raise InputError("stopping_rules", len(rules), f"at most {MAX_STOPPING_RULES} stopping rules")
    seed = design.seed
    if seed is None:
        seed = secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise InputError("seed", seed, "the randomization seed must be a whole number from 0 to 2^63 - 1")
    return {
        "fields": {
            "title": _text("title", design.title, 200, required=True, what="the title"),
            "question": _text("question", design.question, MAX_TEXT, what="the question"),
            "primary_instrument": primary,
            "lower_is_better": bool(design.lower_is_better),
            "measure_every_days": _every("measure_every_days", design.measure_every_days),
            "secondary_instruments": secondaries,
            "mcid": mcid,
            "mcid_source": source,
            "mcid_program_choice": program_choice,
            "period_days": design.period_days,
            "blocks": design.blocks,
            "washout_days": design.washout_days,
            "run_in_days": design.run_in_days,
            "blinded": bool(design.blinded),
            "stopping_rules": rules,
            "seed": seed,
        },
        "conditions": conditions,
    }


def _mcid(design: TrialIn) -> tuple[float | None, str, bool]:
    """(value, source, program choice). A value needs its published source, or is labelled the program's choice;
    kratomwatch never invents one."""
    value = design.mcid
    if value is None:
        return None, "", False
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError("mcid", value, "the MCID must be a number in the outcome's units")
    if not 0 < value <= MAX_MCID:
        raise InputError("mcid", value, "the MCID must be above 0 (a difference in the outcome's units)")
    source = _text("mcid_source", design.mcid_source, 300, what="the MCID source")
    if design.mcid_program_choice:
        return float(value), source or PROGRAM_CHOICE, True
    if not source:
        raise InputError(
            "mcid_source", "", "give the published source of the MCID, or mark the value as the program's choice"
        )
    return float(value), source, False


def _write_conditions(trial: Trial, conditions: Sequence[ConditionIn]) -> None:
    trial.conditions.all().delete()
    Condition.objects.bulk_create(
        Condition(
            trial=trial,
            code=c.code,
            label=c.label,
            description=c.description,
            is_reference=c.is_reference,
            target_mitragynine_mg=c.target_mitragynine_mg,
            target_seven_oh_mg=c.target_seven_oh_mg,
        )
        for c in conditions
    )


def _audit(actor: Actor, action: str, trial: Trial, **detail: Any) -> None:
    record(
        actor,
        f"nof1.{action}",
        object_type="nof1_trial",
        object_id=trial.pk,
        program_id=trial.patient.program_id,
        patient_code=trial.patient.code,
        detail={"status": trial.status, **detail},
    )


def _locked(trial: Trial) -> Trial:
    """The trial row again, locked for this transaction (two clicks on "start" cannot both start it)."""
    fresh = Trial.objects.select_for_update().select_related("patient", "patient__program").get(pk=trial.pk)
    return fresh


@transaction.atomic
def create_trial(
    *, actor: Actor, patient: Patient, user: Any, design: TrialIn, now: dt.datetime | None = None
) -> Trial:
    """A draft trial of the clinician's design for ``patient``. ``now`` stamps it (default the clock; a past instant
    only when loading history, as the demo does)."""
    checked = _checked(design)
    now = now or timezone.now()
    trial = Trial.objects.create(patient=patient, created_by=user, created_at=now, updated_at=now, **checked["fields"])
    _write_conditions(trial, checked["conditions"])
    _audit(actor, "create", trial, conditions=[c.code for c in checked["conditions"]], blinded=trial.blinded)
    return trial


@transaction.atomic
def update_trial(*, actor: Actor, trial: Trial, user: Any, design: TrialIn) -> Trial:
    """Replace the design of a draft (``Conflict`` once the patient has signed). A clinician signature already
    given is cleared with the frozen protocol: the clinician signs the changed protocol again."""
    trial = _locked(trial)
    if trial.status != TrialStatus.DRAFT:
        raise Conflict("status", trial.status, "only a draft can be changed: this protocol is already signed")
    checked = _checked(design)
    was_signed = trial.clinician_signed_at is not None
    for name, value in checked["fields"].items():
        setattr(trial, name, value)
    trial.protocol_pdf = None
    trial.protocol_sha256 = ""
    trial.clinician_signed_by = None
    trial.clinician_signed_at = None
    trial.updated_at = timezone.now()
    trial.save()
    _write_conditions(trial, checked["conditions"])
    _audit(actor, "update", trial, by=getattr(user, "pk", None), clinician_signature_cleared=was_signed)
    return trial


@transaction.atomic
def sign_as_clinician(*, actor: Actor, trial: Trial, user: Any, now: dt.datetime | None = None) -> Trial:
    """The clinician signs the protocol: its PDF is frozen with its sha256 (the patient signs that document).
    ``now`` stamps the signature (default the clock; see :func:`create_trial`)."""
    trial = _locked(trial)
    if trial.status != TrialStatus.DRAFT:
        raise Conflict("status", trial.status, "the protocol is already signed by the patient")
    if trial.clinician_signed_at is not None:
        raise Conflict("clinician_signed_at", trial.clinician_signed_at.isoformat(), "the clinician already signed")
    trial.clinician_signed_by = user if getattr(user, "pk", None) else None
    trial.clinician_signed_at = now or timezone.now()
    pdf = protocol_pdf(trial)
    trial.protocol_pdf = pdf
    trial.protocol_sha256 = hashlib.sha256(pdf).hexdigest()
    trial.updated_at = trial.clinician_signed_at
    trial.save()
    _audit(actor, "sign.clinician", trial, scope=CONSENT_SCOPE, protocol_sha256=trial.protocol_sha256)
    return trial


@transaction.atomic
def sign_as_patient(*, actor: Actor, trial: Trial, signed_name: str, now: dt.datetime | None = None) -> Trial:
    """The patient signs the frozen protocol (consent scope "n-of-1"): the trial is ready to start. ``now`` stamps
    the signature (default the clock; see :func:`create_trial`)."""
    trial = _locked(trial)
    if trial.status != TrialStatus.DRAFT:
        raise Conflict("status", trial.status, "this protocol is no longer waiting for a signature")
    if trial.clinician_signed_at is None or not trial.protocol_sha256:
        raise Conflict("clinician_signed_at", None, "your clinician signs the protocol first")
    name = _text("signed_name", signed_name, 200, required=True, what="your name, typed as your signature")
    trial.patient_signed_name = name
    trial.patient_signed_at = now or timezone.now()
    trial.status = TrialStatus.SIGNED
    trial.updated_at = trial.patient_signed_at
    trial.save()
    _audit(actor, "sign.patient", trial, scope=CONSENT_SCOPE, protocol_sha256=trial.protocol_sha256)
    return trial


@transaction.atomic
def start_trial(
    *, actor: Actor, trial: Trial, user: Any, start_date: dt.date | None = None, now: dt.datetime | None = None
) -> Trial:
    """Start a signed trial on ``start_date`` (the patient's local date; default today there): the periods of the
    seeded schedule are dated and stored, and the outcome questionnaires are scheduled (their reminders follow the
    existing notification path). A schedule the patient already had for the same questionnaire is replaced. ``now``
    stamps the start (default the clock; see :func:`create_trial`); the allowed start dates still count from today."""
    trial = _locked(trial)
    if trial.status != TrialStatus.SIGNED:
        raise Conflict("status", trial.status, "only a trial whose protocol both people signed can start")
    patient = trial.patient
    today = patient.local_today()
    start = today if start_date is None else start_date
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
        raise InputError("start_date", start, "the start must be a date (YYYY-MM-DD)")
    if not today - START_PAST <= start <= today + START_AHEAD:
        raise InputError(
            "start_date",
            start.isoformat(),
            f"the start must be between {today - START_PAST:%d %b %Y} and {today + START_AHEAD:%d %b %Y}",
        )
    if Trial.objects.filter(patient=patient, status=TrialStatus.ACTIVE).exclude(pk=trial.pk).exists():
        raise Conflict("status", "active", f"{patient.code} already has a running n-of-1 trial")
    design = queries.design_of(trial)
    slots = nof1_design.schedule(design, trial.seed, start)
    by_code = {c.code: c for c in trial.conditions.all()}
    Period.objects.bulk_create(
        Period(
            trial=trial,
            position=s.position,
            block=s.block,
            condition=by_code[s.condition],
            start=s.start,
            end=s.end,
            analysed_from=s.analysed_from,
        )
        for s in slots
    )
    trial.status = TrialStatus.ACTIVE
    trial.start_date = start
    trial.started_at = now or timezone.now()
    trial.updated_at = trial.started_at
    try:
        with transaction.atomic():
            trial.save()
    except IntegrityError:
        raise Conflict("status", "active", f"{patient.code} already has a running n-of-1 trial") from None
    outcomes = [(trial.primary_instrument, trial.measure_every_days)] + [
        (s["instrument_id"], s["every_days"]) for s in trial.secondary_instruments
    ]
    prior = assessment_queries.schedules_of(patient, [instrument for instrument, _every in outcomes])
    trial.prior_schedules = {
        instrument: (
            {"every_days": p.every_days, "start": p.start.isoformat(), "active": p.active}
            if (p := prior.get(instrument)) is not None
            else None
        )
        for instrument, _every in outcomes
    }
    trial.save(update_fields=["prior_schedules"])
    with writes.batch():  # the patient's alerts are evaluated once, after every schedule is set
        for instrument, every in outcomes:
            assessment_actions.set_schedule(
                actor=actor, patient=patient, instrument_id=instrument, every_days=every, start=start
            )
    _audit(
        actor,
        "start",
        trial,
        start_date=start.isoformat(),
        end_date=slots[-1].end.isoformat(),
        periods=len(slots),
        by=getattr(user, "pk", None),
    )
    return trial


def _restore_schedules(actor: Actor, trial: Trial) -> None:
    """Put back the questionnaire schedules the start replaced: a schedule the patient had before is restored as it
    was; one the trial created is turned off (no more reminders for the trial's questionnaires)."""
    if trial.started_at is None:
        return
    current = assessment_queries.schedules_of(trial.patient, list(trial.prior_schedules))
    with writes.batch():
        for instrument, before in trial.prior_schedules.items():
            if before is None:
                if instrument in current and current[instrument].active:
                    assessment_actions.deactivate_schedule(actor=actor, patient=trial.patient, instrument_id=instrument)
                continue
            schedule = current.get(instrument)
            start = dt.date.fromisoformat(before["start"])
            if schedule is not None and (schedule.every_days, schedule.start, schedule.active) == (
                before["every_days"],
                start,
                before["active"],
            ):
                continue
            assessment_actions.set_schedule(
                actor=actor,
                patient=trial.patient,
                instrument_id=instrument,
                every_days=before["every_days"],
                start=start,
                active=before["active"],
            )


def _end(actor: Actor, trial: Trial, action: str, reason: str, **detail: Any) -> Trial:
    if trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
        raise Conflict("status", trial.status, f"the trial has already ended ({trial.get_status_display().lower()})")
    trial.status = TrialStatus.STOPPED
    trial.stop_reason = reason
    trial.ended_at = timezone.now()
    trial.updated_at = trial.ended_at
    trial.save()
    _restore_schedules(actor, trial)
    _audit(actor, action, trial, reason=reason, **detail)
    return trial


@transaction.atomic
def stop_trial(*, actor: Actor, trial: Trial, user: Any, reason: str) -> Trial:
    """The clinician stops the trial (a stopping rule, or any other reason, stated). Safety alerts are unaffected;
    the questionnaire schedules go back to what they were before the start."""
    trial = _locked(trial)
    text = _text("reason", reason, 1000, required=True, what="the reason for stopping")
    return _end(actor, trial, "stop", text, by=getattr(user, "pk", None))


@transaction.atomic
def withdraw(*, actor: Actor, trial: Trial, reason: str) -> Trial:
    """The patient withdraws their n-of-1 consent: the trial stops (nothing recorded is deleted)."""
    trial = _locked(trial)
    text = _text("reason", reason, 1000, what="the reason")
    trial.withdrawn = True
    return _end(actor, trial, "withdraw", f"Withdrawn by the patient. {text}".strip(), scope=CONSENT_SCOPE)


@transaction.atomic
def complete_if_ended(*, actor: Actor, trial: Trial, today: dt.date, now: dt.datetime | None = None) -> Trial:
    """Mark a running trial completed once ``today`` (the patient's local date) is past its last period. ``now``
    stamps the end (default the clock; see :func:`create_trial`)."""
    if trial.status != TrialStatus.ACTIVE:
        return trial
    trial = _locked(trial)
    if trial.status != TrialStatus.ACTIVE:
        return trial
    last = trial.periods.order_by("-end").values_list("end", flat=True).first()
    if last is None or today <= last:
        return trial
    trial.status = TrialStatus.COMPLETED
    trial.ended_at = now or timezone.now()
    trial.updated_at = trial.ended_at
    trial.save()
    _restore_schedules(actor, trial)
    _audit(actor, "complete", trial, last_day=last.isoformat())
    return trial


def complete_ended_trials(*, actor: Actor, now: dt.datetime | None = None) -> int:
    """The daily sweep's step: every running trial whose last period ended before today in its patient's zone is
    marked completed (its results open; its schedules go back). Returns how many."""
    instant = now or timezone.now()
    # A last day before tomorrow in UTC is the widest net (no zone is more than a day ahead); each trial is then
    # checked on its patient's own date.
    horizon = instant.astimezone(dt.UTC).date() + dt.timedelta(days=1)
    running = (
        Trial.objects.filter(status=TrialStatus.ACTIVE)
        .annotate(last_day=Max("periods__end"))
        .filter(last_day__lt=horizon)
        .select_related("patient")
    )
    done = 0
    for trial in running:
        if complete_if_ended(actor=actor, trial=trial, today=trial.patient.local_today(instant)).status == (
            TrialStatus.COMPLETED
        ):
            done += 1
    return done
