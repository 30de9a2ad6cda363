"""The demo shows the history, combination and naloxone rules on realistic patients (loaded once, rolled back)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from kratomwatch.alerts.models import Alert

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    from kratomwatch.demo import load_demo

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield load_demo(now=NOW)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


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
