"""The standing resilience test (issue 12, item 8): PostgreSQL restarted under load.

A bounded open-loop load of dose writes and summary reads runs against ``kratomwatch serve --production`` on
127.0.0.1 for 15 s; 5 s in, PostgreSQL is restarted (``pg_ctl restart -m fast`` on its data directory). Then:

* every acknowledged write (201) exists exactly once, and no idempotency key is stored twice;
* the daily exposure rows of the load equal a recomputation from the doses;
* the same server (never restarted) is ready again and takes a new write.

Needs the cluster's ``pg_ctl`` and data directory: ``KW_PG_CTL``, ``KW_PG_DATA`` (and ``KW_PG_RUNAS``, the OS
user that owns the cluster, when the tests run as root; ``KW_PG_LOG``, the server's log file), with DATABASE_URL
on that cluster. .ci/run sets them
and fails if this test was skipped on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from typing import Any

import pytest
from benchmarks import load
from django.db import connections

PORT = int(os.environ.get("KW_RESILIENCE_PORT", "8148"))
URL = os.environ.get("DATABASE_URL", "")
PG_CTL = os.environ.get("KW_PG_CTL", "")
PG_DATA = os.environ.get("KW_PG_DATA", "")

pytestmark = pytest.mark.skipif(
    not (URL.startswith(("postgres://", "postgresql://")) and PG_CTL and PG_DATA),
    reason="needs PostgreSQL with KW_PG_CTL and KW_PG_DATA (the cluster to restart); .ci/run sets them",
)


def restart_postgres() -> float:
    # The same options as the first start (pg_ctl keeps them in postmaster.opts); the server's output goes to
    # KW_PG_LOG, never to a pipe of this process (the new postmaster would hold it open).
    log = os.environ.get("KW_PG_LOG") or os.devnull
    cmd = [PG_CTL, "-D", PG_DATA, "-m", "fast", "-w", "-t", "60", "-l", log, "restart"]
    if os.environ.get("KW_PG_RUNAS"):
        cmd = ["runuser", "-u", os.environ["KW_PG_RUNAS"], "--", *cmd]
    t0 = time.monotonic()
    subprocess.run(
        cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90
    )
    return time.monotonic() - t0


def test_postgres_restart_under_load_loses_no_acknowledged_write(tmp_path: Any) -> None:
    import psycopg

    acked: list[str] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    try:
        with load.fresh_database("postgresql", tmp_path, URL) as url:
            env = load.server_env(tmp_path, url)
            setup = load.prepare(env)
            with load.production_server(env, PORT, 3, tmp_path / "server.log"):
                client = load.Client(PORT, setup, f"res-{uuid.uuid4().hex[:6]}")

                def write() -> int:
                    code, body = client.dose_body()
                    try:
                        status = client.write(code, body)
                    except OSError as exc:
                        with lock:
                            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
                        raise
                    with lock:
                        outcomes[str(status)] = outcomes.get(str(status), 0) + 1
                        if status == 201:
                            acked.append(body["idempotency_key"])
                    return status

                restart: dict[str, float] = {}

                def restart_later() -> None:
                    time.sleep(5)
                    restart["seconds"] = restart_postgres()

                restarter = threading.Thread(target=restart_later)
                restarter.start()
                result = load.open_loop(
                    [(0.5, write, {201}, "writes"), (0.5, client.summary, {200}, "summary")],
                    rate=30,
                    seconds=15,
                    threads=24,
                )
                restarter.join()
                assert "seconds" in restart, "PostgreSQL was not restarted"

                # The same server answers again by itself.
                load.wait_ready(PORT, timeout=30)
                assert write() == 201
                assert client.summary() == 200

            # Some requests in flight during the restart fail (not acknowledged); the others succeed.
            assert result["writes"]["requests"] > 100 and len(acked) > 50, (result, outcomes)
            with psycopg.connect(url, autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT idempotency_key, count(*) FROM records_dose WHERE idempotency_key LIKE %s "
                    "GROUP BY idempotency_key",
                    [client.run_id + "-%"],
                ).fetchall()
                stored = dict(rows)
                missing = [key for key in acked if key not in stored]
                twice = {key: n for key, n in stored.items() if n != 1}
                assert not missing, f"acknowledged writes missing: {missing[:5]} ({len(missing)})"
                assert not twice, f"keys stored more than once: {twice}"
                assert len(stored) >= len(acked)
                mismatched = conn.execute(
                    """
                    SELECT count(*) FROM (
                      SELECT patient_id, local_date AS day, count(*) AS n, coalesce(sum(mitragynine_mg), 0) AS mg
                      FROM records_dose WHERE voided_at IS NULL GROUP BY patient_id, local_date
                    ) d FULL JOIN records_dailyexposure e ON e.patient_id = d.patient_id AND e.day = d.day
                    WHERE e.id IS NULL OR d.n IS NULL OR e.doses <> d.n OR abs(e.mitragynine_mg - d.mg) > 1e-6
                    """
                ).fetchone()
                assert mismatched is not None and mismatched[0] == 0, "daily exposure differs from the doses"
    finally:
        # This process's own connections did not survive the restart: the next test opens fresh ones.
        connections.close_all()
