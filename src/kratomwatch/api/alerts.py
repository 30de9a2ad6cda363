"""Alert endpoints: a patient's alerts, the program queue, acknowledge/resolve, and program rule thresholds.

Contract: alerts are for the care team. Scoping is ``access.alerts_for`` (the patients of the user's care
programs; patients and researchers see none), filters and queue order are ``alerts.queries`` (shared with the
clinic queue page and ``kratomwatch alerts``); an alert the user may not see is a 404, a missing care role a 403.
Writes go through ``alerts.actions``.
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from kratomwatch import access
from kratomwatch.accounts import program_settings
from kratomwatch.alerts import actions, queries
from kratomwatch.alerts.models import Alert
from kratomwatch.api.limits import Id, OptionalId, Pages
from kratomwatch.audit.log import Actor
from kratomwatch.core.errors import NotFound

router = Router(tags=["alerts"])

StatusFilter = Literal["open", "acknowledged", "resolved", "active", "all"]
SeverityFilter = Literal["urgent", "high", "moderate", "info"]


class AlertOut(Schema):
    id: int
    patient_code: str
    rule_id: str
    subject_key: str
    severity: str
    title: str
    reason: str
    basis: str
    sources: list[str]
    evidence_as_of: dt.date | None
    program_settings: list[str]
    status: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    evaluated_as_of: dt.date
    condition_cleared_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    resolution_note: str

    @staticmethod
    def resolve_patient_code(obj: Alert) -> str:
        return obj.patient.code

    @staticmethod
    def resolve_basis(obj: Alert) -> str:
        if obj.sources and obj.program_settings:
            return "published + program setting"
        return "published" if obj.sources else "program setting"

    @staticmethod
    def resolve_acknowledged_by(obj: Alert) -> str | None:
        return obj.acknowledged_by.get_username() if obj.acknowledged_by else None

    @staticmethod
    def resolve_resolved_by(obj: Alert) -> str | None:
        return obj.resolved_by.get_username() if obj.resolved_by else None


class ResolveIn(Schema):
    note: str = Field(min_length=1, max_length=actions.MAX_NOTE)


class ThresholdOut(Schema):
    name: str
    value: float
    default: float
    overridden: bool
    basis: str
    sources: list[str]
    evidence_as_of: dt.date | None
    published_value: float | None
    description: str


class RuleConfigOut(Schema):
    program_id: int
    thresholds: list[ThresholdOut]
    updated_by: str | None
    updated_at: dt.datetime | None


class RuleConfigIn(Schema):
    overrides: dict[str, float] = Field(
        description="Threshold name -> value; replaces every previous override (an empty object restores defaults)"
    )


@router.get("/patients/{code}/alerts", response=list[AlertOut])
@paginate(Pages, page_size=50)
def list_patient_alerts(request: HttpRequest, code: str, status: StatusFilter = "active") -> Any:
    """A patient's alerts, most severe first (default: not resolved). For the patient's care team only: a login
    with no care role gets 404, and a care-team login asking for its own patient record 403 (as the pages)."""
    if not access.is_care_user(request.user):
        raise NotFound("patient_code", code, f"patient {code!r} not found")
    patient = access.get_care_patient_for(request.user, code, purpose="alerts")
    return queries.apply(access.alerts_for(request.user), queries.AlertFilter(status=status, patient_id=patient.pk))


@router.get("/alerts", response=list[AlertOut])
@paginate(Pages, page_size=50)
def alert_queue(
    request: HttpRequest,
    status: StatusFilter = "active",
    severity: SeverityFilter | None = None,
    rule: str | None = None,
    program_id: OptionalId = None,
) -> Any:
    """The queue over the user's programs: most severe first, then most recently seen (default: not resolved)."""
    flt = queries.AlertFilter(status=status, severity=severity, rule=rule, program_id=program_id)
    access.audit_list(request.user, "alerts", program_id=program_id)
    return queries.apply(access.alerts_for(request.user), flt)


@router.post("/alerts/{alert_id}/acknowledge", response=AlertOut)
def acknowledge_alert(request: HttpRequest, alert_id: Id) -> Any:
    alert = access.get_alert_for(request.user, alert_id)
    access.require_care_team_for(request.user, alert.patient)
    return access.get_alert_for(request.user, actions.acknowledge(actor=Actor.of(request.user), alert=alert).pk)


@router.post("/alerts/{alert_id}/resolve", response=AlertOut)
def resolve_alert(request: HttpRequest, alert_id: Id, payload: ResolveIn) -> Any:
    alert = access.get_alert_for(request.user, alert_id)
    access.require_care_team_for(request.user, alert.patient)
    resolved = actions.resolve(actor=Actor.of(request.user), alert=alert, note=payload.note)
    return access.get_alert_for(request.user, resolved.pk)


def _rule_config_out(program_id: int) -> dict[str, Any]:
    row = program_settings.stored(program_id)
    overrides = dict(row.overrides) if row is not None else {}
    config = program_settings.apply(overrides)
    return {
        "program_id": program_id,
        "thresholds": program_settings.describe(config, overrides),
        "updated_by": row.updated_by.get_username() if row is not None and row.updated_by else None,
        "updated_at": row.updated_at if row is not None else None,
    }


@router.get("/programs/{program_id}/rule-config", response=RuleConfigOut)
def get_rule_config(request: HttpRequest, program_id: Id) -> Any:
    """Every alert threshold of the program with its basis: published (with source) or program setting."""
    program = access.get_program_for(request.user, program_id)
    access.require_care_role(request.user, program, admin=True)
    return _rule_config_out(program.pk)


@router.put("/programs/{program_id}/rule-config", response=RuleConfigOut)
def put_rule_config(request: HttpRequest, program_id: Id, payload: RuleConfigIn) -> Any:
    """Replace the program's threshold overrides (program admin). Values are validated against RuleConfig."""
    program = access.get_program_for(request.user, program_id)
    access.require_care_role(request.user, program, admin=True)
    actions.set_rule_config(actor=Actor.of(request.user), program=program, overrides=dict(payload.overrides))
    return _rule_config_out(program.pk)
