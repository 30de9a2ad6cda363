"""The one access path for patient data: every scoping and authorization decision lives here.

Web views, API routers, the CLI and the demo loader ask this module which programs, patients, products,
lots and alerts a user may see or change; none of them queries a patient-data model on its own
(``tests/security/test_access_path.py`` scans them). Reads anchored to a patient already fetched here
(that patient's doses, labs, ...) go through the selectors in ``records/queries.py``,
``assessments/queries.py``, ``careplans/queries.py``, ``consent/queries.py`` and ``alerts/queries.py``.

Rules:
- staff see every program; clinicians and program admins see the patients of their programs (the care
  roles); a patient sees only their own record; researchers see no identifiable record;
- a write to a program's record needs a care role there (a program admin for the catalogue), and care
  data also needs the patient's active care consent (``consent.guard``);
- a care-team page, write or alert action on one patient is decided by ``require_care_team_for`` for pages and
  API alike: a care role in that patient's program, never on the login's own record (an account that is a patient
  in one program and a clinician in another is the care team only of others);
- "missing" and "not yours" are the same ``NotFound``, so existence is never revealed;
- a single-patient read is audited (``patient.read.<purpose>``), and so is a list read (``audit_list``);
- the command line acts as an explicit :class:`Operator` (the person at the server), audited by name like
  any other reader; it sees the whole registry, as staff do.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from kratomwatch.accounts.models import Membership, Program, Role
from kratomwatch.alerts.models import Alert
from kratomwatch.audit.log import Actor, record, record_refused_read
from kratomwatch.audit.models import AuditEvent
from kratomwatch.consent.guard import require_care_consent
from kratomwatch.core.errors import Forbidden, NotFound
from kratomwatch.nof1.models import Trial
from kratomwatch.records.models import Lot, Patient, Product
from kratomwatch.research.models import Cohort

CARE_ROLES = (Role.CLINICIAN, Role.PROGRAM_ADMIN)

__all__ = [
    "CARE_ROLES",
    "Forbidden",
    "NotFound",
    "Operator",
    "alerts_for",
    "audit_events_for",
    "audit_list",
    "care_patients_for",
    "catalogue_programs_for",
    "get_alert_for",
    "get_care_patient_for",
    "get_lot_for",
    "get_own_patient_for",
    "get_own_trial_for",
    "get_patient_for",
    "get_product_for",
    "get_program_for",
    "get_research_cohort_for",
    "get_research_program_for",
    "get_trial_for",
    "get_writable_patient_for",
    "is_care_user",
    "is_own_record",
    "lots_for",
    "may_view_audit",
    "operator",
    "patients_for",
    "products_for",
    "programs_for",
    "require_care_role",
    "require_care_team_for",
    "research_cohorts_for",
    "research_patients_for",
    "research_programs_for",
]


@dataclass(frozen=True)
class Operator:
    """The person running ``kratomwatch`` at the server: sees the registry as staff do, audited by login.

    Quacks like an authenticated staff user for the scoping below; it has no database row (``pk`` is None),
    so audit events carry its label (``cli:<login>``) and no user id.
    """

    login: str
    is_authenticated: bool = True
    is_staff: bool = True
    is_active: bool = True
    pk: None = None
    id: None = None

    def get_username(self) -> str:
        return f"cli:{self.login}"


def operator(login: str | None = None) -> Operator:
    """The command-line operator (the OS login unless named)."""
    return Operator(login or getpass.getuser())


def _authenticated(user: Any) -> bool:
    return bool(user) and bool(user.is_authenticated)


def _actor(user: Any, actor: Actor | None) -> Actor:
    return actor or Actor.of(user)


# --- programs and roles ----------------------------------------------------------------------------------


def programs_for(user: Any) -> QuerySet[Program]:
    """Programs whose patients the user may see: staff all, care roles their programs."""
    if not _authenticated(user):
        return Program.objects.none()
    if user.is_staff:
        return Program.objects.all()
    return Program.objects.filter(memberships__user=user, memberships__role__in=CARE_ROLES).distinct()


def is_care_user(user: Any) -> bool:
    """Staff, or a clinician / program admin of at least one program."""
    if not _authenticated(user):
        return False
    return bool(user.is_staff) or programs_for(user).exists()


def get_program_for(user: Any, program_id: int) -> Program:
    program = programs_for(user).filter(pk=program_id).first()
    if program is None:
        raise NotFound("program_id", program_id, f"program {program_id} not found")
    return program


def require_care_role(user: Any, program: Program, *, admin: bool = False) -> None:
    """Writes to a program's record need a care role there (``admin``: a program admin), or staff."""
    if _authenticated(user) and user.is_staff:
        return
    roles = [Role.PROGRAM_ADMIN] if admin else list(CARE_ROLES)
    if not _authenticated(user) or not program.memberships.filter(user=user, role__in=roles).exists():
        raise Forbidden("role", program.slug, f"your role does not allow this change in program {program.slug!r}")


