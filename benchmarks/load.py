"""HTTP load against ``kratomwatch serve --production`` on 127.0.0.1 (issue 12, item 5).

    python -m benchmarks.load --out var/bench.json [--database all|sqlite|postgresql] [--seconds 20]

For each database: a fresh database (SQLite file under $KRATOMWATCH_HOME/var/bench/, or a new PostgreSQL
database on the server of KRATOMWATCH_BENCH_POSTGRES_URL / a postgres:// DATABASE_URL, dropped afterwards),
``migrate`` and a small demo registry, then the production server (gunicorn, DEBUG off), then:

* ``trivial``: GET /healthz, closed loop (C threads back to back) -> requests/s;
* ``summary``: GET /api/v1/patients/<code>/exposure (the patient summary), closed loop -> requests/s, and the
  ratio summary/trivial on the same stack;
* ``writes``: POST /api/v1/patients/<code>/doses, closed loop at saturation -> dose writes/s, errors;
* ``mixed``: open loop at a fixed rate (80% summary GETs, 20% dose POSTs) -> p50/p99 latency measured from
  each request's *scheduled* time (a late start counts as latency), errors.

Results are merged into the ``--out`` JSON (under ``"http_load"``), next to the write-path benchmarks of
``benchmarks.run``. The client is Python threads with http.client (standard library), one connection per
request (gunicorn's sync workers close it), on the same 2 cores as the server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import queue
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TARGETS = {
    "writes_per_second": {"postgresql": 150, "sqlite": 100},
    "mixed_rate_per_second": 100,
    "mixed_p99_ms": 50,
}
ROOT = Path(__file__).resolve().parent.parent
KRATOMWATCH = str(Path(sys.executable).parent / "kratomwatch")
HEADERS = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}  # as the reverse proxy sends them


# --- the server under test --------------------------------------------------------------------


def server_env(home: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRATOMWATCH_") and k != "DATABASE_URL"}
    env |= {
        "KRATOMWATCH_HOME": str(home),
        "DATABASE_URL": database_url,
        "KRATOMWATCH_SECRET_KEY": secrets.token_urlsafe(60),
        "KRATOMWATCH_DEBUG": "0",
        "KRATOMWATCH_REQUEST_LOG_LEVEL": "WARNING",  # the request log costs I/O; it is measured in the tests
    }
    return env


SETUP = """
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
import datetime as dt
from django.utils import timezone
from kratomwatch.demo import load_demo
for hours in (0, 6, 12, 18):  # a demo generated "as of" a few hours ago if now would date a dose in the future
    try:
        load_demo(patients=30, days=30, seed=7, now=timezone.now() - dt.timedelta(hours=hours))
        break
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
from django.contrib.auth import get_user_model
from kratomwatch.accounts.actions import issue_token
from kratomwatch.audit.log import Actor
from kratomwatch.records.models import Lot, Patient
user = get_user_model().objects.get(username="clinician")
token = issue_token(actor=Actor.system("bench"), user=user, name="load")
program_ids = set(user.memberships.values_list("program_id", flat=True)) if hasattr(user, "memberships") else set()
patients = list(Patient.objects.filter(code__startswith="KW-").order_by("code").values_list("code", "program_id"))
lots = {}
for lot_id, program_id in Lot.objects.values_list("id", "product__program_id"):
    lots.setdefault(program_id, []).append(lot_id)
