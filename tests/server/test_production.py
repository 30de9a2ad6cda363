"""``kratomwatch serve --production`` for real: gunicorn on 127.0.0.1 with DEBUG off, on the database the suite
runs on (a fresh SQLite file, or a fresh PostgreSQL database when DATABASE_URL names one).

Static files (site CSS, vendored Pico, Swagger assets), the probes, the JSON request log without patient codes,
concurrent dose writes for one patient-day with no error, and no connection left behind on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks import load

PORT = int(os.environ.get("KW_TEST_SERVER_PORT", "8147"))
WORKERS = 3


def _vendor() -> tuple[str, str | None]:
    url = os.environ.get("DATABASE_URL", "")
    return ("postgresql", url) if url.startswith(("postgres://", "postgresql://")) else ("sqlite", None)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    vendor, pg_url = _vendor()
    home = tmp_path_factory.mktemp("prod-home")
    with load.fresh_database(vendor, home, pg_url) as url:
        env = load.server_env(home, url) | {"KRATOMWATCH_REQUEST_LOG_LEVEL": "INFO"}
        setup = load.prepare(env)
        log = home / "server.log"
        with load.production_server(env, PORT, WORKERS, log) as proc:
            yield {"setup": setup, "log": log, "url": url, "vendor": vendor, "proc": proc, "env": env}


def get(path: str, **kw: Any) -> tuple[int, bytes]:
    return load.request(PORT, "GET", path, **kw)


def test_static_files_load_with_debug_off(served: dict[str, Any]) -> None:
    for path in ("/static/web/site.css", "/static/web/vendor/pico.min.css", "/static/ninja/swagger-ui.css"):
        status, body = get(path)
        assert status == 200 and len(body) > 1000, (path, status)
    status, body = get("/api/v1/docs")
    assert status == 200
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static/ninja/{asset}".encode() in body
        assert get(f"/static/ninja/{asset}")[0] == 200
    assert get("/static/web/missing.css")[0] == 404


def test_debug_is_off_and_errors_are_plain(served: dict[str, Any]) -> None:
    status, body = get("/no/such/page/")
    assert status == 404
    assert b"Traceback" not in body and b"URLconf" not in body  # no DEBUG page


def test_probes_answer_json(served: dict[str, Any]) -> None:
    status, body = get("/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, body = get("/readyz")
    assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok", "pending_migrations": 0}
    # Probes are not redirected to HTTPS (a load balancer on the host speaks plain HTTP).
    conn = __import__("http.client").client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
    assert conn.getresponse().status == 200
    conn.close()


def test_concurrent_dose_writes_for_one_patient_day_all_succeed(served: dict[str, Any]) -> None:
    setup = served["setup"]
    code, lot = setup["patients"][0]
    client = load.Client(PORT, setup, uuid.uuid4().hex[:8])
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def post(i: int) -> None:
        body = {
            "lot_id": lot,
            "taken_at": "2026-11-30T12:00:00+00:00",
            "amount": 1.0 + i,
            "unit": "g",
            "idempotency_key": f"{client.run_id}-{i}",
        }
        barrier.wait(timeout=30)
        status = client.write(code, body)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [201] * 12, statuses
    # One repeat with other content is refused (409), the same content is answered 200 with the stored dose.
    same = {"lot_id": lot, "taken_at": "2026-11-30T12:00:00+00:00", "amount": 1.0, "unit": "g"}
    assert client.write(code, same | {"idempotency_key": f"{client.run_id}-0"}) == 200
    assert client.write(code, same | {"idempotency_key": f"{client.run_id}-0", "amount": 50.0}) == 409


def test_request_log_is_one_json_line_per_request_without_patient_codes(served: dict[str, Any]) -> None:
    code, _ = served["setup"]["patients"][0]
    client = load.Client(PORT, served["setup"], "log")
    assert client.summary() == 200
    assert get(f"/api/v1/patients/{code}/exposure?days=30")[0] == 401
    lines = [line for line in served["log"].read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert records, "no request log lines"
    for rec in records:
        assert set(rec) == {"method", "path", "status", "duration_ms", "user"}
    text = "\n".join(lines)
    for patient_code, _ in served["setup"]["patients"]:
        assert patient_code not in text
    assert "days=30" not in text
    exposure = [r for r in records if r["path"] == "/api/v1/patients/<code>/exposure"]
    assert {r["status"] for r in exposure} >= {200, 401}
    assert any(isinstance(r["user"], int) for r in exposure) and any(r["user"] == "anonymous" for r in exposure)


def test_no_database_connection_is_left_behind(served: dict[str, Any]) -> None:
    if served["vendor"] != "postgresql":
        pytest.skip("SQLite has no server connections")
    import psycopg

    name = served["url"].rsplit("/", 1)[1]
    client = load.Client(PORT, served["setup"], uuid.uuid4().hex[:8])
    load.open_loop([(1.0, client.summary, {200}, "summary")], rate=40, seconds=3, threads=16)
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        held = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()
    assert held is not None and held[0] <= WORKERS  # one per sync worker, however many requests


def test_check_deploy_is_clean_with_a_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRATOMWATCH_")}
    env |= {
        "KRATOMWATCH_HOME": str(tmp_path),
        "KRATOMWATCH_SECRET_KEY": "k" * 20 + uuid.uuid4().hex * 2,
        "DJANGO_SETTINGS_MODULE": "kratomwatch.settings",
    }
    env.pop("KRATOMWATCH_DEBUG", None)  # the default is off
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest for Playwright, never in production
    out = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout
    env.pop("KRATOMWATCH_SECRET_KEY")
    refused = subprocess.run(
        [sys.executable, "-m", "django", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0 and "KRATOMWATCH_SECRET_KEY must be set" in refused.stderr


def test_serve_without_a_secret_key_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRATOMWATCH_") and k != "DJANGO_SETTINGS_MODULE"}
    env["KRATOMWATCH_HOME"] = str(tmp_path)
    for args in (["serve"], ["serve", "--production"]):
        out = subprocess.run([load.KRATOMWATCH, *args], env=env, capture_output=True, text=True, check=False)
        assert out.returncode == 2, out.stderr
        assert out.stderr.strip().splitlines() == [
            "error: KRATOMWATCH_SECRET_KEY must be set when KRATOMWATCH_DEBUG is off (production; "
            "docs/operations.md), or set KRATOMWATCH_DEBUG=1 for development and the demo"
        ]
    out = subprocess.run(
        [load.KRATOMWATCH, "serve", "--workers", "2"], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 2 and "--workers needs --production" in out.stderr