# --- patients --------------------------------------------------------------------------------------------


def patients_for(user: Any) -> QuerySet[Patient]:
    """Patients the user may see: staff all, care roles their programs' patients, a patient their own."""
    if not _authenticated(user):
        return Patient.objects.none()
    if user.is_staff:
        return Patient.objects.all()
    care = Patient.objects.filter(program__in=programs_for(user))
    own = Patient.objects.filter(user=user)
    return (care | own).distinct()


def get_patient_for(user: Any, code: str, *, actor: Actor | None = None, purpose: str = "view") -> Patient:
    """Fetch one patient the user may see, and audit the read."""
    # A NUL byte is never in a code (and PostgreSQL refuses it in a query): not found, like any unknown code.
    patient = None if "\x00" in str(code) else patients_for(user).select_related("program").filter(code=code).first()
    if patient is None:
        # Audited like a read (D15), the same event for "not yours" and "missing", so nothing is revealed.
        record_refused_read(_actor(user, actor), code, purpose=purpose)
        raise NotFound("patient_code", code, f"patient {code!r} not found")
    _record_read(user, actor, patient, purpose)
    return patient


def _record_read(user: Any, actor: Actor | None, patient: Patient, purpose: str) -> None:
    record(
        _actor(user, actor),
        f"patient.read.{purpose}",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
    )


def get_own_patient_for(
    user: Any, code: str | None = None, *, actor: Actor | None = None, purpose: str = "view"
) -> Patient:
    """The patient record linked to this login (audited), or ``NotFound`` for any other record.

    Without ``code`` the login's own record is looked up. Care-team access does not count here: these are
    the patient's own pages.
    """
    if not _authenticated(user) or getattr(user, "pk", None) is None:
        raise NotFound("patient_code", code, "no patient record for this login")
    if code is None:
        code = Patient.objects.filter(user=user).values_list("code", flat=True).first()
        if code is None:
            raise NotFound("patient_code", None, "no patient record for this login")
    patient = get_patient_for(user, code, actor=actor, purpose=purpose)
    if patient.user_id is None or patient.user_id != user.pk:
        raise NotFound("patient_code", code, f"patient {code!r} not found")
    return patient


def is_own_record(user: Any, patient: Patient) -> bool:
    """True when ``patient`` is the record linked to this login."""
    return patient.user_id is not None and patient.user_id == getattr(user, "pk", None)


def require_care_team_for(user: Any, patient: Patient, *, admin: bool = False) -> None:
    """THE care-team check for one patient, used by the pages and the API alike (D13): a care role in *this
    patient's* program (``admin``: a program admin), or staff; and never on the login's own patient record,
    whatever roles it holds there or elsewhere. ``Forbidden`` (HTTP 403) otherwise."""
    if is_own_record(user, patient):
        raise Forbidden(
            "patient_code", patient.code, "this is your own record: only your care team can make care-team changes"
        )
    require_care_role(user, patient.program, admin=admin)


def get_care_patient_for(user: Any, code: str, *, actor: Actor | None = None, purpose: str = "care") -> Patient:
    """A patient the user sees as their care team (the clinician pages): visible (else ``NotFound``) and
    :func:`require_care_team_for` (else ``Forbidden``). Care consent is not checked: see
    :func:`get_writable_patient_for` for writes."""
    patient = get_patient_for(user, code, actor=actor, purpose=purpose)
    require_care_team_for(user, patient)
    return patient


def care_patients_for(user: Any) -> QuerySet[Patient]:
    """The patients the user cares for (the clinic dashboard): staff all, care roles their programs' patients;
    never the login's own record, which it sees through its own pages."""
    if not _authenticated(user):
        return Patient.objects.none()
    qs = Patient.objects.all() if user.is_staff else Patient.objects.filter(program__in=programs_for(user))
    pk = getattr(user, "pk", None)
    return qs.exclude(user_id=pk) if pk is not None else qs


def get_writable_patient_for(
    user: Any,
    code: str,
    *,
    actor: Actor | None = None,
    self_report_ok: bool = False,
    consent: bool = True,
) -> Patient:
    """A patient whose care record the user may change: visible, :func:`require_care_team_for` (or the patient
    themself where ``self_report_ok``), and, unless ``consent`` is False, active care consent or, for the care
    team only, a documented override (``ConsentRequired``, HTTP 403): an override never covers a self-report."""
    patient = get_patient_for(user, code, actor=actor, purpose="write")
    _require_writable(user, patient, self_report_ok=self_report_ok, consent=consent)
    return patient


