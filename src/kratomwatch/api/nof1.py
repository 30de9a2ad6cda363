"""N-of-1 trial endpoints: design (the care team, with the patient's care consent), signatures (the clinician, then
the patient), start and stop (the care team; the patient's "stop" is their withdrawal), the analysis and the
protocol PDF. Access through ``kratomwatch.access``; reads through ``nof1.queries`` and ``nof1.results``; writes
through ``nof1.actions``. The conditions and targets are the clinician's: kratomwatch never proposes a dose.

A blinded trial's order of conditions, its seed and its results by condition are shown to no one until it ends
(409 for the analysis before then).
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from kratomwatch import access
from kratomwatch.api.limits import MAX_DB_INT, Id
from kratomwatch.api.research import ConflictOut  # the one error shape, named for the 409 of a read
from kratomwatch.audit.log import Actor
from kratomwatch.core.errors import Conflict
from kratomwatch.nof1 import actions, queries, results
from kratomwatch.nof1.models import Trial
from kratomwatch.nof1.pdf import protocol_pdf

router = Router(tags=["n-of-1 trials"])

NOTE = (
    "The conditions compared and any mg targets are the clinician's, agreed with the patient; kratomwatch "
    "randomizes, schedules, measures and analyses, and never recommends a dose."
)


class ConditionSchema(Schema):
    code: str = Field(..., max_length=8, description="Short code: A, B, ...")
    label: str = Field(..., max_length=120)
    description: str = Field("", max_length=5000, description="What the patient does in this condition")
    is_reference: bool = False
    target_mitragynine_mg: float | None = Field(None, description="The clinician's daily target, if any (mg)")
    target_seven_oh_mg: float | None = Field(None, description="The clinician's daily target, if any (mg)")


class SecondarySchema(Schema):
    instrument_id: str = Field(..., max_length=32)
    every_days: int = Field(..., ge=1, le=366)


class TrialInSchema(Schema):
    title: str = Field(..., max_length=200)
    question: str = Field("", max_length=5000)
    conditions: list[ConditionSchema] = Field(..., max_length=20)
    primary_instrument: str = Field(..., max_length=32)
    lower_is_better: bool = True
    measure_every_days: int = Field(1, ge=1, le=366)
    secondary_instruments: list[SecondarySchema] = Field([], max_length=10)
    mcid: float | None = Field(None, description="Published value with its source, or a labelled program choice")
    mcid_source: str = Field("", max_length=300)
    mcid_program_choice: bool = False
    period_days: int = Field(..., ge=-MAX_DB_INT, le=MAX_DB_INT)
    blocks: int = Field(..., ge=-MAX_DB_INT, le=MAX_DB_INT)
    washout_days: int = Field(0, ge=-MAX_DB_INT, le=MAX_DB_INT)
    run_in_days: int = Field(0, ge=-MAX_DB_INT, le=MAX_DB_INT)
    blinded: bool = False
    stopping_rules: list[str] = Field([], max_length=50)
    seed: int | None = Field(None, ge=0, le=MAX_DB_INT, description="Randomization seed; drawn when absent")


class PeriodOut(Schema):
    position: int
    block: int
    condition: str | None = Field(description="Hidden (null) while a blinded trial runs")
    start: dt.date
    end: dt.date
    analysed_from: dt.date


class ReviewOut(Schema):
    alert_id: int
    severity: str
    title: str
    message: str


class TrialOut(Schema):
    id: int
    patient_code: str
    title: str
    question: str
    status: str
    conditions: list[ConditionSchema]
    primary_instrument: str
    lower_is_better: bool
    measure_every_days: int
    secondary_instruments: list[SecondarySchema]
    mcid: float | None
    mcid_source: str
    mcid_program_choice: bool
    published_mcid: dict[str, Any] | None
    period_days: int
    blocks: int
    washout_days: int
    run_in_days: int
    blinded: bool
    stopping_rules: list[str]
    seed: int | None = Field(description="Hidden (null) while a blinded trial runs")
    seed_sha256: str
    protocol_sha256: str | None
    clinician_signed_at: dt.datetime | None
    patient_signed_at: dt.datetime | None
    start_date: dt.date | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    stop_reason: str
    periods: list[PeriodOut]
    review_stopping_rules: list[ReviewOut]
    today: dict[str, Any]
    note: str


class SignIn(Schema):
    signed_name: str | None = Field(None, max_length=200, description="The patient's typed name (the patient only)")


class StartIn(Schema):
    start_date: dt.date | None = Field(None, description="The patient's local date; default today there")


class StopIn(Schema):
    reason: str = Field(..., max_length=1000)


def _design(payload: TrialInSchema) -> actions.TrialIn:
    data = payload.dict()
    data["conditions"] = [actions.ConditionIn(**c) for c in data["conditions"]]
    data["secondary_instruments"] = [(s["instrument_id"], s["every_days"]) for s in data["secondary_instruments"]]
    return actions.TrialIn(**data)


def _out(request: HttpRequest, trial: Trial) -> dict[str, Any]:
    ctx = results.protocol_context(trial)
    hidden = results.schedule_hidden(trial)
    care = not access.is_own_record(request.user, trial.patient)
    return {
        "id": trial.pk,
        "patient_code": trial.patient.code,
        "title": trial.title,
        "question": trial.question,
        "status": trial.status,
        "conditions": ctx["conditions"],
        "primary_instrument": trial.primary_instrument,
        "lower_is_better": trial.lower_is_better,
        "measure_every_days": trial.measure_every_days,
        "secondary_instruments": trial.secondary_instruments,
        "mcid": trial.mcid,
        "mcid_source": trial.mcid_source,
        "mcid_program_choice": trial.mcid_program_choice,
        "published_mcid": ctx["published_mcid"],
        "period_days": trial.period_days,
        "blocks": trial.blocks,
        "washout_days": trial.washout_days,
        "run_in_days": trial.run_in_days,
        "blinded": trial.blinded,
        "stopping_rules": trial.stopping_rules,
        "seed": ctx["seed"],
        "seed_sha256": ctx["seed_sha256"],
        "protocol_sha256": trial.protocol_sha256 or None,
        "clinician_signed_at": trial.clinician_signed_at,
        "patient_signed_at": trial.patient_signed_at,
        "start_date": trial.start_date,
        "started_at": trial.started_at,
        "ended_at": trial.ended_at,
        "stop_reason": trial.stop_reason,
        "periods": [
            {
                "position": p.position,
                "block": p.block,
                "condition": None if hidden else p.condition.code,
                "start": p.start,
                "end": p.end,
                "analysed_from": p.analysed_from,
            }
            for p in queries.periods_of(trial)
        ],
        "review_stopping_rules": results.stopping_review(trial) if care else [],
        "today": results.today_view(trial, trial.patient.local_today()),
        "note": NOTE,
    }


@router.get("/patients/{code}/nof1-trials", response=list[TrialOut])
def list_trials(request: HttpRequest, code: str) -> Any:
    """The patient's trials (the care team, or the patient themself)."""
    patient = access.get_patient_for(request.user, code, purpose="nof1")
    if not access.is_own_record(request.user, patient):
        access.require_care_team_for(request.user, patient)
    return [_out(request, t) for t in queries.trials_of(patient)]


