"""Alerts in the record: every rule family end to end from stored data, dedup, lifecycle, sweep, API, CLI."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import typer
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from typer.testing import CliRunner

from kratomwatch.alerts import actions as alert_actions
from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.alerts.snapshots import KnowledgeCache, build_snapshots
from kratomwatch.assessments.actions import record_assessment, set_schedule
from kratomwatch.audit.models import AuditEvent
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.records import actions
from kratomwatch.records.models import Dose
from tests.helpers import add_patient

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")


def open_alerts(patient: Any, rule_id: str | None = None) -> list[Alert]:
    qs = Alert.objects.filter(patient=patient).exclude(status=AlertStatus.RESOLVED)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    return list(qs.order_by("subject_key"))


def now() -> dt.datetime:
    return timezone.now()


def today_chicago() -> dt.date:
    return now().astimezone(CHICAGO).date()


def answers_for(instrument_id: str, *, high: bool) -> list[int | None]:
    definition = ins.get(instrument_id)
    return [max(it.allowed_values) if high else min(it.allowed_values) for it in definition.items]


def phq9(item9: int, *, rest: int = 1) -> list[int | None]:
    return [rest] * 8 + [item9]


def doses(w: Any, patient: Any, plan: dict[int, float], *, lot: Any = None, hour: int = 9) -> None:
    """One dose on each local day ``today - k`` (k in plan) of ``plan[k]`` grams."""
    rows = []
    tz = ZoneInfo(patient.time_zone)
    today = now().astimezone(tz).date()
    for i, (k, grams) in enumerate(sorted(plan.items())):
        taken = dt.datetime.combine(today - dt.timedelta(days=k), dt.time(hour), tz)
        rows.append(
            (
                i + 1,
                actions.DoseIn(
                    patient_code=patient.code,
                    lot_id=(lot or w.leaf_cert_lot).pk,
                    taken_at=taken,
                    amount=grams,
                    unit="g",
                    idempotency_key=f"t-{patient.code}-{k}-{hour}",
                ),
            )
        )
    result = actions.import_doses(actor=actions_actor(), rows=rows)
    assert result.ok, result.rejected


def actions_actor() -> Any:
    from kratomwatch.audit.log import Actor

    return Actor.system("test")


# --- every family from stored data ---------------------------------------------------------------


def test_phq9_item9_recorded_through_assessments_creates_an_urgent_alert_on_write(world: Any, system: Any) -> None:
    record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=phq9(1),
        administered_at=now() - dt.timedelta(hours=1),
        source="self_report",
    )
    [alert] = open_alerts(world.patient, "suicidality")
    assert alert.severity == "urgent" and alert.subject_key == "phq9:item9"
    assert alert.status == "open" and alert.sources and alert.evidence_as_of is not None


def test_hys_law_lab_pair_creates_an_urgent_liver_alert(world: Any, system: Any) -> None:
    when = now() - dt.timedelta(days=1)
    actions.record_lab(
        actor=system, patient=world.patient, test="alt", value=240, unit="U/L", upper_limit_normal=40, taken_at=when
    )
    assert {a.subject_key: a.severity for a in open_alerts(world.patient, "liver")} == {"lab:alt": "high"}
    actions.record_lab(
        actor=system,
        patient=world.patient,
        test="total_bilirubin",
        value=3.0,
        unit="mg/dL",
        upper_limit_normal=1.2,
        taken_at=when,
    )
    liver = {a.subject_key: a.severity for a in open_alerts(world.patient, "liver")}
    assert liver == {"lab:alt": "high", "lab:hys_law": "urgent"}


def test_qtc_over_500_is_a_cardiac_alert(world: Any, system: Any) -> None:
    actions.record_lab(
        actor=system,
        patient=world.patient,
        test="qtc",
        value=512,
        unit="ms",
        upper_limit_normal=None,
        taken_at=now() - dt.timedelta(days=2),
    )
    [alert] = open_alerts(world.patient, "cardiac")
    assert alert.severity == "high" and alert.subject_key == "ecg:qtc"


def test_medications_screened_into_interaction_alerts_with_the_opioid_benzodiazepine_combination(
    world: Any, system: Any
) -> None:
    actions.record_medication(actor=system, patient=world.patient, name="alprazolam 0.5 mg")
    actions.record_medication(actor=system, patient=world.patient, name="oxycodone")
    actions.record_medication(
        actor=system, patient=world.patient, name="sertraline", start=dt.date(2020, 1, 1), stop=dt.date(2021, 1, 1)
    )
    keys = {a.subject_key: a.severity for a in open_alerts(world.patient, "interaction")}
    assert keys["interaction:combination:opioid_benzodiazepine"] == "high"
    assert "interaction:alprazolam" in keys and "interaction:oxycodone" in keys
    assert "interaction:sertraline" not in keys  # stopped: not an active medication


def test_serious_adverse_event_is_urgent_and_a_mild_one_is_not_an_alert(world: Any, system: Any) -> None:
    actions.record_adverse_event(
        actor=system, patient=world.patient, term="nausea", onset=today_chicago() - dt.timedelta(days=3), grade=1
    )
    assert open_alerts(world.patient, "serious_adverse_event") == []
    ae = actions.record_adverse_event(
        actor=system,
        patient=world.patient,
        term="seizure",
        onset=today_chicago() - dt.timedelta(days=2),
        grade=3,
        seriousness=["hospitalization"],
    )
    [alert] = open_alerts(world.patient, "serious_adverse_event")
    assert alert.severity == "urgent" and alert.subject_key == f"ae:{ae.pk}"


def test_withdrawal_dependence_and_mood_from_stored_assessments(world: Any, system: Any) -> None:
    at = now() - dt.timedelta(hours=2)
    for instrument in ("cows", "dsm5_sud"):
        record_assessment(
            actor=system,
            patient=world.patient,
            instrument_id=instrument,
            answers=answers_for(instrument, high=True),
            administered_at=at,
            source="clinician",
        )
    record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=phq9(0, rest=3),
        administered_at=at,
        source="self_report",
    )
    assert {a.subject_key: a.severity for a in open_alerts(world.patient, "withdrawal")} == {"withdrawal:cows": "high"}
    assert {a.subject_key: a.severity for a in open_alerts(world.patient, "dependence")} == {
        "dsm5:kratom_use_disorder": "high"
    }
    assert {a.subject_key for a in open_alerts(world.patient, "mood")} == {"phq9:severe"}
    assert open_alerts(world.patient, "suicidality") == []


def test_no_benefit_after_eight_weeks_of_flat_pain(world: Any, system: Any) -> None:
    for weeks_ago, value in ((9, 8), (0, 7)):
        record_assessment(
            actor=system,
            patient=world.patient,
            instrument_id="peg",
            answers=[value, value, value],
            administered_at=now() - dt.timedelta(weeks=weeks_ago, hours=1),
            source="self_report",
        )
    [alert] = open_alerts(world.patient, "no_benefit")
    assert alert.subject_key == "pain:peg" and alert.severity == "moderate"
    # IMMPACT's 30% is defined for pain-intensity ratings: on the PEG it is the program's threshold.
    assert not alert.sources and alert.program_settings == ["no_benefit_weeks", "no_benefit_percent"]
    assert "program setting" in alert.reason


def test_escalation_gaps_and_risky_product_from_doses(world: Any, system: Any) -> None:
    plan = dict.fromkeys(range(7, 35), 2.0) | dict.fromkeys(range(1, 7), 5.0)
    doses(world, world.patient, plan)
    [ratio] = [a for a in open_alerts(world.patient, "escalation") if a.subject_key == "exposure:ratio"]
    assert ratio.severity == "moderate" and ratio.program_settings == ["escalation_ratio", "min_baseline_mg"]
    actions.record_dose(
        actor=system,
        patient=world.patient,
        dose=actions.DoseIn(
            patient_code="P-001", lot_id=world.shot_lot.pk, taken_at=now() - dt.timedelta(hours=3), amount=5, unit="mL"
        ),
    )
    risky = {a.subject_key: a.severity for a in open_alerts(world.patient, "risky_product")}
    assert risky == {"product:V Shot:unknown_potency": "moderate"}


def test_pregnancy_legal_and_recalled_lot(world: Any, system: Any) -> None:
    patient = add_patient(world, "P-PREG", birth_year=1990, jurisdiction="US-AL", pregnant=True)
    recalled = actions.create_lot(actor=system, product=world.leaf, lot_code="R9", recalled=True)
    actions.record_dose(
        actor=system,
        patient=patient,
        dose=actions.DoseIn(
            patient_code=patient.code, lot_id=recalled.pk, taken_at=now() - dt.timedelta(hours=2), amount=2, unit="g"
        ),
    )
    found = {(a.rule_id, a.subject_key): a for a in open_alerts(patient)}
    assert found[("pregnancy", "pregnancy:pregnant")].severity == "high"
    assert found[("legal", "legal:kratom:US-AL")].severity == "moderate"
    recall = found[("risky_product", "lot:R9:recalled")]
    assert recall.severity == "high" and recall.program_settings == ["recalled_lot_policy"]


@pytest.mark.parametrize(("program_cap", "enhanced"), [(None, True), (3.0, False)])
def test_enhanced_product_follows_the_programs_cap_and_a_jurisdictions_cap_still_applies(
    world: Any, system: Any, program_cap: float | None, enhanced: bool
) -> None:
    """A lot with 7-OH at 2.5% of total alkaloids is enhanced under the default 2% cap and not for a program whose
    cap is 3%, whatever flag was stored with the dose. Kentucky's 2% cap (KRS 217.2202, in the knowledge data)
    still makes the product over the cap there."""
    if program_cap is not None:
        overrides = {"seven_oh_cap_percent": program_cap}
        alert_actions.set_rule_config(actor=system, program=world.program, overrides=overrides)
    patient = add_patient(world, "P-KY", jurisdiction="US-KY")
    hot = actions.create_product(actor=system, program=world.program, vendor="V", name="Hot", form="leaf_powder")
    certificate = actions.CertificateIn("mg/g", 9.75, 0.25)  # 0.25 / 10 = 2.5% of total alkaloids
    lot = actions.create_lot(actor=system, product=hot, lot_code="H1", certificate=certificate)
    taken = now() - dt.timedelta(hours=2)
    dose = actions.DoseIn(patient_code=patient.code, lot_id=lot.pk, taken_at=taken, amount=2, unit="g")
    actions.record_dose(actor=system, patient=patient, dose=dose)
    Dose.objects.filter(patient=patient).update(enhanced=not enhanced)  # a stored flag that disagrees is not read
    alert_actions.sweep(actor=system)
    found = {(a.rule_id, a.subject_key): a for a in open_alerts(patient) if a.condition_cleared_at is None}
    assert (("risky_product", "product:V Hot:enhanced") in found) is enhanced
    assert (("risky_product", "lot:H1:seven_oh") in found) is enhanced
    legal = found[("legal", "legal:product:V Hot")]
    assert legal.severity == "moderate" and "over the 7-OH cap" in legal.title


def test_a_dose_stored_without_a_share_takes_the_lots_certificate_share_of_all_alkaloids(
    world: Any, system: Any
) -> None:
    lot = actions.create_lot(
        actor=system,
        product=world.leaf,
        lot_code="L7",
        certificate=actions.CertificateIn("mg/g", 7.7, 0.3, {"paynantheine": 2.0}),  # 0.3 / 10 = 3%
    )
    dose = actions.DoseIn(
        patient_code="P-001", lot_id=lot.pk, taken_at=now() - dt.timedelta(hours=1), amount=1, unit="g"
    )
    actions.record_dose(actor=system, patient=world.patient, dose=dose)
    Dose.objects.filter(lot=lot).update(seven_oh_share_percent=None)
    snap = build_snapshots([world.patient])[world.patient.pk]
    assert snap.doses.max_seven_oh is not None and snap.doses.max_seven_oh.lot == "L7"
    assert snap.doses.max_seven_oh.percent == pytest.approx(3.0)


def test_missed_follow_up_from_schedules_on_write_and_in_the_sweep(world: Any, system: Any) -> None:
    set_schedule(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        every_days=14,
        start=today_chicago() - dt.timedelta(days=20),
    )
    assert open_alerts(world.patient, "missed_followup"), "setting an overdue schedule raises the alert at once"
    result = alert_actions.sweep(actor=system)
    assert result.created == 0 and result.unchanged >= 1
    [alert] = open_alerts(world.patient, "missed_followup")
    assert alert.subject_key == "schedule:phq9" and alert.severity == "moderate"


# --- dedup, lifecycle, idempotency ------------------------------------------------------------------


def test_one_open_alert_per_rule_and_subject(world: Any, system: Any) -> None:
    for hours in (5, 3):
        record_assessment(
            actor=system,
            patient=world.patient,
            instrument_id="phq9",
            answers=phq9(2),
            administered_at=now() - dt.timedelta(hours=hours),
            source="self_report",
        )
    assert len(open_alerts(world.patient, "suicidality")) == 1
    alert = open_alerts(world.patient, "suicidality")[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            patient=world.patient,
            rule_id=alert.rule_id,
            subject_key=alert.subject_key,
            severity="urgent",
            severity_rank=4,
            title="dup",
            reason="dup",
            first_seen_at=now(),
            last_seen_at=now(),
            evaluated_as_of=today_chicago(),
        )


def _suicidality(world: Any, system: Any, hours: float = 1, item9: int = 1, patient: Any = None) -> Alert:
    patient = patient or world.patient
    record_assessment(
        actor=system,
        patient=patient,
        instrument_id="phq9",
        answers=phq9(item9),
        administered_at=now() - dt.timedelta(hours=hours),
        source="self_report",
    )
    return open_alerts(patient, "suicidality")[0]


def test_lifecycle_transitions_are_audited_and_invalid_ones_name_status(world: Any, system: Any) -> None:
    alert = _suicidality(world, system)
    before = AuditEvent.objects.count()
    alert = alert_actions.acknowledge(actor=system, alert=alert)
    assert alert.status == "acknowledged" and alert.acknowledged_at is not None
    with pytest.raises(InputError) as exc:
        alert_actions.acknowledge(actor=system, alert=alert)
    assert exc.value.field == "status"
    with pytest.raises(InputError) as exc:
        alert_actions.resolve(actor=system, alert=alert, note="  ")
    assert exc.value.field == "note"
    alert = alert_actions.resolve(actor=system, alert=alert, note="Safety plan reviewed by phone")
    assert alert.status == "resolved" and alert.resolution_note == "Safety plan reviewed by phone"
    with pytest.raises(InputError) as exc:
        alert_actions.resolve(actor=system, alert=alert, note="again")
    assert exc.value.field == "status"
    with pytest.raises(InputError) as exc:
        alert_actions.acknowledge(actor=system, alert=alert)
    assert exc.value.field == "status"
    actions_logged = list(AuditEvent.objects.order_by("id").values_list("action", flat=True)[before:])
    assert actions_logged == ["alert.acknowledge", "alert.resolve"]
    # The same finding does not reopen; new evidence (a later PHQ-9) opens a new alert.
    assert alert_actions.sweep(actor=system).created == 0
    assert open_alerts(world.patient, "suicidality") == []
    _suicidality(world, system, hours=0.5, item9=2)
    assert len(open_alerts(world.patient, "suicidality")) == 1
    assert Alert.objects.filter(patient=world.patient, rule_id="suicidality").count() == 2


def test_sweep_is_idempotent_and_never_auto_resolves(world: Any, system: Any) -> None:
    alert = _suicidality(world, system)
    actions.record_lab(
        actor=system, patient=world.patient, test="alt", value=250, unit="U/L", upper_limit_normal=40, taken_at=now()
    )
    first = alert_actions.sweep(actor=system)
    second = alert_actions.sweep(actor=system)
    stored = Alert.objects.exclude(status="resolved").count()
    assert stored >= 2
    assert (second.created, second.updated, second.cleared) == (0, 0, 0)
    assert second.unchanged == stored == first.created + first.updated + first.unchanged
    # The condition clears (a normal PHQ-9): the alert stays open, marked, until a clinician resolves it.
    record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=phq9(0, rest=0),
        administered_at=now() - dt.timedelta(minutes=1),
        source="self_report",
    )
    alert.refresh_from_db()
    assert alert.status == "open" and alert.condition_cleared_at is not None
    third = alert_actions.sweep(actor=system)
    assert (third.created, third.updated, third.cleared) == (0, 0, 0)


def test_next_day_sweep_moves_only_the_seen_columns_and_a_returning_condition_reopens_the_mark(
    world: Any, system: Any
) -> None:
    alert = _suicidality(world, system)
    today = today_chicago()
    first = alert_actions.sweep(actor=system, as_of=today)
    alert.refresh_from_db()
    content = (alert.severity, alert.title, alert.reason, alert.sources, alert.first_seen_at)
    later = now() + dt.timedelta(days=1)
    next_day = alert_actions.sweep(actor=system, as_of=today + dt.timedelta(days=1), now=later)
    assert next_day.created == 0 and next_day.updated >= 1 and next_day.unchanged < first.unchanged + first.updated
    alert.refresh_from_db()
    assert alert.evaluated_as_of == today + dt.timedelta(days=1) and alert.last_seen_at == later
    assert (alert.severity, alert.title, alert.reason, alert.sources, alert.first_seen_at) == content
    # An earlier as_of never moves the evaluation date back.
    alert_actions.sweep(actor=system, as_of=today - dt.timedelta(days=3))
    alert.refresh_from_db()
    assert alert.evaluated_as_of == today + dt.timedelta(days=1)
    # Cleared, then the condition returns: the same open alert loses its cleared mark (no second alert).
    for item9 in (0, 2):
        record_assessment(
            actor=system,
            patient=world.patient,
            instrument_id="phq9",
            answers=phq9(item9, rest=0),
            administered_at=now() - dt.timedelta(seconds=30 - item9),
            source="self_report",
        )
        alert.refresh_from_db()
        assert (alert.condition_cleared_at is not None) == (item9 == 0)
    assert len(open_alerts(world.patient, "suicidality")) == 1
    # The rewritten row reads back with its JSON lists and dates intact (not JSON text).
    assert alert.severity == "urgent" and alert.sources and all(isinstance(x, str) for x in alert.sources)
    assert isinstance(alert.program_settings, list) and alert.evaluated_as_of >= today


def test_a_batch_leaves_alone_the_patients_between_its_ids(world: Any, system: Any) -> None:
    # A batch's queries may select a range of patient ids; a patient inside that range but outside the batch
    # (here Q-001, created between P-001 and R-001) must keep its alerts exactly as they are.
    foreign = _suicidality(world, system, patient=world.foreign_patient)
    third = add_patient(world, "R-001", birth_year=1990, sex="male")
    assert world.patient.pk < world.foreign_patient.pk < third.pk
    result = alert_actions.evaluate_patients([world.patient.pk, third.pk])
    assert result.patients == 2 and result.cleared == 0
    foreign.refresh_from_db()
    assert foreign.condition_cleared_at is None and foreign.status == "open"
    snaps = build_snapshots([world.patient, third])
    assert set(snaps) == {world.patient.pk, third.pk}
    assert not snaps[third.pk].assessments  # Q-001's PHQ-9 is not R-001's


def test_program_threshold_override_changes_what_fires_and_its_basis(world: Any, system: Any) -> None:
    plan = dict.fromkeys(range(7, 35), 2.0) | dict.fromkeys(range(1, 7), 3.0)  # ratio ~1.29
    doses(world, world.patient, plan)
    assert [a for a in open_alerts(world.patient, "escalation") if a.subject_key == "exposure:ratio"] == []
    alert_actions.set_rule_config(actor=system, program=world.program, overrides={"escalation_ratio": 1.2})
    alert_actions.sweep(actor=system)
    assert [a.subject_key for a in open_alerts(world.patient, "escalation")].count("exposure:ratio") == 1
    with pytest.raises(InputError) as exc:
        alert_actions.set_rule_config(actor=system, program=world.program, overrides={"escalation_ratio": 0.5})
    assert exc.value.field == "escalation_ratio"
    with pytest.raises(InputError) as exc:
        alert_actions.set_rule_config(actor=system, program=world.program, overrides={"bogus": 1})
    assert exc.value.field == "bogus"


# --- snapshots ------------------------------------------------------------------------------------


def test_batch_snapshots_equal_single_patient_snapshots_and_the_core_trend(world: Any, system: Any) -> None:
    second = add_patient(world, "P-002", birth_year=1970, sex="male")
    doses(world, world.patient, {k: 2.0 + (k % 3) for k in range(1, 36)})
    doses(world, world.patient, dict.fromkeys(range(2, 36, 2), 1.0), hour=15)
    doses(world, second, dict.fromkeys(range(3, 20), 4.0), lot=world.leaf_plain_lot)
    actions.record_medication(actor=system, patient=second, name="alprazolam")
    actions.record_lab(
        actor=system, patient=second, test="qtc", value=430, unit="ms", upper_limit_normal=None, taken_at=now()
    )
    patients = [world.patient, second, world.foreign_patient]
    together = build_snapshots(patients)
    for patient in patients:
        assert build_snapshots([patient])[patient.pk] == together[patient.pk]
    snap = together[world.patient.pk]
    rows = Dose.objects.filter(patient=world.patient)
    core = exposure.trend(
        [exposure.DoseEvent(d.taken_at, d.mitragynine_mg, d.seven_oh_mg) for d in rows], CHICAGO, snap.as_of
    )
    assert snap.trend is not None
    for name in (
        "recent_mean_mg",
        "baseline_mean_mg",
        "recent_doses_per_day",
        "baseline_doses_per_day",
        "recent_mean_gap_hours",
        "baseline_mean_gap_hours",
        "recent_mean_first_dose_minute",
        "baseline_mean_first_dose_minute",
    ):
        assert getattr(snap.trend, name) == pytest.approx(getattr(core, name)), name
    assert snap.doses.doses_in_window == rows.filter(local_date__gte=snap.as_of - dt.timedelta(days=6)).count()
    assert together[second.pk].medications is not None and together[second.pk].labs.qtc_ms == 430


def test_snapshots_read_each_family_once_per_batch_whatever_its_size(world: Any, system: Any) -> None:
    """Set-based: the number of queries does not grow with the patients in a batch (one per family)."""
    patients = [world.patient, add_patient(world, "P-002"), add_patient(world, "P-003")]
    for n, patient in enumerate(patients):
        doses(world, patient, dict.fromkeys(range(1, 30, 3), 2.0))
        actions.record_medication(actor=system, patient=patient, name="alprazolam")
        actions.record_lab(
            actor=system, patient=patient, test="qtc", value=430 + n, unit="ms", upper_limit_normal=None, taken_at=now()
        )
        actions.record_adverse_event(
            actor=system, patient=patient, term="nausea", onset=today_chicago() - dt.timedelta(days=2), grade=1
        )
        record_assessment(
            actor=system,
            patient=patient,
            instrument_id="phq9",
            answers=phq9(0),
            administered_at=now() - dt.timedelta(hours=1),
            source="self_report",
        )
        set_schedule(actor=system, patient=patient, instrument_id="gad7", every_days=14, start=today_chicago())
    cache = KnowledgeCache()

    def queries(batch: list[Any]) -> int:
        with CaptureQueriesContext(connection) as captured:
            snaps = build_snapshots(batch, cache=cache)
        assert set(snaps) == {p.pk for p in batch}
        return len(captured.captured_queries)

    one, three = queries(patients[:1]), queries(patients)
    # daily, doses, lots, assessments, pain, labs, adverse events, medications, schedules, last valid assessment
    assert one == three == 10


# --- API ------------------------------------------------------------------------------------------


def call(w: Any, user: str | None, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {w.tokens[user]}"} if user else {}
    fn = getattr(client, method)
    if body is None:
        response = fn(f"/api/v1{path}", **headers)
    else:
        response = fn(f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def test_api_access_control_queue_and_lifecycle(world: Any, system: Any) -> None:
    alert = _suicidality(world, system)
    actions.record_lab(
        actor=system, patient=world.patient, test="alt", value=250, unit="U/L", upper_limit_normal=40, taken_at=now()
    )
    actions.record_lab(
        actor=system,
        patient=world.foreign_patient,
        test="alt",
        value=250,
        unit="U/L",
        upper_limit_normal=40,
        taken_at=now(),
    )
    assert call(world, None, "get", "/alerts")[0] == 401
    assert call(world, None, "get", "/patients/P-001/alerts")[0] == 401
    status, body = call(world, "bob", "get", "/patients/P-001/alerts")
    assert status == 404 and body["error"]["code"] == "not_found"
    assert call(world, "carol", "get", "/patients/P-001/alerts")[0] == 404  # patients see no alerts
    assert call(world, "bob", "post", f"/alerts/{alert.pk}/acknowledge")[0] == 404
    status, body = call(world, "bob", "get", "/alerts")
    assert status == 200 and {a["patient_code"] for a in body["items"]} == {"Q-001"}
    status, body = call(world, "alice", "get", "/alerts")
    assert status == 200 and {a["patient_code"] for a in body["items"]} == {"P-001"}
    ranks = [{"urgent": 4, "high": 3, "moderate": 2, "info": 1}[a["severity"]] for a in body["items"]]
    assert ranks == sorted(ranks, reverse=True) and body["items"][0]["rule_id"] == "suicidality"
    status, body = call(world, "alice", "get", "/alerts?severity=high&rule=liver")
    assert [a["subject_key"] for a in body["items"]] == ["lab:alt"]
    status, body = call(world, "alice", "post", f"/alerts/{alert.pk}/acknowledge")
    assert status == 200 and body["status"] == "acknowledged" and body["acknowledged_by"] == "alice"
    status, body = call(world, "alice", "post", f"/alerts/{alert.pk}/acknowledge")
    assert status == 400 and body["error"]["field"] == "status"
    assert call(world, "alice", "post", f"/alerts/{alert.pk}/resolve", {"note": ""})[0] == 422
    status, body = call(world, "alice", "post", f"/alerts/{alert.pk}/resolve", {"note": "called, safe"})
    assert status == 200 and body["status"] == "resolved" and body["resolved_by"] == "alice"
    status, body = call(world, "alice", "get", "/patients/P-001/alerts?status=resolved")
    assert status == 200 and [a["id"] for a in body["items"]] == [alert.pk]
    status, body = call(world, "alice", "get", "/patients/P-001/alerts")
    assert alert.pk not in [a["id"] for a in body["items"]] and body["count"] >= 1


def test_api_rule_config_shows_basis_and_needs_program_admin(world: Any) -> None:
    path = f"/programs/{world.program.pk}/rule-config"
    assert call(world, "bob", "get", path)[0] == 404
    assert call(world, "alice", "get", path)[0] == 403
    status, body = call(world, "pa", "get", path)
    assert status == 200
    by_name = {t["name"]: t for t in body["thresholds"]}
    assert by_name["no_benefit_percent"]["basis"] == "published" and by_name["no_benefit_percent"]["sources"]
    assert by_name["escalation_ratio"]["basis"] == "program setting" and by_name["escalation_ratio"]["sources"] == []
    assert call(world, "alice", "put", path, {"overrides": {"no_benefit_percent": 40}})[0] == 403
    status, body = call(world, "pa", "put", path, {"overrides": {"missed_followup_moderate_days": 2}})
    assert status == 400 and body["error"]["field"] == "missed_followup_moderate_days"
    status, body = call(world, "pa", "put", path, {"overrides": {"no_benefit_percent": 40}})
    assert status == 200 and body["updated_by"] == "pa"
    changed = {t["name"]: t for t in body["thresholds"]}["no_benefit_percent"]
    assert changed["value"] == 40 and changed["basis"] == "program setting" and changed["overridden"] is True


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_sweep_and_alerts(world: Any, system: Any) -> None:
    from kratomwatch.cli import alerts as cli_alerts

    _suicidality(world, system)
    Alert.objects.all().delete()
    app = typer.Typer()
    cli_alerts.register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["sweep", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["created"] >= 1 and payload["patients"] == 2
    result = runner.invoke(app, ["sweep", "--json"])
    assert json.loads(result.output)["created"] == 0
    result = runner.invoke(app, ["alerts", "P-001", "--json"])
    assert result.exit_code == 0, result.output
    assert "suicidality" in {row["rule_id"] for row in json.loads(result.output)}
    result = runner.invoke(app, ["alerts", "NOPE"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["sweep", "--as-of", "yesterday"])
    assert result.exit_code == 2