json.dump({"token": token, "patients": [[c, lots[p][0]] for c, p in patients if p in lots]}, sys.stdout)
"""


def prepare(env: dict[str, str]) -> dict[str, Any]:
    """Migrate, load a small demo registry and issue a clinician token (in a child process)."""
    setup_env = env | {"KRATOMWATCH_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "kratomwatch.settings"}
    out = subprocess.run(
        [sys.executable, "-c", SETUP], env=setup_env, cwd=ROOT, check=False, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"preparing the benchmark database failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@contextmanager
def production_server(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [KRATOMWATCH, "serve", "--production", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(port, timeout=120)
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_ready(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/readyz", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server on port {port} not ready after {timeout} s")


# --- the client ------------------------------------------------------------------------------------


def request(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, token: str = "", timeout: float = 30
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = dict(HEADERS)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Client:
    """The requests of the scenarios, against one prepared registry."""

    def __init__(self, port: int, setup: dict[str, Any], run_id: str) -> None:
        self.port, self.token, self.patients = port, setup["token"], setup["patients"]
        self.run_id = run_id
        self.count = 0
        self.lock = threading.Lock()

    def healthz(self) -> int:
        return request(self.port, "GET", "/healthz")[0]

    def summary(self) -> int:
        code, _ = random.choice(self.patients)
        return request(self.port, "GET", f"/api/v1/patients/{code}/exposure", token=self.token)[0]

    def dose_body(self) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.count += 1
            n = self.count
        code, lot = random.choice(self.patients)
        taken = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=random.randint(1, 600))
        body = {
            "lot_id": lot,
            "taken_at": taken.isoformat(timespec="seconds"),
            "amount": 1.5,
            "unit": "g",
            "idempotency_key": f"{self.run_id}-{n}",
        }
        return code, body

    def write(self, code: str, body: dict[str, Any]) -> int:
        return request(self.port, "POST", f"/api/v1/patients/{code}/doses", body=body, token=self.token)[0]

    def dose(self) -> int:
        return self.write(*self.dose_body())


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def closed_loop(call: Callable[[], int], *, threads: int, seconds: float, ok: set[int]) -> dict[str, Any]:
    """``threads`` clients back to back for ``seconds``: throughput at saturation."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def run() -> None:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                status = str(call())
            except OSError as exc:
                status = type(exc).__name__
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(ms)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.monotonic()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    good = sum(n for s, n in statuses.items() if s.isdigit() and int(s) in ok)
    return {
        "threads": threads,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "ok": good,
        "errors": len(latencies) - good,
        "per_second": round(good / elapsed, 1),
        "statuses": statuses,
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
    }


def open_loop(
    calls: list[tuple[float, Callable[[], int], set[int], str]], *, rate: float, seconds: float, threads: int = 48
) -> dict[str, Any]:
    """Requests started at a fixed rate whatever the server does; latency counts from the scheduled time.

    ``calls`` are (weight, call, ok statuses, label)."""
    total = int(rate * seconds)
    jobs: queue.Queue[tuple[float, int] | None] = queue.Queue()
    weights = [c[0] for c in calls]
    results: list[tuple[int, float, str]] = []  # (call index, ms, status)
    lock = threading.Lock()

    def run() -> None:
        while (job := jobs.get()) is not None:
            due, index = job
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                status = str(calls[index][1]())
            except OSError as exc:
                status = type(exc).__name__
            ms = (time.perf_counter() - due) * 1000
            with lock:
                results.append((index, ms, status))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    start = time.perf_counter() + 0.2
    for i in range(total):
        jobs.put((start + i / rate, random.choices(range(len(calls)), weights)[0]))
    for _ in workers:
        jobs.put(None)
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    out: dict[str, Any] = {"rate_per_second": rate, "seconds": round(elapsed, 2), "requests": len(results)}
    all_ms = [ms for _, ms, _ in results]
    errors = 0
    for index, (_, _, ok, label) in enumerate(calls):
        mine = [(ms, s) for i, ms, s in results if i == index]
        bad = sum(1 for _, s in mine if not (s.isdigit() and int(s) in ok))
        errors += bad
        out[label] = {
            "requests": len(mine),
            "errors": bad,
            "p50_ms": _pct([ms for ms, _ in mine], 0.5),
            "p99_ms": _pct([ms for ms, _ in mine], 0.99),
        }
    out |= {"errors": errors, "p50_ms": _pct(all_ms, 0.5), "p99_ms": _pct(all_ms, 0.99)}
    out["achieved_per_second"] = round(len(results) / elapsed, 1)
    return out


# --- one database ----------------------------------------------------------------------------


