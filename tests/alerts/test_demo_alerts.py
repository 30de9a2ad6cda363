"""The demo program shows alerts of every kind, each with its reason and where it comes from."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kratomwatch.alerts.models import Alert
from kratomwatch.core.rules import RULES

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


def test_the_demo_shows_every_alert_kind_with_reason_and_basis(db: Any) -> None:
    from kratomwatch.demo import load_demo

    load_demo(now=NOW)
    alerts = list(Alert.objects.filter(patient__program__slug="demo"))
    kinds = {a.rule_id for a in alerts}
    expected = {rule_id for rule_id, _ in RULES}
    assert kinds == expected, sorted(expected - kinds)
    for alert in alerts:
        assert alert.status == "open" and alert.reason.strip() and alert.title.strip()
        # Every finding cites a source, or names the program setting it rests on (or both).
        assert alert.sources or alert.program_settings, (alert.rule_id, alert.subject_key)
    assert {a.severity for a in alerts} >= {"urgent", "high", "moderate"}
