"""The one alert hook: every write of an alert-rule input re-evaluates the patient's alerts at once, no sweep.

Two parts:
- a walk over every declared write action (``records.writes.ALERT_INPUT_WRITES``): each one, called for real,
  hands exactly the touched patients to the hook; and every public write in the actions modules is either
  declared or named here as not touching a rule input (so a new write cannot forget the hook silently);
- clinical scenarios, each producing (or clearing) the alert through the write alone: pregnancy set,
  jurisdiction moved to a state that bans kratom, lot recalled, certificate corrected above the 7-OH cap,
  medication added, PHQ-9 item 9 answered, a lab, an adverse event, a schedule, a dose and an import; and the
  program's 7-OH cap changed, which recomputes the stored flags and re-evaluates the program.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from kratomwatch.accounts import program_settings
from kratomwatch.alerts import actions as alert_actions
from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.careplans import actions as careplan_actions
from kratomwatch.consent import actions as consent_actions
from kratomwatch.core import trackers
from kratomwatch.nof1 import actions as nof1_actions
from kratomwatch.notifications import actions as notification_actions
from kratomwatch.records import actions, corrections, tracker_import, writes
from kratomwatch.records.models import Dose
from tests.helpers import add_patient

pytestmark = pytest.mark.django_db

WRITE_MODULES = (
    actions,
    assessment_actions,
    consent_actions,
    careplan_actions,
    corrections,
    tracker_import,
    notification_actions,
    nof1_actions,
)

NOT_ALERT_INPUTS = {
    # A new product or lot has no doses yet; a dose of it is the input, and record_dose is declared.
    "kratomwatch.records.actions.create_product",
    "kratomwatch.records.actions.create_lot",
    # A login for the patient changes nothing the rules read.
    "kratomwatch.records.actions.create_patient_login",
    # Recomputes stored dose values after a program setting changed; its caller (alerts.actions.set_rule_config)
    # then re-evaluates the whole program through the sweep.
    "kratomwatch.records.actions.reapply_program_settings",
    # A new consent document version is signed by nobody yet; signatures and withdrawals are declared.
    "kratomwatch.consent.actions.publish_document",
    # Records the end of consent overrides already past their expiry: they count for nothing any more.
    "kratomwatch.consent.actions.close_lapsed_overrides",
    # No alert rule reads the care plan.
    "kratomwatch.careplans.actions.save_care_plan",
    # Dispatches to the declared correction of each kind (correct_dose, correct_lab, ...).
    "kratomwatch.records.corrections.correct_entry",
    # Notifications: a patient's reminder choice, a login's email address and a retry of failed messages change
    # nothing a rule reads.
    "kratomwatch.notifications.actions.set_questionnaire_reminders",
    "kratomwatch.notifications.actions.set_contact_email",
    "kratomwatch.notifications.actions.retry_failed",
    # N-of-1 trials: no alert rule reads a trial. Starting one sets the questionnaire schedules through the declared
    # assessments.actions.set_schedule, which re-evaluates the patient, and an end restores them through the declared
    # set_schedule and deactivate_schedule; safety alerts go on as always.
    "kratomwatch.nof1.actions.create_trial",
    "kratomwatch.nof1.actions.update_trial",
    "kratomwatch.nof1.actions.sign_as_clinician",
    "kratomwatch.nof1.actions.sign_as_patient",
    "kratomwatch.nof1.actions.start_trial",
    "kratomwatch.nof1.actions.stop_trial",
    "kratomwatch.nof1.actions.withdraw",
    "kratomwatch.nof1.actions.complete_if_ended",
    # The daily sweep's step: completes each ended trial through complete_if_ended (above).
    "kratomwatch.nof1.actions.complete_ended_trials",
}


def _public_writes() -> set[str]:
    names = set()
    for module in WRITE_MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            params = inspect.signature(fn).parameters
            if "actor" in params and params["actor"].kind is inspect.Parameter.KEYWORD_ONLY:
                names.add(f"{module.__name__}.{name}")
    return names


def test_every_write_of_the_record_is_declared_or_named_as_not_an_alert_input() -> None:
    writes_found = _public_writes()
    declared = set(writes.ALERT_INPUT_WRITES)
    assert declared <= writes_found, "a declared action is not a public keyword-only write"
    undeclared = writes_found - declared - NOT_ALERT_INPUTS
    assert not undeclared, f"writes that neither use the alert hook nor say why not: {sorted(undeclared)}"
    assert not (declared & NOT_ALERT_INPUTS)


@pytest.fixture
def hook_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[set[int]]]:
    """Record what reaches the hook, and still run the real evaluation."""
    calls: list[set[int]] = []
    real = writes.reevaluate

    def spy(patient_ids: Any) -> None:
        ids = set(patient_ids)
        calls.append(ids)
        real(ids)

    monkeypatch.setattr(writes, "reevaluate", spy)
    yield calls


def _dose(w: Any, patient: Any, lot: Any, *, hours_ago: float = 2, amount: float = 3.0, unit: str = "g") -> Any:
    taken = timezone.now() - dt.timedelta(hours=hours_ago)
    return actions.DoseIn(patient.code, lot.pk, taken, amount, unit, idempotency_key=f"k-{lot.pk}-{hours_ago}")


def _walk(w: Any, system: Any) -> dict[str, tuple[Callable[[], Any], set[int]]]:
    """One real call per declared action, with the patients it must hand to the hook."""
    p = w.patient
    now = timezone.now()
    doc = consent_actions.publish_document(
        actor=system, program=w.program, title="Consent v2", body="Monitoring consent, second version.", scopes=["care"]
    )
    fix = _corrections_walk(w, system) | _tracker_walk(w, system)
    return fix | {
        "kratomwatch.records.actions.create_patient": (
            lambda: add_patient(w, "P-NEW"),
            set(),  # filled in below: the new patient's id
        ),
        "kratomwatch.records.actions.update_patient": (
            lambda: actions.update_patient(actor=system, patient=p, pregnant=True),
            {p.pk},
        ),
        "kratomwatch.records.actions.update_lot": (
            lambda: actions.update_lot(
                actor=system, lot=w.leaf_cert_lot, certificate=actions.CertificateIn("mg/g", 15.0, 0.2), recalled=True
            ),
            {p.pk},
        ),
        "kratomwatch.records.actions.record_dose": (
            lambda: actions.record_dose(actor=system, patient=p, dose=_dose(w, p, w.leaf_plain_lot, hours_ago=1)),
            {p.pk},
        ),
        "kratomwatch.records.actions.import_doses": (
            lambda: actions.import_doses(actor=system, rows=[(2, _dose(w, p, w.leaf_plain_lot, hours_ago=3))]),
            {p.pk},
        ),
        "kratomwatch.records.actions.record_medication": (
            lambda: actions.record_medication(actor=system, patient=p, name="Xanax"),
            {p.pk},
        ),
        "kratomwatch.records.actions.record_lab": (
            lambda: actions.record_lab(
                actor=system,
                patient=p,
                test="alt",
                value=200.0,
                unit="U/L",
                upper_limit_normal=40.0,
                taken_at=now - dt.timedelta(hours=1),
            ),
            {p.pk},
        ),
        "kratomwatch.records.actions.record_adverse_event": (
            lambda: actions.record_adverse_event(
                actor=system, patient=p, term="Seizure", onset=now.date(), grade=3, seriousness=["hospitalization"]
            ),
            {p.pk},
        ),
        "kratomwatch.assessments.actions.record_assessment": (
            lambda: assessment_actions.record_assessment(
                actor=system,
                patient=p,
                instrument_id="phq9",
                answers=[1] * 8 + [1],
                administered_at=now - dt.timedelta(minutes=5),
                source="self_report",
            ),
            {p.pk},
        ),
        "kratomwatch.assessments.actions.set_schedule": (
            lambda: assessment_actions.set_schedule(
                actor=system, patient=p, instrument_id="gad7", every_days=14, start=now.date()
            ),
            {p.pk},
        ),
        "kratomwatch.assessments.actions.deactivate_schedule": (
            lambda: assessment_actions.deactivate_schedule(actor=system, patient=p, instrument_id="gad7"),
            {p.pk},
        ),
        "kratomwatch.consent.actions.sign": (
            lambda: consent_actions.sign(actor=system, patient=p, document=doc, scopes=["care"], typed_name="T P"),
            {p.pk},
        ),
        "kratomwatch.consent.actions.withdraw": (
            lambda: consent_actions.withdraw(actor=system, patient=p, scope="research"),
            {p.pk},
        ),
        "kratomwatch.consent.actions.override_care_consent": (
            lambda: _override_after_withdrawal(w, system),
            {p.pk},
        ),
    }


def _override_after_withdrawal(w: Any, system: Any) -> Any:
    """An override is given only without care consent: the patient withdraws it first, in the same batch."""
    with writes.batch():
        consent_actions.withdraw(actor=system, patient=w.patient, scope="care")
        return consent_actions.override_care_consent(
            actor=system,
            patient=w.patient,
            clinician=w.alice,
            grounds="clinical_safety",
            reason="Open urgent alert: monitoring the escalation until the review.",
        )


def _tracker_walk(w: Any, system: Any) -> dict[str, tuple[Callable[[], Any], set[int]]]:
    """records.tracker_import: a consumer tracker's file imported into the patient's record."""
    when = (timezone.now() - dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    parsed = trackers.parse(f'{{"days": {{"2026-01-01": {{"entries": [{{"id": "t1", "ts": "{when}", "ml": 50}}]}}}}}}')
    return {
        "kratomwatch.records.tracker_import.import_tracker_file": (
            lambda: tracker_import.import_tracker_file(
                actor=system, patient=w.patient, parsed=parsed, mapping={trackers.TEA_NAME: w.shot_lot.pk}
            ),
            {w.patient.pk},
        ),
    }


def _corrections_walk(w: Any, system: Any) -> dict[str, tuple[Callable[[], Any], set[int]]]:
    """records.corrections: a void and a correction of each kind."""
    p = w.patient
    taken = timezone.now() - dt.timedelta(minutes=30)
    doses = [
        actions.record_dose(
            actor=system,
            patient=p,
            dose=actions.DoseIn(p.code, w.leaf_cert_lot.pk, taken, 1.0, "g", idempotency_key=f"fix-{i}"),
        )[0]
        for i in range(2)
    ]
    med = actions.record_medication(actor=system, patient=p, name="Sertraline")
    lab = actions.record_lab(
        actor=system, patient=p, test="alt", value=30.0, unit="U/L", upper_limit_normal=40.0, taken_at=taken
    )
    ae = actions.record_adverse_event(actor=system, patient=p, term="Nausea", onset=taken.date(), grade=1)
    fix = "kratomwatch.records.corrections."
    return {
        fix + "void_entry": (
            lambda: corrections.void_entry(actor=system, patient=p, kind="dose", pk=doses[0].pk, reason="dup"),
            {p.pk},
        ),
        fix + "correct_dose": (
            lambda: corrections.correct_dose(actor=system, patient=p, pk=doses[1].pk, reason="amount", amount=2.0),
            {p.pk},
        ),
        fix + "correct_medication": (
            lambda: corrections.correct_medication(actor=system, patient=p, pk=med.pk, reason="dose", dose_text="50"),
            {p.pk},
        ),
        fix + "correct_lab": (
            lambda: corrections.correct_lab(actor=system, patient=p, pk=lab.pk, reason="typo", value=31.0),
            {p.pk},
        ),
        fix + "correct_adverse_event": (
            lambda: corrections.correct_adverse_event(actor=system, patient=p, pk=ae.pk, reason="grade", grade=2),
            {p.pk},
        ),
    }


def test_every_declared_write_hands_its_patients_to_the_hook_once(
    world: Any, system: Any, hook_calls: list[set[int]]
) -> None:
    # The lot correction reaches every patient who took the lot.
    actions.record_dose(actor=system, patient=world.patient, dose=_dose(world, world.patient, world.leaf_cert_lot))
    hook_calls.clear()
    walk = _walk(world, system)
    assert set(walk) == set(writes.ALERT_INPUT_WRITES), "every declared write has a case here"
    for name, (call, expected) in walk.items():
        hook_calls.clear()
        result = call()
        want = {result.pk} if name.endswith("create_patient") else expected
        assert hook_calls == [want], f"{name} handed {hook_calls} to the hook, expected one call with {want}"


def test_nested_writes_in_a_batch_evaluate_once_at_the_end(world: Any, system: Any, hook_calls: list[set[int]]) -> None:
    other = add_patient(world, "P-002")
    hook_calls.clear()
    with writes.batch():
        actions.update_patient(actor=system, patient=world.patient, breastfeeding=True)
        actions.update_patient(actor=system, patient=other, breastfeeding=True)
        assert hook_calls == []
    assert hook_calls == [{world.patient.pk, other.pk}]


def test_a_failed_write_evaluates_nothing_and_writes_nothing(
    world: Any, system: Any, hook_calls: list[set[int]]
) -> None:
    with pytest.raises(Exception, match="jurisdiction"):
        actions.update_patient(actor=system, patient=world.patient, jurisdiction="US-XX")
    assert hook_calls == []
    world.patient.refresh_from_db()
    assert world.patient.jurisdiction == "US-TX"


# --- clinical scenarios: the alert follows the write, with no sweep ---------------------------------------------


def open_alerts(patient: Any, rule_id: str) -> dict[str, Alert]:
    qs = Alert.objects.filter(patient=patient, rule_id=rule_id).exclude(status=AlertStatus.RESOLVED)
    return {a.subject_key: a for a in qs}


@pytest.fixture
def using(world: Any, system: Any) -> Any:
    """The world patient took 3 g of the certified leaf lot two hours ago (kratom use in the window)."""
    actions.record_dose(actor=system, patient=world.patient, dose=_dose(world, world.patient, world.leaf_cert_lot))
    return world


def test_pregnancy_set_raises_the_alert_and_unset_marks_it_cleared(using: Any, system: Any) -> None:
    assert not open_alerts(using.patient, "pregnancy")
    actions.update_patient(actor=system, patient=using.patient, pregnant=True)
    alert = open_alerts(using.patient, "pregnancy")["pregnancy:pregnant"]
    assert alert.severity == "high" and alert.condition_cleared_at is None
    actions.update_patient(actor=system, patient=using.patient, pregnant=False)
    alert.refresh_from_db()
    assert alert.condition_cleared_at is not None, "the machine marks it cleared; a clinician resolves it"


def test_moving_to_a_state_that_bans_kratom_raises_the_legal_alert(using: Any, system: Any) -> None:
    actions.update_patient(actor=system, patient=using.patient, jurisdiction="US-AL")
    assert "legal:kratom:US-AL" in open_alerts(using.patient, "legal")


def test_recalling_a_lot_raises_the_alert_for_every_patient_who_took_it(using: Any, system: Any) -> None:
    second = add_patient(using, "P-002")
    actions.record_dose(actor=system, patient=second, dose=_dose(using, second, using.leaf_cert_lot))
    actions.update_lot(
        actor=system, lot=using.leaf_cert_lot, certificate=actions.CertificateIn("mg/g", 15.0, 0.2), recalled=True
    )
    for patient in (using.patient, second):
        assert "lot:L1:recalled" in open_alerts(patient, "risky_product")


def test_a_certificate_corrected_above_the_cap_raises_the_seven_oh_alert(using: Any, system: Any) -> None:
    assert "lot:L1:seven_oh" not in open_alerts(using.patient, "risky_product")
    actions.update_lot(actor=system, lot=using.leaf_cert_lot, certificate=actions.CertificateIn("mg/g", 15.0, 0.5))
    alert = open_alerts(using.patient, "risky_product")["lot:L1:seven_oh"]
    assert alert.severity == "high"
    assert Dose.objects.get(patient=using.patient).enhanced is True


def test_adding_an_interacting_medication_raises_the_interaction_alert(using: Any, system: Any) -> None:
    assert not open_alerts(using.patient, "interaction")
    actions.record_medication(actor=system, patient=using.patient, name="Xanax")
    assert open_alerts(using.patient, "interaction")


def test_phq9_item9_answered_raises_the_urgent_alert(world: Any, system: Any) -> None:
    assessment_actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=[0] * 8 + [1],
        administered_at=timezone.now() - dt.timedelta(minutes=1),
        source="self_report",
    )
    assert open_alerts(world.patient, "suicidality")["phq9:item9"].severity == "urgent"


def test_a_lab_and_a_serious_adverse_event_raise_their_alerts(using: Any, system: Any) -> None:
    actions.record_lab(
        actor=system,
        patient=using.patient,
        test="alt",
        value=400.0,
        unit="U/L",
        upper_limit_normal=40.0,
        taken_at=timezone.now() - dt.timedelta(hours=1),
    )
    assert open_alerts(using.patient, "liver")
    ae = actions.record_adverse_event(
        actor=system,
        patient=using.patient,
        term="Seizure",
        onset=using.patient.local_today(),  # the patient's day, not UTC's
        grade=3,
        seriousness=["hospitalization"],
    )
    assert f"ae:{ae.pk}" in open_alerts(using.patient, "serious_adverse_event")


def test_an_imported_extract_of_unknown_potency_raises_the_alert(world: Any, system: Any) -> None:
    result = actions.import_doses(actor=system, rows=[(2, _dose(world, world.patient, world.shot_lot, unit="mL"))])
    assert result.created == 1
    assert [key for key in open_alerts(world.patient, "risky_product") if key.endswith(":unknown_potency")]


def test_the_programs_seven_oh_cap_rules_the_stored_flag_and_the_alert(using: Any, system: Any) -> None:
    """A 2.5% product is enhanced at the default 2% cap and not at a program cap of 3% (and back again)."""
    actions.update_lot(actor=system, lot=using.leaf_cert_lot, certificate=actions.CertificateIn("mg/g", 15.0, 0.39))
    dose = Dose.objects.get(patient=using.patient)
    assert dose.seven_oh_share_percent is not None and 2.0 < dose.seven_oh_share_percent < 3.0
    assert dose.enhanced is True
    assert "lot:L1:seven_oh" in open_alerts(using.patient, "risky_product")

    alert_actions.set_rule_config(actor=system, program=using.program, overrides={"seven_oh_cap_percent": 3.0})
    dose.refresh_from_db()
    assert dose.enhanced is False, "the stored flag follows the program's cap"
    cleared = Alert.objects.get(patient=using.patient, subject_key="lot:L1:seven_oh")
    assert cleared.condition_cleared_at is not None, "re-evaluated at once, without a sweep"
    assert program_settings.for_program(using.other_program.pk).seven_oh_cap_percent == 2.0, "others keep the default"

    alert_actions.set_rule_config(actor=system, program=using.program, overrides={})
    dose.refresh_from_db()
    assert dose.enhanced is True


def test_the_programs_teaspoon_default_recomputes_uncalibrated_teaspoon_doses(world: Any, system: Any) -> None:
    actions.record_dose(
        actor=system, patient=world.patient, dose=_dose(world, world.patient, world.leaf_plain_lot, unit="teaspoon")
    )
    dose = Dose.objects.get(patient=world.patient)
    before = dose.mitragynine_mg
    assert dose.basis == "estimated" and before is not None
    alert_actions.set_rule_config(
        actor=system,
        program=world.program,
        overrides={"grams_per_teaspoon": 3.0, "grams_per_teaspoon_low": 2.0, "grams_per_teaspoon_high": 4.0},
    )
    dose.refresh_from_db()
    assert dose.mitragynine_mg == pytest.approx(before * 3.0 / 2.5)


def test_program_setting_names_and_values_are_checked_naming_the_field(world: Any, system: Any) -> None:
    from kratomwatch.core.errors import InputError

    with pytest.raises(InputError) as bad_name:
        alert_actions.set_rule_config(actor=system, program=world.program, overrides={"teaspoon": 3})
    assert bad_name.value.field == "teaspoon"
    with pytest.raises(InputError) as out_of_range:
        alert_actions.set_rule_config(actor=system, program=world.program, overrides={"grams_per_teaspoon": 9.0})
    assert out_of_range.value.field == "grams_per_teaspoon"