@router.post("/patients/{code}/nof1-trials", response={201: TrialOut})
def create_trial(request: HttpRequest, code: str, payload: TrialInSchema) -> Any:
    """A draft trial of the clinician's design (400 naming the field for a design that cannot run)."""
    patient = access.get_writable_patient_for(request.user, code)
    trial = actions.create_trial(
        actor=Actor.of(request.user), patient=patient, user=request.user, design=_design(payload)
    )
    return Status(201, _out(request, trial))


def _readable(request: HttpRequest, trial_id: int) -> Trial:
    """The trial for the care team or its patient; a running trial past its last period is completed first (as the
    pages do), so the API and the pages agree on its status and on what a blinded trial shows."""
    trial = access.get_trial_for(request.user, trial_id, own_ok=True)
    return actions.complete_if_ended(actor=Actor.of(request.user), trial=trial, today=trial.patient.local_today())


@router.get("/nof1-trials/{trial_id}", response=TrialOut)
def get_trial(request: HttpRequest, trial_id: Id) -> Any:
    return _out(request, _readable(request, trial_id))


@router.put("/nof1-trials/{trial_id}", response=TrialOut)
def update_trial(request: HttpRequest, trial_id: Id, payload: TrialInSchema) -> Any:
    """Change a draft's design (409 once the patient signed; a clinician signature already given is cleared)."""
    trial = access.get_trial_for(request.user, trial_id, write=True)
    trial = actions.update_trial(actor=Actor.of(request.user), trial=trial, user=request.user, design=_design(payload))
    return _out(request, trial)


