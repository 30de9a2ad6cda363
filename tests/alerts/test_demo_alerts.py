"""The demo program: alerts of every kind, each with its reason and where it comes from; the questionnaire
histories; and the history, combination and naloxone rules on realistic patients. The demo is loaded once for this
module (about 15 s) inside a transaction that is rolled back at the end; each test runs in its own savepoint within
it, so no test sees another's writes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from kratomwatch.alerts.models import Alert
from kratomwatch.assessments.models import Assessment, Schedule
from kratomwatch.consent.status import with_active_scope
from kratomwatch.core.rules import RULES
from kratomwatch.records.models import Patient

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    from django.test import override_settings

    from kratomwatch.demo import load_demo

    home = tmp_path_factory.mktemp("demo-home")
    with django_db_blocker.unblock(), override_settings(BASE_DIR=home), pytest.MonkeyPatch.context() as env:
        env.setenv("KRATOMWATCH_RESEARCH_SECRET", "demo-test-research-secret-0123")
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield load_demo(now=NOW) | {"home": home}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_the_demo_builds_the_researchers_first_analysis_snapshot(demo: dict[str, Any], db: Any) -> None:
    import polars as pl

    snapshot_dir = demo["home"] / "research" / "snapshots" / "demo" / demo["analysis_snapshot"]
    manifest = json.loads((snapshot_dir / "manifest.json").read_text())
    assert manifest["deidentification"]["dates"] == "study-days"
    consented = with_active_scope(Patient.objects.filter(program__slug="demo"), "research").count()
    assert manifest["consent"]["eligible"] > consented > 100  # the research cohort is in, withdrawals are not
    participants = pl.read_parquet(snapshot_dir / "participants.parquet")
    assert participants.height == manifest["consent"]["included"] > 100
    assert "KW-" not in participants.write_csv()  # study IDs only


def test_the_demo_shows_every_alert_kind_with_reason_and_basis(demo: dict[str, Any], db: Any) -> None:
    assert demo["status"] == "created"
    alerts = list(Alert.objects.filter(patient__program__slug="demo"))
    kinds = {a.rule_id for a in alerts}
    expected = {rule_id for rule_id, _ in RULES}
    assert kinds == expected, sorted(expected - kinds)
    for alert in alerts:
        assert alert.status == "open" and alert.reason.strip() and alert.title.strip()
        # Every finding cites a source, or names the program setting it rests on (or both).
        assert alert.sources or alert.program_settings, (alert.rule_id, alert.subject_key)
    assert {a.severity for a in alerts} >= {"urgent", "high", "moderate"}


def test_the_demo_loads_assessments_too(demo: dict[str, Any], db: Any) -> None:
    kw1 = Patient.objects.get(code="KW-001")
    assert Assessment.objects.filter(patient=kw1, instrument_id="peg").count() >= 10
    assert Schedule.objects.filter(patient__program__slug="demo").exists()


def test_a_second_load_finds_the_demo_and_changes_nothing(demo: dict[str, Any], db: Any) -> None:
    from kratomwatch.demo import load_demo

    before = (Patient.objects.count(), Alert.objects.count(), Assessment.objects.count())
    again = load_demo(now=NOW)
    assert again["status"] == "already loaded" and again["doses"] == demo["doses"]
    assert (Patient.objects.count(), Alert.objects.count(), Assessment.objects.count()) == before


# --- the history, combination and naloxone rules on realistic demo patients --------------------------------


def alerts(code: str) -> dict[tuple[str, str], str]:
    return {(a.rule_id, a.subject_key): a.severity for a in Alert.objects.filter(patient__code=code)}


def test_history_flags_of_kratom_users_raise_alerts(demo: dict[str, Any], db: Any) -> None:
    found = {
        key for a in Alert.objects.filter(patient__program__slug="demo", rule_id="history") for key in [a.subject_key]
    }
    assert found == {
        "history:liver_disease",
        "history:seizure_disorder",
        "history:cardiac_qt",
        "history:respiratory_disease",
    }
    assert alerts("KW-004")[("history", "history:seizure_disorder")] == "high"


def test_an_opioid_with_gabapentin_and_no_naloxone(demo: dict[str, Any], db: Any) -> None:
    found = alerts("KW-002")
    assert found[("interaction", "interaction:combination:opioid_gabapentinoid")] == "high"
    assert found[("naloxone", "naloxone:not_on_file")] == "moderate"


def test_naloxone_on_file_raises_no_naloxone_alert(demo: dict[str, Any], db: Any) -> None:
    found = alerts("KW-003")
    assert ("interaction", "interaction:oxycodone") in found
    assert not any(rule_id == "naloxone" for rule_id, _ in found)


def test_methadone_with_alcohol_and_a_benzodiazepine(demo: dict[str, Any], db: Any) -> None:
    found = alerts("KW-007")
    for combination in ("opioid_alcohol", "opioid_benzodiazepine", "cns_depressants"):
        assert found[("interaction", f"interaction:combination:{combination}")] == "high"


def test_a_low_sodium_raises_the_hyponatraemia_alert(demo: dict[str, Any], db: Any) -> None:
    found = alerts("KW-016")
    assert found[("sodium", "lab:sodium")] == "moderate"
    assert Alert.objects.filter(patient__program__slug="demo", rule_id="sodium").count() == 1


def test_the_demo_care_team_has_addresses_so_urgent_alerts_reach_an_inbox(demo: dict[str, Any], db: Any) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(username__in=["clinician", "programadmin", "researcher"])
    assert dict(users.values_list("username", "email")) == {
        "clinician": "clinician@demo.example",
        "programadmin": "programadmin@demo.example",
        "researcher": "",
    }


def test_the_demo_has_kw001s_completed_n_of_1_trial_with_its_analysis(demo: dict[str, Any], db: Any) -> None:
    from kratomwatch.nof1 import results
    from kratomwatch.nof1.models import Trial

    trial = Trial.objects.get(patient__code="KW-001")
    assert trial.status == "completed" and trial.seed == 20261202
    assert trial.patient_signed_at is not None and trial.clinician_signed_at is not None and trial.protocol_sha256
    periods = list(trial.periods.order_by("position").select_related("condition"))
    assert len(periods) == 6
    assert all({p.condition.code for p in periods if p.block == b} == {"A", "B"} for b in (1, 2, 3))
    outcome = results.analyse_trial(trial)
    assert outcome.complete and outcome.analysis is not None
    estimate = outcome.analysis.bayes["B"]
    low, high = estimate.interval_95
    assert low < estimate.effect < high and estimate.n_days_used >= 10
    # The synthetic patient followed the protocol: B periods' measured mg is about half of A's, no deviation shown.
    by_condition: dict[str, list[float]] = {"A": [], "B": []}
    for row in outcome.adherence:
        assert row.deviation is None, row
        by_condition[row.condition].append(row.mitragynine_mg or 0.0)
    ratio = (sum(by_condition["B"]) / 3) / (sum(by_condition["A"]) / 3)
    assert 0.4 < ratio < 0.6
