"""Alert endpoints: a patient's alerts, the program queue, acknowledge/resolve, and program rule thresholds.

Reads go through ``kratomwatch.access`` (a user who may not see a patient or alert gets 404); writes through
``alerts.actions``. Alerts are for the care team: patients and researchers see none.
"""

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from kratomwatch import access
from kratomwatch.alerts import actions
from kratomwatch.alerts import config as alert_config
from kratomwatch.alerts.models import Alert, AlertStatus, ProgramRuleConfig
from kratomwatch.api.records import actor_of, require_care

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


def _status(qs: QuerySet[Alert], status: StatusFilter | None) -> QuerySet[Alert]:
    if status is None or status == "active":
        return qs.exclude(status=AlertStatus.RESOLVED)
    if status == "all":
        return qs
    return qs.filter(status=status)


def _care_programs(request: HttpRequest) -> Any:
    return access.programs_for(request.user)


def _alerts_for(request: HttpRequest) -> QuerySet[Alert]:
    return Alert.objects.select_related("patient", "acknowledged_by", "resolved_by").filter(
        patient__program__in=_care_programs(request)
    )


def _alert(request: HttpRequest, alert_id: int) -> Alert:
    alert = _alerts_for(request).filter(pk=alert_id).first()
    if alert is None:
        raise access.NotFound("alert_id", alert_id, f"alert {alert_id} not found")
    return alert


@router.get("/patients/{code}/alerts", response=list[AlertOut])
@paginate(PageNumberPagination, page_size=50)
def list_patient_alerts(request: HttpRequest, code: str, status: StatusFilter | None = None) -> Any:
    """A patient's alerts, most severe first (default: not resolved)."""
    patient = access.get_patient_for(request.user, code, actor=actor_of(request), purpose="alerts")
    if not _care_programs(request).filter(pk=patient.program_id).exists():
        raise access.NotFound("patient_code", code, f"patient {code!r} not found")
    return _status(_alerts_for(request).filter(patient=patient), status).order_by(
        "-severity_rank", "-last_seen_at", "id"
    )


@router.get("/alerts", response=list[AlertOut])
@paginate(PageNumberPagination, page_size=50)
def alert_queue(
    request: HttpRequest,
    status: StatusFilter | None = None,
    severity: SeverityFilter | None = None,
    rule: str | None = None,
    program_id: int | None = None,
) -> Any:
    """The queue over the user's programs: most severe first, then most recently seen (default: not resolved)."""
    qs = _status(_alerts_for(request), status)
    if severity:
        qs = qs.filter(severity=severity)
    if rule:
        qs = qs.filter(rule_id=rule)
    if program_id is not None:
        qs = qs.filter(patient__program_id=program_id)
    access.audit_list(request.user, "alerts", actor=actor_of(request), program_id=program_id)
    return qs.order_by("-severity_rank", "-last_seen_at", "id")


@router.post("/alerts/{alert_id}/acknowledge", response=AlertOut)
def acknowledge_alert(request: HttpRequest, alert_id: int) -> Any:
    alert = _alert(request, alert_id)
    require_care(request, alert.patient.program)
    return _alert_fresh(actions.acknowledge(actor=actor_of(request), alert=alert))


@router.post("/alerts/{alert_id}/resolve", response=AlertOut)
def resolve_alert(request: HttpRequest, alert_id: int, payload: ResolveIn) -> Any:
    alert = _alert(request, alert_id)
    require_care(request, alert.patient.program)
    return _alert_fresh(actions.resolve(actor=actor_of(request), alert=alert, note=payload.note))


def _alert_fresh(alert: Alert) -> Alert:
    return Alert.objects.select_related("patient", "acknowledged_by", "resolved_by").get(pk=alert.pk)


def _rule_config_out(program_id: int) -> dict[str, Any]:
    row = ProgramRuleConfig.objects.select_related("updated_by").filter(program_id=program_id).first()
    overrides = dict(row.overrides) if row is not None else {}
    config = alert_config.rule_config(overrides)
    return {
        "program_id": program_id,
        "thresholds": alert_config.describe(config, overrides),
        "updated_by": row.updated_by.get_username() if row is not None and row.updated_by else None,
        "updated_at": row.updated_at if row is not None else None,
    }


@router.get("/programs/{program_id}/rule-config", response=RuleConfigOut)
def get_rule_config(request: HttpRequest, program_id: int) -> Any:
    """Every alert threshold of the program with its basis: published (with source) or program setting."""
    program = access.get_program_for(request.user, program_id)
    require_care(request, program, admin=True)
    return _rule_config_out(program.pk)


@router.put("/programs/{program_id}/rule-config", response=RuleConfigOut)
def put_rule_config(request: HttpRequest, program_id: int, payload: RuleConfigIn) -> Any:
    """Replace the program's threshold overrides (program admin). Values are validated against RuleConfig."""
    program = access.get_program_for(request.user, program_id)
    require_care(request, program, admin=True)
    actions.set_rule_config(actor=actor_of(request), program=program, overrides=dict(payload.overrides))
    return _rule_config_out(program.pk)