@router.post("/nof1-trials/{trial_id}/sign", response=TrialOut)
def sign(request: HttpRequest, trial_id: Id, payload: SignIn) -> Any:
    """The clinician signs (the protocol PDF is frozen), then the patient signs it with their typed name."""
    actor = Actor.of(request.user)
    trial = access.get_trial_for(request.user, trial_id, own_ok=True)
    if access.is_own_record(request.user, trial.patient):
        trial = actions.sign_as_patient(actor=actor, trial=trial, signed_name=payload.signed_name or "")
    else:
        trial = access.get_trial_for(request.user, trial_id, write=True)
        trial = actions.sign_as_clinician(actor=actor, trial=trial, user=request.user)
    return _out(request, trial)


@router.post("/nof1-trials/{trial_id}/start", response=TrialOut)
def start(request: HttpRequest, trial_id: Id, payload: StartIn) -> Any:
    trial = access.get_trial_for(request.user, trial_id, write=True)
    trial = actions.start_trial(
        actor=Actor.of(request.user), trial=trial, user=request.user, start_date=payload.start_date
    )
    return _out(request, trial)


@router.post("/nof1-trials/{trial_id}/stop", response=TrialOut)
def stop(request: HttpRequest, trial_id: Id, payload: StopIn) -> Any:
    """The care team stops the trial with a reason; the patient's stop is the withdrawal of their n-of-1 consent."""
    actor = Actor.of(request.user)
    trial = access.get_trial_for(request.user, trial_id, own_ok=True)
    if access.is_own_record(request.user, trial.patient):
        trial = actions.withdraw(actor=actor, trial=trial, reason=payload.reason)
    else:
        trial = access.get_trial_for(request.user, trial_id, write=True)
        trial = actions.stop_trial(actor=actor, trial=trial, user=request.user, reason=payload.reason)
    return _out(request, trial)


def _adherence(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "position": a.position,
            "condition": a.condition,
            "days": a.days,
            "days_with_doses": a.days_with_doses,
            "mitragynine_mg": a.mitragynine_mg,
            "seven_oh_mg": a.seven_oh_mg,
            "target_mitragynine_mg": a.target_mitragynine_mg,
            "target_seven_oh_mg": a.target_seven_oh_mg,
            "deviation": a.deviation,
        }
        for a in rows
    ]


@router.get("/nof1-trials/{trial_id}/analysis", response={200: dict[str, Any], 409: ConflictOut})
def analysis(request: HttpRequest, trial_id: Id) -> Any:
    """Per non-reference condition: ``effect``, ``interval_95``, ``prob_better``, ``prob_better_by_mcid``,
    ``n_days_used`` (as ``kratomwatch nof1 analyze --json``), the GLS comparison, washout sensitivity, the
    exposure-adjusted estimate, and adherence per period. ``analysis`` is null with a ``reason`` when there are
    too few measured days. 409 while a blinded trial runs."""
    trial = _readable(request, trial_id)
    if results.schedule_hidden(trial):
        raise Conflict("blinded", True, "this trial is blinded: its results by condition are shown when it ends")
    out = results.analyse_trial(trial)
    return {
        "trial_id": trial.pk,
        "status": trial.status,
        "complete": out.complete,
        "reason": out.reason,
        "days_with_outcome": out.counts,
        "analysis": None if out.analysis is None else out.analysis.to_dict(),
        "adherence": _adherence(out.adherence),
        "note": NOTE,
    }


@router.get("/nof1-trials/{trial_id}/protocol.pdf")
def protocol(request: HttpRequest, trial_id: Id) -> HttpResponse:
    """The signed protocol as frozen at the clinician's signature (its sha256 in ``X-Content-SHA256``); before
    that, the draft as it stands."""
    trial = access.get_trial_for(request.user, trial_id, own_ok=True)
    pdf = bytes(trial.protocol_pdf) if trial.protocol_pdf else protocol_pdf(trial)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="nof1-protocol-{trial.patient.code}-{trial.pk}.pdf"'
    if trial.protocol_sha256:
        response["X-Content-SHA256"] = trial.protocol_sha256
    return response
