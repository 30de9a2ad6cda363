"""Concurrent dose writes with real threads on the real database (review D2, D3; issue 12 item 4).

Each thread has its own database connection and transaction, as gunicorn workers do. On SQLite the writes
serialize (BEGIN IMMEDIATE) and the same guarantees must hold; on PostgreSQL they really interleave.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from kratomwatch.audit.log import Actor, verify_chain
from kratomwatch.core.errors import Conflict
from kratomwatch.records import actions
from kratomwatch.records.daily import refresh_daily_exposure
from kratomwatch.records.models import DailyExposure, Dose

pytestmark = pytest.mark.django_db(transaction=True)

# pytest-django's SQLite test database is in memory with a shared cache, where a second writer thread gets
# "database table is locked" instead of waiting: threads can only be tested on PostgreSQL here. SQLite's own
# concurrent writes are tested against the served database file (tests/server/test_production.py).
threaded = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads need PostgreSQL (in-memory SQLite test database)"
)

THREADS = 10


def run_together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in n threads released at once; return each result or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def dose(w: Any, i: int, *, key: str, amount: float) -> actions.DoseIn:
    return actions.DoseIn(
        patient_code="P-001",
        lot_id=w.leaf_cert_lot.pk,
        taken_at=dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
        amount=amount,
        unit="g",
        idempotency_key=key,
    )


@threaded
def test_concurrent_doses_for_one_patient_day_all_succeed_and_sum(world: Any) -> None:
    actor = Actor.system("test")

    def work(i: int) -> bool:
        _, created = actions.record_dose(
            actor=actor, patient=world.patient, dose=dose(world, i, key=f"day-{i}", amount=1.0 + i), now=world.now
        )
        return created

    results = run_together(THREADS, work)

    assert results == [True] * THREADS, [r for r in results if r is not True]
    day = dt.date(2026, 11, 20)
    assert Dose.objects.filter(patient=world.patient, local_date=day).count() == THREADS
    daily = DailyExposure.objects.get(patient=world.patient, day=day)
    assert daily.doses == THREADS
    # 15 mg mitragynine per gram (the lot's certificate): every concurrent dose is in the sum.
    assert daily.mitragynine_mg == pytest.approx(15.0 * sum(1.0 + i for i in range(THREADS)))
    # The incremental rows equal a full rebuild from the doses.
    before = list(DailyExposure.objects.values_list("patient_id", "day", "mitragynine_mg", "doses").order_by("day"))
    refresh_daily_exposure()
    after = list(DailyExposure.objects.values_list("patient_id", "day", "mitragynine_mg", "doses").order_by("day"))
    assert before == after
    assert verify_chain().ok


@threaded
def test_concurrent_repeat_with_different_content_is_a_conflict(world: Any) -> None:
    actor = Actor.system("test")

    def work(i: int) -> bool:
        _, created = actions.record_dose(
            actor=actor, patient=world.patient, dose=dose(world, 0, key="same-key", amount=1.0 + i), now=world.now
        )
        return created

    results = run_together(THREADS, work)

    winners = [i for i, r in enumerate(results) if r is True]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1, results
    assert len(conflicts) == THREADS - 1, results  # never "saved" for a dose that was not saved (D3)
    assert all(c.field == "idempotency_key" for c in conflicts)
    stored = Dose.objects.get(patient=world.patient, idempotency_key="same-key")
    assert stored.amount == 1.0 + winners[0]


@threaded
def test_concurrent_repeat_with_same_content_returns_the_stored_dose(world: Any) -> None:
    actor = Actor.system("test")

    def work(i: int) -> tuple[int, bool]:
        saved, created = actions.record_dose(
            actor=actor, patient=world.patient, dose=dose(world, 0, key="repeat", amount=2.0), now=world.now
        )
        return saved.pk, created

    results = run_together(THREADS, work)

    assert all(isinstance(r, tuple) for r in results), results
    assert sum(created for _, created in results) == 1
    assert len({pk for pk, _ in results}) == 1
    assert Dose.objects.filter(patient=world.patient, idempotency_key="repeat").count() == 1
    assert DailyExposure.objects.get(patient=world.patient, day=dt.date(2026, 11, 20)).doses == 1


def test_voiding_a_dose_removes_an_emptied_day(world: Any) -> None:
    actor = Actor.system("test")
    saved, _ = actions.record_dose(
        actor=actor, patient=world.patient, dose=dose(world, 0, key="only", amount=2.0), now=world.now
    )
    Dose.objects.filter(pk=saved.pk).update(voided_at=world.now)
    refresh_daily_exposure(patient_ids=[world.patient.pk], days=[saved.local_date])
    assert not DailyExposure.objects.filter(patient=world.patient).exists()
    assert connection.vendor in {"sqlite", "postgresql"}
