"""The materialized daily exposure: ``DailyExposure`` recomputed set-based in SQL from the doses.

Written only by the write path (``records.actions``, ``records.bulk``) after it changes doses; read by pages,
the sweep and exports. See docs/architecture.md, "Materialized daily exposure".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

_DAILY_COLUMNS = (
    "patient_id, day, mitragynine_mg, seven_oh_mg, doses, unknown_doses, estimated_doses, first_dose_minute"
)
_DAILY_SELECT = (
    "SELECT patient_id, local_date, COALESCE(SUM(mitragynine_mg), 0), COALESCE(SUM(seven_oh_mg), 0), COUNT(*), "
    "SUM(CASE WHEN basis = 'unknown' THEN 1 ELSE 0 END), SUM(CASE WHEN basis = 'estimated' THEN 1 ELSE 0 END), "
    "MIN(local_minute) FROM records_dose WHERE voided_at IS NULL"  # a voided dose no longer counts
)


# Namespace of the per-patient advisory locks (the two-key form; the audit chain uses the one-key form).
_PATIENT_LOCK_NAMESPACE = 0x6B77  # "kw"


def lock_patients(patient_ids: Iterable[int]) -> None:
    """PostgreSQL: hold a transaction lock on each patient's daily rows until commit (sorted: no deadlock).

    Two writes for one patient then refresh one after the other, and the second one's statements see the
    first one's committed doses (READ COMMITTED takes a snapshot per statement), so the daily sums never miss a
    concurrent dose. SQLite needs nothing: its writes are serialized (``BEGIN IMMEDIATE``).
    """
    if connection.vendor != "postgresql":
        return
    ids = sorted({int(p) for p in patient_ids})
    if ids:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_advisory_xact_lock(%s, p) FROM unnest(%s::int[]) AS p ORDER BY p",
                [_PATIENT_LOCK_NAMESPACE, ids],
            )


def refresh_daily_exposure(*, patient_ids: Iterable[int] | None = None, days: Iterable[dt.date] | None = None) -> int:
    """Recompute ``DailyExposure`` set-based in SQL from the doses.

    With no arguments the whole registry is rebuilt (one DELETE or TRUNCATE and one INSERT ... SELECT GROUP BY).
    Otherwise only the given patients (and days): one upsert (``INSERT ... SELECT ... GROUP BY ... ON CONFLICT
    (patient_id, day) DO UPDATE``) and one DELETE of the rows whose day has no counted dose left, under the
    patients' advisory locks (:func:`lock_patients`), so concurrent writes for one patient-day never collide on
    the unique row and never lose a dose from the sum. Returns the number of daily rows written.

    The whole-registry rebuild on PostgreSQL empties the table with ``TRUNCATE`` instead of
    ``DELETE``: transactional (a failure restores the old rows), no dead tuples left for VACUUM,
    and the INSERT writes into fresh files. The cost is an ACCESS EXCLUSIVE lock until commit:
    readers of ``DailyExposure`` wait for the rebuild instead of seeing the previous rows.
    """
    if patient_ids is None:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "TRUNCATE records_dailyexposure"
                if connection.vendor == "postgresql"
                else "DELETE FROM records_dailyexposure"
            )
            cur.execute(
                f"INSERT INTO records_dailyexposure ({_DAILY_COLUMNS}) {_DAILY_SELECT} GROUP BY patient_id, local_date"
            )
            return int(cur.rowcount)
    ids = sorted({int(p) for p in patient_ids})
    if not ids:
        return 0
    if len(ids) > 500:  # stay under bind-parameter limits; each chunk is still one set-based statement
        return sum(refresh_daily_exposure(patient_ids=ids[i : i + 500], days=days) for i in range(0, len(ids), 500))
    where = f"patient_id IN ({', '.join(['%s'] * len(ids))})"
    params: list[Any] = list(ids)
    if days is not None:
        day_list = sorted(set(days))
        if not day_list:
            return 0
        where += f" AND {{day}} IN ({', '.join(['%s'] * len(day_list))})"
        params += day_list
    updates = ", ".join(f"{c} = excluded.{c}" for c in _DAILY_COLUMNS.split(", ")[2:])
    with transaction.atomic(), connection.cursor() as cur:
        lock_patients(ids)
        cur.execute(
            f"INSERT INTO records_dailyexposure ({_DAILY_COLUMNS}) {_DAILY_SELECT} AND "
            + where.replace("{day}", "local_date")
            + f" GROUP BY patient_id, local_date ON CONFLICT (patient_id, day) DO UPDATE SET {updates}",
            params,
        )
        written = int(cur.rowcount)
        cur.execute(
            "DELETE FROM records_dailyexposure WHERE "
            + where.replace("{day}", "day")
            + " AND NOT EXISTS (SELECT 1 FROM records_dose d WHERE d.patient_id = records_dailyexposure.patient_id"
            " AND d.local_date = records_dailyexposure.day AND d.voided_at IS NULL)",
            params,
        )
        return written