@contextmanager
def fresh_database(vendor: str, home: Path, pg_url: str | None) -> Iterator[str]:
    if vendor == "sqlite":
        path = home / "var" / "load.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for p in path.parent.glob("load.sqlite3*"):
            p.unlink()
        yield f"sqlite:///{path}"
        return
    import psycopg

    assert pg_url is not None
    name = f"kw_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield pg_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_database(vendor: str, args: argparse.Namespace, pg_url: str | None) -> dict[str, Any]:
    home = Path(os.environ.get("KRATOMWATCH_HOME", ROOT)).resolve() / "var" / "bench" / f"load-{vendor}"
    home.mkdir(parents=True, exist_ok=True)
    with fresh_database(vendor, home, pg_url) as url:
        env = server_env(home, url)
        t0 = time.monotonic()
        setup = prepare(env)
        prepared = round(time.monotonic() - t0, 1)
        log = home / "server.log"
        with production_server(env, args.port, args.workers, log):
            client = Client(args.port, setup, uuid.uuid4().hex[:8])
            seconds = args.seconds
            result: dict[str, Any] = {"workers": args.workers, "setup_seconds": prepared}
            result["trivial"] = closed_loop(client.healthz, threads=args.threads, seconds=seconds / 2, ok={200})
            result["summary"] = closed_loop(client.summary, threads=args.threads, seconds=seconds / 2, ok={200})
            result["summary_to_trivial_ratio"] = round(
                result["summary"]["per_second"] / max(result["trivial"]["per_second"], 0.1), 3
            )
            result["writes"] = closed_loop(client.dose, threads=args.threads, seconds=seconds, ok={201})
            result["mixed"] = open_loop(
                [(0.8, client.summary, {200}, "summary"), (0.2, client.dose, {201}, "writes")],
                rate=args.rate,
                seconds=seconds,
            )
    w, m = result["writes"], result["mixed"]
    result["pass"] = {
        "writes_per_second": w["per_second"] >= TARGETS["writes_per_second"][vendor] and w["errors"] == 0,
        "mixed_p99_ms": m["p99_ms"] is not None and m["p99_ms"] <= TARGETS["mixed_p99_ms"] and m["errors"] == 0,
    }
    return result


def _postgres_url() -> str | None:
    url = os.environ.get("KRATOMWATCH_BENCH_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/bench.json"))
    parser.add_argument("--database", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--seconds", type=float, default=20.0, help="per write and mixed scenario (reads: half)")
    parser.add_argument("--rate", type=float, default=TARGETS["mixed_rate_per_second"])
    parser.add_argument("--threads", type=int, default=16, help="closed-loop client threads")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--port", type=int, default=int(os.environ.get("KRATOMWATCH_BENCH_PORT", "8149")))
    args = parser.parse_args(argv)
    pg_url = _postgres_url()
    if args.database == "postgresql" and pg_url is None:
        parser.error("--database postgresql needs KRATOMWATCH_BENCH_POSTGRES_URL or a postgres:// DATABASE_URL")
    results: dict[str, Any] = {}
    for vendor in ("sqlite", "postgresql"):
        if args.database in ("all", vendor) and (vendor == "sqlite" or pg_url):
            results[vendor] = run_database(vendor, args, pg_url)
            r = results[vendor]
            print(
                f"{vendor}: writes {r['writes']['per_second']}/s ({r['writes']['errors']} errors); mixed at "
                f"{args.rate}/s p50 {r['mixed']['p50_ms']} ms p99 {r['mixed']['p99_ms']} ms "
                f"({r['mixed']['errors']} errors); summary {r['summary']['per_second']}/s vs /healthz "
                f"{r['trivial']['per_second']}/s = {r['summary_to_trivial_ratio']}",
                flush=True,
            )
    report: dict[str, Any] = {}
    if args.out.exists():
        try:
            report = json.loads(args.out.read_text())
        except json.JSONDecodeError:
            report = {}
    report["http_load"] = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "parameters": {k: str(v) for k, v in vars(args).items()},
        "targets": TARGETS,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