def _require_writable(user: Any, patient: Patient, *, self_report_ok: bool, consent: bool) -> None:
    self_report = self_report_ok and is_own_record(user, patient)
    if not self_report:
        require_care_team_for(user, patient)
    if consent:
        require_care_consent(patient, care_team=not self_report)


@contextmanager
def writing_patient_for(
    user: Any, code: str, *, actor: Actor | None = None, self_report_ok: bool = False, consent: bool = True
) -> Iterator[Patient]:
    """:func:`get_writable_patient_for` for the one write done in the block.

    On SQLite, whose writers the database serializes anyway, the audited read is appended in the write's own
    transaction (one transaction fewer per write); when the check or the write is refused, the transaction is
    rolled back and the read is recorded again on its own, so every access stays in the trail. On PostgreSQL the
    read keeps its own transaction: an append holds the audit chain's lock until its commit, which would
    serialize every write's alert evaluation.
    """
    if connection.vendor != "sqlite":
        yield get_writable_patient_for(user, code, actor=actor, self_report_ok=self_report_ok, consent=consent)
        return
    visible: Patient | None = None
    try:
        with transaction.atomic():
            visible = get_patient_for(user, code, actor=actor, purpose="write")
            _require_writable(user, visible, self_report_ok=self_report_ok, consent=consent)
            yield visible
    except Exception:
        if visible is not None:  # the rollback took the read with it
            _record_read(user, actor, visible, "write")
        raise


# --- n-of-1 trials -------------------------------------------------------------------------------------------


def _visible_trial(user: Any, pk: object, actor: Actor | None, purpose: str) -> tuple[Trial, Patient]:
    """A trial of a patient the user may see, the read audited through the patient; ``NotFound`` (and a refused
    read in the trail) for a missing trial and another's alike."""
    trial = None
    if isinstance(pk, int) and not isinstance(pk, bool):
        trial = Trial.objects.filter(pk=pk, patient__in=patients_for(user)).select_related("patient").first()
    if trial is None:
        record_refused_read(_actor(user, actor), f"nof1-trial:{pk}", purpose=purpose)
        raise NotFound("trial_id", pk, f"n-of-1 trial {pk} not found")
    patient = get_patient_for(user, trial.patient.code, actor=actor, purpose=purpose)
    trial.patient = patient
    return trial, patient


def get_trial_for(
    user: Any, pk: object, *, write: bool = False, own_ok: bool = False, actor: Actor | None = None
) -> Trial:
    """An n-of-1 trial for its patient's care team (:func:`require_care_team_for`, else ``Forbidden``); with
    ``write``, also the patient's active care consent (or a documented override). ``own_ok`` lets the patient read
    their own trial too (never write through this: the patient signs and withdraws through
    :func:`get_own_trial_for`). Audited through the patient read; ``NotFound`` hides existence."""
    trial, patient = _visible_trial(user, pk, actor, "nof1_write" if write else "nof1")
    if write:
        _require_writable(user, patient, self_report_ok=False, consent=True)
    elif not (own_ok and is_own_record(user, patient)):
        require_care_team_for(user, patient)
    return trial


def get_own_trial_for(user: Any, pk: object, *, actor: Actor | None = None) -> Trial:
    """An n-of-1 trial of the login's own patient record (the patient's pages: sign, running view, withdraw);
    ``NotFound`` for any other, like a missing one. Audited through the patient read."""
    trial, patient = _visible_trial(user, pk, actor, "nof1_own")
    if not is_own_record(user, patient):
        raise NotFound("trial_id", pk, f"n-of-1 trial {pk} not found")
    return trial


# --- research ----------------------------------------------------------------------------------------------


def research_programs_for(user: Any) -> QuerySet[Program]:
    """Programs whose de-identified research data the user may export: staff all, researchers their programs.
    A researcher sees no identifiable record anywhere; the research scope gives only counts and exports."""
    if not _authenticated(user):
        return Program.objects.none()
    if user.is_staff:
        return Program.objects.all()
    return Program.objects.filter(memberships__user=user, memberships__role=Role.RESEARCHER).distinct()


def get_research_program_for(user: Any, program_id: int) -> Program:
    """A program in the user's research scope; ``Forbidden`` for a program the user sees in another role (a
    clinician of it), ``NotFound`` for any other (missing and not yours alike)."""
    program = research_programs_for(user).filter(pk=program_id).first()
    if program is not None:
        return program
    if programs_for(user).filter(pk=program_id).exists():
        raise Forbidden("program_id", program_id, "research exports are for the program's researchers")
    raise NotFound("program_id", program_id, f"program {program_id} not found")


def research_patients_for(user: Any, program: Program) -> QuerySet[Patient]:
    """The input of the de-identified research export and of the research home's counts, never shown as rows:
    the program's patients, for a user in its research scope (``get_research_program_for`` otherwise refuses).
    The export keeps only those with active research consent and de-identifies them (``research.export``)."""
    checked = get_research_program_for(user, program.pk)
    return Patient.objects.filter(program=checked)


