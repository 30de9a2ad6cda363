"""Where a dose write (and a summary read) spends its time, on the API path, with cProfile.

    DATABASE_URL=... python -m benchmarks.profile_write [--requests 50] [--top 25]

Runs in process through Django's test client against a database prepared by ``benchmarks.load`` (or any
migrated database with the demo loaded): ``POST /api/v1/patients/<code>/doses`` and
``GET /api/v1/patients/<code>/exposure`` as the demo clinician. Prints the wall time per request of each
phase (transaction, daily refresh, alert evaluation, audit chain) with its share of the request, the SQL
statements per request (``django.test.utils.CaptureQueriesContext``, counted in a separate pass without the profiler,
by kind), the process CPU time per request without the profiler (on a shared machine, less disturbed by other work
than wall time; the database server's own CPU is not in it), and cProfile's top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import sys
import time
import uuid
from typing import Any

PHASES = {
    "daily refresh": "refresh_daily_exposure",
    "alert evaluation": "evaluate_patients",
    "audit chain": "record",
    "access + audited read": "writing_patient_for",  # get_writable_patient_for before 2026-12-02
    "token auth": "authenticate",
    "commit": "commit",
    "summary": "exposure_summary",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_write")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")
    os.environ.setdefault("KRATOMWATCH_DEBUG", "1")
    os.environ.setdefault("KRATOMWATCH_REQUEST_LOG_LEVEL", "WARNING")  # one JSON line per request otherwise
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kratomwatch.accounts.actions import issue_token
    from kratomwatch.audit.log import Actor
    from kratomwatch.records.models import Lot, Patient

    user = get_user_model().objects.get(username="clinician")
    token = issue_token(actor=Actor.system("profile"), user=user, name="profile")
    patient = Patient.objects.filter(code__startswith="KW-").order_by("code").first()
    assert patient is not None
    lot = Lot.objects.filter(product__program_id=patient.program_id).first()
    assert lot is not None
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1")
    run = uuid.uuid4().hex[:8]

    def post(i: int) -> Any:
        body = {
            "lot_id": lot.pk,
            "taken_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=i + 1)).isoformat(),
            "amount": 1.5,
            "unit": "g",
            "idempotency_key": f"profile-{run}-{i}",
        }
        resp = client.post(f"/api/v1/patients/{patient.code}/doses", body, content_type="application/json")
        assert resp.status_code == 201, resp.content

    def get(i: int) -> Any:
        resp = client.get(f"/api/v1/patients/{patient.code}/exposure")
        assert resp.status_code == 200, resp.content

    print(f"database: {connection.vendor}; {args.requests} requests each; patient {patient.pk}")
    for label, call in (("POST dose", post), ("GET summary", get)):
        call(-1)  # warm up
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        for i in range(args.requests):
            call(i)
        profiler.disable()
        per = (time.perf_counter() - t0) / args.requests * 1000
        stats = pstats.Stats(profiler)
        calls = stats.total_calls / args.requests  # type: ignore[attr-defined]
        print(f"\n== {label}: {per:.1f} ms per request (under the profiler), {calls:,.0f} Python function calls")
        for phase, fn in PHASES.items():
            total = sum(
                v[3]
                for (file, _, name), v in stats.stats.items()
                if name == fn and "kratomwatch" in file  # type: ignore[attr-defined]
            )
            if total:
                ms = total / args.requests * 1000
                print(f"   {phase:24} {ms:7.1f} ms per request (cumulative), {ms / per:4.0%} of the request")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(args.requests):
            call(args.requests + i)
        cpu = (time.process_time() - cpu0) / args.requests * 1000
        wall = (time.perf_counter() - wall0) / args.requests * 1000
        print(f"   without the profiler: {cpu:.1f} ms CPU of this process per request ({wall:.1f} ms wall)")
        with CaptureQueriesContext(connection) as captured:
            for i in range(args.requests):
                call(2 * args.requests + i)
        kinds: dict[str, int] = {}
        for query in captured.captured_queries:
            word = query["sql"].split(None, 1)[0].upper() if query["sql"].strip() else "?"
            kinds[word] = kinds.get(word, 0) + 1
        per_kind = ", ".join(f"{k} {v / args.requests:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
        print(f"   SQL statements per request: {len(captured.captured_queries) / args.requests:.1f} ({per_kind})")
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(args.top)
        print(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
