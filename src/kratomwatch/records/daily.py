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


def refresh_daily_exposure(*, patient_ids: Iterable[int] | None = None, days: Iterable[dt.date] | None = None) -> int:
    """Recompute ``DailyExposure`` set-based in SQL (one DELETE and one INSERT ... SELECT GROUP BY).

    With no arguments the whole registry is rebuilt; otherwise only the given patients (and days).
    Returns the number of daily rows written.

    The whole-registry rebuild on PostgreSQL empties the table with ``TRUNCATE`` instead of
    ``DELETE``: transactional (a failure restores the old rows), no dead tuples left for VACUUM,
    and the INSERT writes into fresh files. The cost is an ACCESS EXCLUSIVE lock until commit:
    readers of ``DailyExposure`` wait for the rebuild instead of seeing the previous rows.
    """
    where, params = "", list[Any]()
    if patient_ids is not None:
        ids = [int(p) for p in patient_ids]
        if not ids:
            return 0
        if len(ids) > 500:  # stay under bind-parameter limits; each chunk is still one set-based statement
            return sum(refresh_daily_exposure(patient_ids=ids[i : i + 500], days=days) for i in range(0, len(ids), 500))
        where = f" WHERE patient_id IN ({', '.join(['%s'] * len(ids))})"
        params = list(ids)
        if days is not None:
            day_list = list(days)
            where += f" AND {{day}} IN ({', '.join(['%s'] * len(day_list))})"
            params += day_list
    with transaction.atomic(), connection.cursor() as cur:
        if patient_ids is None and connection.vendor == "postgresql":
            cur.execute("TRUNCATE records_dailyexposure")
        else:
            cur.execute("DELETE FROM records_dailyexposure" + where.replace("{day}", "day"), params)
        cur.execute(
            f"INSERT INTO records_dailyexposure ({_DAILY_COLUMNS}) {_DAILY_SELECT}"
            + where.replace("{day}", "local_date").replace(" WHERE ", " AND ", 1)
            + " GROUP BY patient_id, local_date",
            params,
        )
        return int(cur.rowcount)