def research_cohorts_for(user: Any) -> QuerySet[Cohort]:
    """Saved cohorts (definitions, never rows) of the programs in the user's research scope."""
    return Cohort.objects.filter(program__in=research_programs_for(user)).select_related("program")


def get_research_cohort_for(user: Any, cohort_id: int) -> Cohort:
    """A saved cohort of a program in the user's research scope; ``Forbidden`` for a cohort of a program the user
    sees in another role (a clinician of it), ``NotFound`` for any other (missing and another program's alike)."""
    cohort = research_cohorts_for(user).filter(pk=cohort_id).first()
    if cohort is not None:
        return cohort
    program_id = Cohort.objects.filter(pk=cohort_id).values_list("program_id", flat=True).first()
    if program_id is not None and programs_for(user).filter(pk=program_id).exists():
        raise Forbidden("cohort_id", cohort_id, "cohorts are for the program's researchers")
    raise NotFound("cohort_id", cohort_id, f"cohort {cohort_id} not found")


# --- the product catalogue ---------------------------------------------------------------------------------


def catalogue_programs_for(user: Any) -> QuerySet[Program]:
    """Programs whose product catalogue the user may read: care programs, or the patient's own program."""
    if not _authenticated(user):
        return Program.objects.none()
    if user.is_staff:
        return Program.objects.all()
    own = Q(patients__user=user) if getattr(user, "pk", None) is not None else Q(pk__in=[])
    return Program.objects.filter(Q(pk__in=programs_for(user).values("pk")) | own).distinct()


def products_for(user: Any, program_id: int | None = None) -> QuerySet[Product]:
    qs = Product.objects.filter(program__in=catalogue_programs_for(user)).order_by("vendor", "name")
    return qs.filter(program_id=program_id) if program_id is not None else qs


def get_product_for(user: Any, product_id: int) -> Product:
    product = products_for(user).filter(pk=product_id).select_related("program").first()
    if product is None:
        raise NotFound("product_id", product_id, f"product {product_id} not found")
    return product


def lots_for(user: Any, *, program_id: int | None = None, product_id: int | None = None) -> QuerySet[Lot]:
    qs = Lot.objects.select_related("product__program").filter(product__program__in=catalogue_programs_for(user))
    if program_id is not None:
        qs = qs.filter(product__program_id=program_id)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    return qs.order_by("product__vendor", "product__name", "lot_code")


def get_lot_for(user: Any, lot_id: int) -> Lot:
    lot = lots_for(user).filter(pk=lot_id).first()
    if lot is None:
        raise NotFound("lot_id", lot_id, f"lot {lot_id} not found")
    return lot


# --- alerts ----------------------------------------------------------------------------------------------


def alerts_for(user: Any) -> QuerySet[Alert]:
    """Alerts of the patients of the user's care programs (alerts are for the care team, not the patient: never
    those of the login's own record, whatever its roles)."""
    qs = Alert.objects.filter(patient__program__in=programs_for(user))
    pk = getattr(user, "pk", None)
    if pk is not None:
        qs = qs.exclude(patient__user_id=pk)
    return qs.select_related("patient", "patient__program", "acknowledged_by", "resolved_by")


def get_alert_for(user: Any, alert_id: int) -> Alert:
    alert = alerts_for(user).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("alert_id", alert_id, f"alert {alert_id} not found")
    return alert


# --- the audit trail ---------------------------------------------------------------------------------------


def may_view_audit(user: Any) -> bool:
    """Staff (and the operator) see every event; program admins see their programs' events; nobody else."""
    if not _authenticated(user):
        return False
    return bool(user.is_staff) or Membership.objects.filter(user=user, role=Role.PROGRAM_ADMIN).exists()


def audit_events_for(user: Any) -> QuerySet[AuditEvent]:
    """The audit events ``user`` may read (filters and order: ``audit/queries.py``)."""
    if _authenticated(user) and user.is_staff:
        return AuditEvent.objects.all()
    if not may_view_audit(user):
        return AuditEvent.objects.none()
    programs = Membership.objects.filter(user=user, role=Role.PROGRAM_ADMIN).values("program_id")
    return AuditEvent.objects.filter(program_id__in=programs)


# --- auditing list reads ---------------------------------------------------------------------------------


def audit_list(
    user: Any,
    what: str,
    *,
    actor: Actor | None = None,
    count: int | None = None,
    program_id: int | None = None,
) -> None:
    """Audit a list read of patient data (who looked at which list)."""
    record(
        _actor(user, actor),
        f"list.{what}",
        object_type=what,
        program_id=program_id,
        detail={"count": count} if count is not None else {},
    )
