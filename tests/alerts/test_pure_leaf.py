"""Laws that allow only pure leaf (Utah since 2026, Tennessee's natural-form rule): the sweep tells the product check
what it knows from the product's form, so dried leaf is judged, an extract is judged, and a capsule stays unknown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.alerts.snapshots import KnowledgeCache
from kratomwatch.records import actions

pytestmark = pytest.mark.django_db


def _legal_products(patient: Any) -> dict[str, Alert]:
    qs = Alert.objects.filter(patient=patient, rule_id="legal", subject_key__startswith="legal:product:")
    return {a.subject_key: a for a in qs.exclude(status=AlertStatus.RESOLVED)}


def test_product_form_tells_the_check_whether_it_is_pure_leaf(world: Any) -> None:
    cache = KnowledgeCache()
    today = dt.date(2026, 12, 1)
    leaf = cache.product("US-UT", today, None, "leaf_powder")
    extract = cache.product("US-UT", today, None, "liquid_extract")
    capsule = cache.product("US-UT", today, None, "capsule")
    assert leaf is not None and extract is not None and capsule is not None
    assert (leaf.verdict, leaf.missing) == ("allowed", ())
    assert extract.verdict == "banned"
    assert capsule.verdict == "unknown" and any("pure leaf" in m for m in capsule.missing)


def test_a_utah_patient_taking_an_extract_gets_a_product_finding_and_leaf_does_not(world: Any, system: Any) -> None:
    actions.update_patient(actor=system, patient=world.patient, jurisdiction="US-UT")
    now = timezone.now()
    for lot, unit, key in ((world.leaf_plain_lot, "g", "leaf"), (world.shot_lot, "mL", "shot")):
        actions.record_dose(
            actor=system,
            patient=world.patient,
            dose=actions.DoseIn(
                world.patient.code, lot.pk, now - dt.timedelta(hours=2), 2.0, unit, idempotency_key=key
            ),
        )
    products = _legal_products(world.patient)
    assert any("Shot" in key for key in products), products
    assert not any("Leaf" in key for key in products), products
