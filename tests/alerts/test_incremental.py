"""A dose write evaluates only the rules that read doses, from only the data those rules read, and gives exactly the
alerts a full evaluation gives.

* every rule of ``core.rules.RULES`` has its declared input families (``alerts.snapshots.RULE_INPUTS``), and on every
  demo patient the rule's findings from a snapshot of only those families equal its findings from a full snapshot;
* property, over the demo registry: after random dose writes (random patients, lots, amounts and times, through
  ``records.actions.record_dose`` and so through the restricted hook), a full evaluation of every patient finds
  nothing to create, update or clear, and every alert of a rule that does not read doses is exactly as it was
  before the writes (not re-seen, not marked cleared);
* a stale alert of a rule that does not read doses is left alone by a dose write (a full evaluation would mark it).

The demo is loaded once for this module, at the real time (the hook judges "today"), in a transaction rolled back
at the end; each test runs in its own savepoint.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from kratomwatch.alerts import actions as alert_actions
from kratomwatch.alerts import snapshots
from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.alerts.snapshots import FAMILIES, RULE_INPUTS, KnowledgeCache, build_snapshots, rules_reading
from kratomwatch.audit.log import Actor
from kratomwatch.core import exposure
from kratomwatch.core.errors import InputError
from kratomwatch.core.rules import RULES, evaluate
from kratomwatch.records import actions, writes
from kratomwatch.records.models import DailyExposure, Dose, Lot, Patient

pytestmark = pytest.mark.django_db

DOSE_RULES = {"interaction", "naloxone", "escalation", "risky_product", "pregnancy", "history", "legal"}
ALERT_FIELDS = ("patient_id", "rule_id", "subject_key", "status", "first_seen_at", *alert_actions.UPDATE_FIELDS)


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dt.datetime]:
    from kratomwatch.demo import load_demo

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            for hours in (0, 6, 12, 18):  # a demo "as of now" may date a dose in the future in some zone
                now = timezone.now() - dt.timedelta(hours=hours)
                try:
                    load_demo(now=now)
                    break
                except RuntimeError:
                    continue
            # Alerts as the daily sweep leaves them today, so that only the writes below change anything.
            alert_actions.evaluate_patients(Patient.objects.values_list("pk", flat=True))
            yield now
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _alerts(exclude_rules: set[str] | None = None) -> dict[int, tuple[Any, ...]]:
    qs = Alert.objects.all()
    if exclude_rules:
        qs = qs.exclude(rule_id__in=exclude_rules)
    return {row[0]: row[1:] for row in qs.values_list("pk", *ALERT_FIELDS)}


def test_every_rule_declares_its_inputs_and_a_dose_reaches_only_the_dose_rules() -> None:
    assert set(RULE_INPUTS) == {rule_id for rule_id, _ in RULES}
    assert all(inputs and inputs <= set(FAMILIES) for inputs in RULE_INPUTS.values())
    assert all(changes <= set(FAMILIES) for changes in writes.WRITE_CHANGES.values())
    assert rules_reading(writes.WRITE_CHANGES["dose"]) == DOSE_RULES
    assert writes.WRITE_KINDS["kratomwatch.records.actions.record_dose"] == "dose"
    with pytest.raises(ValueError, match="unknown data families"):
        rules_reading({"dose"})


def test_each_rule_gives_the_same_findings_from_its_own_families_as_from_a_full_snapshot(
    demo: dt.datetime, db: Any
) -> None:
    from kratomwatch.accounts import program_settings

    patients = list(Patient.objects.order_by("pk"))
    configs = program_settings.for_programs({p.program_id for p in patients})
    cache = KnowledgeCache()
    full = build_snapshots(patients, cache=cache)
    fired: set[str] = set()
    for rule_id, rule in RULES:
        restricted = build_snapshots(patients, cache=cache, families=RULE_INPUTS[rule_id])
        for p in patients:
            expected = rule(full[p.pk], configs[p.program_id])
            assert rule(restricted[p.pk], configs[p.program_id]) == expected, (rule_id, p.code)
            # and through the engine, as the hook filters it
            engine = [f for f in evaluate(restricted[p.pk], configs[p.program_id]) if f.rule_id == rule_id]
            assert engine == [f for f in evaluate(full[p.pk], configs[p.program_id]) if f.rule_id == rule_id]
            fired.update(f.rule_id for f in expected)
    assert fired == set(RULE_INPUTS), sorted(set(RULE_INPUTS) - fired)  # every rule was really compared


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_dose_writes_the_restricted_evaluation_equals_a_full_one(demo: dt.datetime, db: Any, seed: int) -> None:
    rng = random.Random(seed)
    actor = Actor.system("test")
    lots: dict[int, list[Lot]] = {}
    for lot in Lot.objects.select_related("product").order_by("pk"):
        lots.setdefault(lot.product.program_id, []).append(lot)
    patients = list(Patient.objects.filter(program_id__in=lots).order_by("pk"))
    before_other = _alerts(exclude_rules=DOSE_RULES)
    before_all = _alerts()
    written = 0
    now = timezone.now()
    for i in range(40):
        patient = rng.choice(patients)
        lot = rng.choice(lots[patient.program_id])
        taken = now - dt.timedelta(minutes=rng.randint(5, 9 * 24 * 60))
        amount = rng.choice([0.5, 1.0, 2.5, 5.0, 12.0, 30.0])
        for unit in ("g", "capsule", "mL", "teaspoon"):
            dose = actions.DoseIn(patient.code, lot.pk, taken, amount, unit, idempotency_key=f"inc-{seed}-{i}")
            try:
                _, created = actions.record_dose(actor=actor, patient=patient, dose=dose)
            except InputError:
                continue  # a unit this product cannot take, or an implausible amount for it
            written += created
            break
    assert written >= 20
    after_writes = _alerts()
    assert after_writes != before_all, "the writes changed no alert: the comparison below would prove nothing"
    # The other rules' alerts: exactly as they were, not re-seen, not marked cleared.
    assert _alerts(exclude_rules=DOSE_RULES) == before_other
    # A full evaluation of every rule for every patient now finds nothing left to do.
    result = alert_actions.evaluate_patients(Patient.objects.values_list("pk", flat=True))
    after_full = _alerts()
    changed = {
        pk: {
            name: (was, now)
            for name, was, now in zip(ALERT_FIELDS, after_writes.get(pk) or (None,) * len(row), row, strict=True)
            if was != now
        }
        for pk, row in after_full.items()
        if after_writes.get(pk) != row
    }
    assert not changed, changed
    assert (result.created, result.updated, result.cleared) == (0, 0, 0), result


def test_a_dose_write_leaves_a_stale_alert_of_another_rule_alone(demo: dt.datetime, db: Any) -> None:
    patient = Patient.objects.order_by("pk").first()
    assert patient is not None
    lot = Lot.objects.filter(product__program_id=patient.program_id, product__form="leaf_powder").first()
    assert lot is not None
    now = timezone.now()
    stale = Alert.objects.create(
        patient=patient,
        rule_id="liver",
        subject_key="stale-test",
        severity="moderate",
        severity_rank=1,
        title="t",
        reason="r",
        status=AlertStatus.OPEN,
        first_seen_at=now,
        last_seen_at=now,
        evaluated_as_of=patient.local_today(now),
    )
    dose = actions.DoseIn(patient.code, lot.pk, now - dt.timedelta(minutes=3), 1.0, "g", idempotency_key="stale")
    _, created = actions.record_dose(actor=Actor.system("test"), patient=patient, dose=dose)
    assert created
    stale.refresh_from_db()
    assert stale.condition_cleared_at is None and stale.last_seen_at == now
    # A full evaluation does mark it (so the assertion above could fail).
    alert_actions.evaluate_patients([patient.pk])
    stale.refresh_from_db()
    assert stale.condition_cleared_at is not None


def _orm_daily(ids: list[int], as_of: dt.date) -> dict[int, dict[str, Any]]:
    """Family 1 as the ORM builds it (the plain statement of ``alerts.snapshots`` must give the same rows)."""
    recent_start, base_start = exposure.window_bounds(as_of)
    recent = Q(day__gte=recent_start)
    return {
        row["patient_id"]: dict(row)
        for row in DailyExposure.objects.filter(patient_id__in=ids, day__gte=base_start, day__lte=as_of)
        .values("patient_id")
        .annotate(
            mg_recent=Sum("mitragynine_mg", filter=recent),
            mg_base=Sum("mitragynine_mg", filter=~recent),
            first_recent_sum=Sum("first_dose_minute", filter=recent),
            first_recent_days=Count("id", filter=recent),
            first_base_sum=Sum("first_dose_minute", filter=~recent),
            first_base_days=Count("id", filter=~recent),
        )
    }


def _orm_doses(ids: list[int], as_of: dt.date) -> list[dict[str, Any]]:
    """Family 2 as the ORM builds it."""
    recent_start, base_start = exposure.window_bounds(as_of)
    in_recent = Q(local_date__gte=recent_start)
    return [
        dict(row)
        for row in Dose.objects.filter(
            patient_id__in=ids, voided_at__isnull=True, local_date__gte=base_start, local_date__lte=as_of
        )
        .values("patient_id", "lot_id")
        .annotate(
            n_recent=Count("id", filter=in_recent),
            n_base=Count("id", filter=~in_recent),
            t0_recent=Min("taken_at", filter=in_recent),
            t1_recent=Max("taken_at", filter=in_recent),
            t0_base=Min("taken_at", filter=~in_recent),
            t1_base=Max("taken_at", filter=~in_recent),
            share_recent=Max("seven_oh_share_percent", filter=in_recent),
        )
        .order_by("patient_id", "lot_id")
    ]


def test_the_plain_sql_dose_families_give_the_orm_rows(demo: dt.datetime, db: Any) -> None:
    """Families 1 and 2 are plain SQL (they run on every dose write): same rows, values and types as the ORM's, for
    one patient (the write hook), a batch, a voided dose, and several as_of dates."""
    ids = sorted(Patient.objects.values_list("pk", flat=True))
    voided = Dose.objects.filter(patient_id=ids[0]).order_by("-taken_at").first()
    assert voided is not None
    Dose.objects.filter(pk=voided.pk).update(voided_at=timezone.now())
    today = timezone.now().date()
    compared = 0
    for as_of in (today, today - dt.timedelta(days=1), today - dt.timedelta(days=10)):
        for batch in ([ids[0]], ids[:2], ids):
            daily = snapshots._read_daily(batch, as_of)
            assert daily == _orm_daily(batch, as_of)
            doses = snapshots._read_doses(batch, as_of)
            rows = [row for pid in sorted(doses.by_patient) for row in doses.by_patient[pid]]
            assert rows == _orm_doses(batch, as_of)
            assert set(doses.lots) == {row["lot_id"] for row in rows}
            for row in rows:  # the same types (an aware instant, not SQLite's text)
                assert all(row[k] is None or row[k].tzinfo is not None for k in ("t0_recent", "t1_recent"))
            compared += len(rows) + len(daily)
    assert compared > 100  # the demo has doses in both windows for many patients
