"""History flags, combination rules and naloxone on file, end to end through the write hook (records.writes)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.alerts.snapshots import HISTORY_FLAGS, build_snapshots
from kratomwatch.audit.log import Actor
from kratomwatch.knowledge.loader import screening_knowledge
from kratomwatch.records import actions
from tests.helpers import add_patient

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def open_alerts(patient: Any, rule_id: str) -> dict[str, Alert]:
    qs = Alert.objects.filter(patient=patient, rule_id=rule_id).exclude(status=AlertStatus.RESOLVED)
    return {a.subject_key: a for a in qs}


def dose(world: Any, patient: Any, hours_ago: int = 3) -> None:
    taken = timezone.now().astimezone(ZoneInfo(patient.time_zone)) - dt.timedelta(hours=hours_ago)
    actions.record_dose(
        actor=SYSTEM,
        patient=patient,
        dose=actions.DoseIn(
            patient_code=patient.code, lot_id=world.leaf_cert_lot.pk, taken_at=taken, amount=2, unit="g"
        ),
    )


def test_every_history_flag_has_a_curated_record_with_sources() -> None:
    records = screening_knowledge().contraindications
    for flag in HISTORY_FLAGS:
        assert records[flag].sources and records[flag].as_of, flag


@pytest.mark.parametrize("flag", ["liver_disease", "seizure_disorder", "cardiac_qt", "respiratory_disease"])
def test_a_history_flag_raises_an_alert_with_the_curated_text_once_kratom_is_used(world: Any, flag: str) -> None:
    patient = add_patient(world, "P-HIST", **{flag: True})
    assert open_alerts(patient, "history") == {}
    dose(world, patient)
    alert = open_alerts(patient, "history")[f"history:{flag}"]
    record = screening_knowledge().contraindications[flag]
    assert alert.severity == "high" and alert.sources == list(record.sources)
    assert record.summary in alert.reason and record.management in alert.reason


def test_opioid_with_gabapentin_and_no_naloxone_then_naloxone_recorded(world: Any) -> None:
    patient = add_patient(world, "P-GABA")
    dose(world, patient)
    actions.record_medication(actor=SYSTEM, patient=patient, name="oxycodone")
    actions.record_medication(actor=SYSTEM, patient=patient, name="gabapentin")
    combos = open_alerts(patient, "interaction")
    assert combos["interaction:combination:opioid_gabapentinoid"].severity == "high"
    [missing] = open_alerts(patient, "naloxone").values()
    assert missing.subject_key == "naloxone:not_on_file" and missing.severity == "moderate"
    assert "PMID:36327391" in missing.sources
    actions.record_medication(actor=SYSTEM, patient=patient, name="Narcan nasal spray")
    # The machine never resolves an alert: the condition is marked cleared, for a clinician to resolve.
    missing.refresh_from_db()
    assert missing.condition_cleared_at is not None


def test_alcohol_recorded_with_methadone_and_a_benzodiazepine(world: Any) -> None:
    patient = add_patient(world, "P-ALC")
    dose(world, patient)
    for name in ("methadone", "alcohol", "Xanax"):
        actions.record_medication(actor=SYSTEM, patient=patient, name=name)
    combos = {k: a.severity for k, a in open_alerts(patient, "interaction").items() if ":combination:" in k}
    assert combos == {
        "interaction:combination:opioid_alcohol": "high",
        "interaction:combination:opioid_benzodiazepine": "high",
        "interaction:combination:cns_depressants": "high",
    }


def test_naloxone_on_file_from_the_start_raises_no_naloxone_alert(world: Any) -> None:
    patient = add_patient(world, "P-NLX")
    dose(world, patient)
    for name in ("Narcan", "oxycodone"):
        actions.record_medication(actor=SYSTEM, patient=patient, name=name)
    assert "interaction:oxycodone" in open_alerts(patient, "interaction")
    assert not Alert.objects.filter(patient=patient, rule_id="naloxone").exists()


def test_suboxone_does_not_count_as_naloxone_on_file(world: Any) -> None:
    patient = add_patient(world, "P-BUP")
    dose(world, patient)
    actions.record_medication(actor=SYSTEM, patient=patient, name="Suboxone")
    assert set(open_alerts(patient, "naloxone")) == {"naloxone:not_on_file"}


def test_the_snapshot_carries_the_curated_records_of_the_active_flags(world: Any) -> None:
    patient = add_patient(world, "P-SNAP", seizure_disorder=True, liver_disease=True)
    snap = build_snapshots([patient])[patient.pk]
    assert snap.history == ("liver_disease", "seizure_disorder")
    assert [r.flag for r in snap.contraindications] == ["liver_disease", "seizure_disorder"]
