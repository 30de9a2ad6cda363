"""Write-path benchmarks: bulk dose load, registry-wide daily exposure rebuild, and the alert sweep.

    python -m benchmarks.run --out var/bench.json [--patients N --days D] [--doses-per-day 1-4] [--quick]

Each database runs in its own child process on a fresh database: SQLite in a new file under
$KRATOMWATCH_HOME/var/bench/, PostgreSQL (when KRATOMWATCH_BENCH_POSTGRES_URL, or DATABASE_URL with a
postgres:// scheme, is set) in a new schema of that database, dropped afterwards. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TARGETS = {
    "bulk_load_rows_per_second": {"postgresql": 300_000, "sqlite": 100_000},
    "daily_exposure_rebuild_seconds": 5.0,
    "daily_exposure_target_size": {"patients": 10_000, "days": 365},
    "alert_sweep_seconds": 10.0,
    "research_export_seconds": 60.0,
    "research_export_peak_rss_mb": 2048.0,
    "research_export_target_size": {"patients": 10_000, "days": 365},
    "cohort_analysis_seconds": 5.0,
}
RESEARCH_EXPORT_FORMATS = ("csv", "parquet")
QUICK = {"patients": 200, "days": 30}
DOSES_PER_DAY_NOTE = (
    "doses per patient-day are uniform in the given range (1-4: mean 2.5, ~9.1M rows at 10k x 365); "
    "daily exposure rows = patients x days either way, so the rebuild target is about the GROUP BY output size"
)


def parse_doses_per_day(text: str | int) -> tuple[int, int]:
    """``"1-4"`` -> (1, 4) uniform; ``"1"`` or 1 -> (1, 1)."""
    lo, _, hi = str(text).partition("-")
    low, high = int(lo), int(hi or lo)
    if not 1 <= low <= high <= 4:
        raise ValueError(f"doses per day must be within 1-4, got {text!r}")
    return low, high


def _home() -> Path:
    return Path(os.environ.get("KRATOMWATCH_HOME", Path.cwd())).resolve()


def _postgres_url() -> str | None:
    url = os.environ.get("KRATOMWATCH_BENCH_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


# --- measurement helpers (child) ------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _proc_status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@contextmanager
def _peak_memory(python_heap: bool = True) -> Iterator[dict[str, float]]:
    """Peak Python heap (tracemalloc; ``python_heap=False`` leaves it out, since tracing slows every Python
    allocation) and peak process RSS above the starting RSS, sampled every 2 ms; also the RSS at the start and at
    the peak.

    The RSS includes SQLite's page cache and sort memory (SQLite runs in this process); PostgreSQL's
    work happens in the server backend, measured separately.
    """
    out: dict[str, float] = {}
    start = _rss_bytes()
    peak = [start]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], _rss_bytes())

    thread = threading.Thread(target=sample, daemon=True)
    if python_heap:
        tracemalloc.start()
    thread.start()
    try:
        yield out
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], _rss_bytes())
        if python_heap:
            out["python_heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
            tracemalloc.stop()
        out["process_rss_peak_delta_mb"] = round((peak[0] - start) / 2**20, 1)
        out["process_rss_start_mb"] = round(start / 2**20, 1)
        out["process_rss_peak_mb"] = round(peak[0] / 2**20, 1)


def _proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a local process (the PostgreSQL backend), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def _rebuild(vendor: str) -> dict[str, Any]:
    """One registry-wide ``refresh_daily_exposure()`` on a fresh connection (so server peaks are its own)."""
    from django.db import connection

    from kratomwatch.records import actions

    connection.close()
    connection.ensure_connection()
    backend_pid = None
    if vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend_pid = cur.fetchone()[0]
    gc.collect()
    with _peak_memory() as memory:
        rows, seconds = _timed(actions.refresh_daily_exposure)
    result: dict[str, Any] = {"rows": rows, "seconds": round(seconds, 3), **memory}
    if backend_pid is not None:
        hwm = _proc_status_kb(backend_pid, "VmHWM")
        result["server_backend_peak_rss_mb"] = None if hwm is None else round(hwm / 1024, 1)
    return result


def _incremental(vendor: str) -> dict[str, Any]:
    """The operational path: refresh only the newest day of every patient (what a day of new doses
    touches), ``refresh_daily_exposure(patient_ids=..., days=[day])``. Not judged against a target."""
    from django.db import connection
    from django.db.models import Max

    from kratomwatch.records import actions
    from kratomwatch.records.models import Dose, Patient

    connection.close()
    connection.ensure_connection()
    day = Dose.objects.aggregate(day=Max("local_date"))["day"]
    ids = list(Patient.objects.values_list("pk", flat=True))
    rows, seconds = _timed(lambda: actions.refresh_daily_exposure(patient_ids=ids, days=[day]))
    return {"patients": len(ids), "day": day.isoformat(), "rows": rows, "seconds": round(seconds, 3)}


# --- child: one database --------------------------------------------------------------------


def _setup_django(spec: dict[str, Any]) -> None:
    os.environ["DATABASE_URL"] = spec["url"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")
    import django
    from django.conf import settings

    if spec.get("schema"):
        settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c search_path={spec['schema']}"
    django.setup()


def _child_sweep_at_scale(spec: dict[str, Any]) -> dict[str, Any]:
    """The sweep alone on a larger registry (the 100k-patient figure): its own registry, built the same way."""
    _setup_django(spec)
    from django.core.management import call_command

    from benchmarks.sweep import run_sweep_benchmark

    call_command("migrate", verbosity=0)
    result = run_sweep_benchmark(spec["patients"], spec["days"], seed=spec["seed"])
    result["note"] = (
        f"{spec['days']} days of history: the sweep reads the last 35 days of doses and daily exposure, so a "
        "longer history changes only the size of the tables its index range scans start from"
    )
    return result


def _child_research_export(spec: dict[str, Any]) -> dict[str, Any]:
    """The research export (``research.export.export``, CSV and Parquet, shifted dates) of the registry the main
    child left in this database, in a process of its own so that its peak memory is the export's: what
    ``kratomwatch research export --format csv,parquet`` does, without the command line around it."""
    _setup_django(spec)
    import shutil

    from django.db import connection

    from kratomwatch.accounts.models import Program
    from kratomwatch.audit.log import Actor
    from kratomwatch.records.models import Patient
    from kratomwatch.research import export

    connection.ensure_connection()
    backend_pid = None
    if spec["vendor"] == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend_pid = cur.fetchone()[0]
    program = Program.objects.get(slug="bench")
    patients = Patient.objects.filter(program=program)
    out = _home() / "var" / "bench" / f"research-export-{spec['vendor']}"
    shutil.rmtree(out, ignore_errors=True)
    steps: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        steps[step] = round(now - last[0], 3)
        last[0] = now

    request = export.ExportRequest(
        out=out, project="bench", now=dt.datetime.now(dt.UTC), formats=RESEARCH_EXPORT_FORMATS
    )
    gc.collect()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    server0 = None if backend_pid is None else _proc_cpu_seconds(backend_pid)
    with _peak_memory(python_heap=False) as memory:
        t0 = time.perf_counter()
        last[0] = t0
        exported = export.export(
            patients,
            request,
            actor=Actor.system("benchmark"),
            secret="benchmark-research-secret-0123456789",  # synthetic data, thrown away
            program=program,
            progress=progress,
        )
        seconds = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    server1 = None if backend_pid is None else _proc_cpu_seconds(backend_pid)
    files = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    result: dict[str, Any] = {
        "formats": list(RESEARCH_EXPORT_FORMATS),
        "dates": request.dates,
        "seconds": round(seconds, 3),
        "step_seconds": steps,
        "rows": exported.counts,
        "participants": {"included": exported.included, "excluded": exported.excluded, "withheld": exported.withheld},
        "files_bytes": files,
        "files_total_mb": round(sum(files.values()) / 2**20, 1),
        **memory,
        "process_maxrss_mb": round(cpu1.ru_maxrss / 1024, 1),
        "process_cpu_seconds": round(
            cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1
        ),  # both cores count: on a busy machine, compare it with "seconds"
    }
    if backend_pid is not None:
        hwm = _proc_status_kb(backend_pid, "VmHWM")
        result["server_backend_peak_rss_mb"] = None if hwm is None else round(hwm / 1024, 1)
        if server0 is not None and server1 is not None:
            result["server_backend_cpu_seconds"] = round(server1 - server0, 1)
    if not spec.get("keep"):
        shutil.rmtree(out, ignore_errors=True)
    if spec.get("cohort", True):
        result_cohort = _cohort_analyses(patients, program, spec.get("days", 365))
    connection.close()
    return {**result, **({"cohort_analyses": result_cohort} if spec.get("cohort", True) else {})}


COHORT_SECTIONS = (
    "select",
    "_description",
    "_trajectories",
    "_responders",
    "_exposure_outcome",
    "_time_to_event",
    "_ae_incidence",
)
"""The functions of ``research.cohort.analyse`` timed one by one (selection, then each section of the report)."""


@contextmanager
def _section_timer(module: Any, names: tuple[str, ...]) -> Iterator[dict[str, float]]:
    """Wrap each named function of ``module`` to add up its seconds (``analyse`` looks them up at call time)."""
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    originals = {name: getattr(module, name) for name in names}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - t0

        return wrapper

    for name, fn in originals.items():
        setattr(module, name, timed(name, fn))
    try:
        yield seconds
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)


def _cohort_analyses(patients: Any, program: Any, days: int) -> dict[str, Any]:
    """The cohort analyses on a registry-sized analysis snapshot: the research export as ``research.snapshot``
    writes it (Parquet, study days, project ``analysis-snapshot``), its assessments, adverse events and taper steps
    replaced by synthetic ones (``generate.analysis_frames``: the benchmark registry records doses only), read
    with ``AnalysisData.read`` and analysed by ``research.cohort.analyse``, each section timed."""
    import shutil

    from benchmarks import generate
    from kratomwatch.audit.log import Actor
    from kratomwatch.research import cohort, snapshot
    from kratomwatch.research import export as research_export

    folder = _home() / "var" / "bench" / "analysis-snapshot"
    shutil.rmtree(folder, ignore_errors=True)
    request = research_export.ExportRequest(
        out=folder, project=snapshot.PROJECT, now=dt.datetime.now(dt.UTC), formats=("parquet",), dates="study-days"
    )
    result: dict[str, Any] = {}
    try:
        _, result["snapshot_seconds"] = _timed(
            lambda: research_export.export(
                patients,
                request,
                actor=Actor.system("benchmark"),
                secret="benchmark-research-secret-0123456789",
                program=program,
            )
        )
        ids = pl_read_ids(folder)
        for name, frame in generate.analysis_frames(ids, days).items():
            frame.write_parquet(folder / f"{name}.parquet")
        data, result["load_seconds"] = _timed(lambda: cohort.AnalysisData.read(folder, {"program": "bench"}))
        result["participants"] = data.participants.height
        result["rows"] = {
            "daily_exposure": data.daily_exposure.height,
            "assessments": data.assessments.height,
            "adverse_events": data.adverse_events.height,
            "taper_steps": data.taper_steps.height,
        }
        runs: dict[str, dict[str, Any]] = {}
        definitions = {
            "everyone (first analysis of the loaded snapshot)": {},
            "everyone again": {},
            "women": {"sexes": ["female"]},
            "PEG baseline 5 or more": {"baseline_instrument": "peg", "baseline_min": 5},
        }
        for label, filters in definitions.items():
            definition = cohort.check_definition(filters)
            with _section_timer(cohort, COHORT_SECTIONS) as sections:
                report, seconds = _timed(lambda d=definition: cohort.analyse(data, d, k=5))
            payload = report.to_dict()
            runs[label] = {
                "n": payload["cohort"]["n"],
                "exposure_outcome": payload["exposure_outcome"]["status"],
                "exposure_outcome_reason": payload["exposure_outcome"]["reason"],
                "seconds": round(seconds, 3),
                "sections": {name.lstrip("_"): round(s, 3) for name, s in sections.items()},
            }
        result["analyses"] = runs
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for key in ("snapshot_seconds", "load_seconds"):
        result[key] = round(result.get(key, 0.0), 3)
    return result


def pl_read_ids(folder: Path) -> list[str]:
    import polars as pl

    return list(pl.read_parquet(folder / "participants.parquet", columns=["study_id"])["study_id"].to_list())


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("mode") == "sweep_at_scale":
        return _child_sweep_at_scale(spec)
    if spec.get("mode") == "research_export":
        return _child_research_export(spec)
    vendor = spec["vendor"]
    _setup_django(spec)
    from django.core.management import call_command
    from django.db import connection

    from benchmarks import generate
    from kratomwatch.audit.log import Actor
    from kratomwatch.records import bulk
    from kratomwatch.records.models import DailyExposure, Dose

    actor = Actor.system("benchmark")
    result: dict[str, Any] = {"vendor": connection.vendor}
    assert connection.vendor == vendor, (connection.vendor, vendor)
    _, result["migrate_seconds"] = _timed(lambda: call_command("migrate", verbosity=0))
    with connection.cursor() as cur:
        cur.execute("SHOW server_version" if vendor == "postgresql" else "SELECT sqlite_version()")
        result["server_version"] = cur.fetchone()[0]

    low, high = parse_doses_per_day(spec["doses_per_day"])
    registry, gen_seconds = _timed(
        lambda: generate.make_registry(
            actor=actor,
            patients=spec["patients"],
            days=spec["days"],
            doses_per_day=(low, high),
            seed=spec["seed"],
            research_consent=generate.RESEARCH_CONSENT_SHARE if spec.get("research_export", True) else 0.0,
        )
    )
    n = registry.n_doses
    patient_ids, end = registry.patient_ids, registry.start + dt.timedelta(days=spec["days"] - 1)
    result["registry"] = {
        "patients": spec["patients"],
        "days": spec["days"],
        "doses_per_day": spec["doses_per_day"],
        "dose_rows": n,
        "seed": spec["seed"],
        "first_day": registry.start.isoformat(),
        "generate_seconds": round(gen_seconds, 3),
    }
    columns = registry.columns
    del registry
    gc.collect()

    t0 = time.perf_counter()
    bulk.validate_dose_columns(columns, verify=spec["verify"])
    validate_seconds = time.perf_counter() - t0
    gc.collect()
    t0 = time.perf_counter()
    fast = vendor == "postgresql" and spec.get("fast_initial_load", True)
    loaded = bulk.load_dose_columns(
        actor=actor, columns=columns, refresh=False, verify=spec["verify"], fast_initial_load=fast
    )
    seconds = time.perf_counter() - t0
    assert loaded == n == Dose.objects.count(), (loaded, n)
    del columns
    gc.collect()
    result["bulk_load"] = {
        "rows": loaded,
        "seconds": round(seconds, 3),
        "rows_per_second": round(loaded / seconds),
        "verify": spec["verify"],
        "validate_only_seconds": round(validate_seconds, 3),
        "method": "COPY FROM STDIN (csv via polars)" if vendor == "postgresql" else "executemany (raw sqlite3)",
        "fast_initial_load": fast,
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    # What autovacuum would do shortly after a big load; without statistics the planner guesses.
    with connection.cursor() as cur:
        _, result["analyze_seconds"] = _timed(lambda: cur.execute(f"ANALYZE {Dose._meta.db_table}"))
    cold = _rebuild(vendor)
    warm = _rebuild(vendor)
    expected_days = Dose.objects.values("patient_id", "local_date").distinct().count()
    assert cold["rows"] == warm["rows"] == expected_days == DailyExposure.objects.count()
    result["daily_exposure_rebuild"] = {"empty_table": cold, "replace_all": warm, "daily_rows": expected_days}
    result["daily_exposure_incremental"] = _incremental(vendor)
    if spec.get("sweep", True):
        from benchmarks.sweep import measure_sweeps

        connection.close()
        result["alert_sweep"] = measure_sweeps(patient_ids, end, seed=spec["seed"])
    connection.close()
    return result


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        spec = {**spec, "result_path": f.name}
    try:
        cmd = [sys.executable, "-m", "benchmarks.run", "--child", json.dumps(spec)]
        subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parent.parent)
        return dict(json.loads(Path(spec["result_path"]).read_text()))
    finally:
        Path(spec["result_path"]).unlink(missing_ok=True)


@contextmanager
def _sqlite_database(keep: bool, name: str = "bench.sqlite3") -> Iterator[str]:
    directory = _home() / "var" / "bench"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    for p in files:
        p.unlink(missing_ok=True)
    try:
        yield f"sqlite:///{path}"
    finally:
        if not keep:
            for p in files:
                p.unlink(missing_ok=True)


@contextmanager
def _postgres_schema(url: str, keep: bool) -> Iterator[str]:
    import psycopg

    schema = f"kw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


# --- parent ----------------------------------------------------------------------------------


def _judge(vendor: str, result: dict[str, Any]) -> None:
    load = result["bulk_load"]
    targets: dict[str, Any] = TARGETS
    load["target_rows_per_second"] = targets["bulk_load_rows_per_second"][vendor]
    load["pass"] = load["rows_per_second"] >= load["target_rows_per_second"]
    rebuild = result["daily_exposure_rebuild"]
    size = targets["daily_exposure_target_size"]
    worst = max(rebuild["empty_table"]["seconds"], rebuild["replace_all"]["seconds"])
    rebuild["target_seconds"] = targets["daily_exposure_rebuild_seconds"]
    registry = result["registry"]
    rebuild["at_target_size"] = registry["patients"] >= size["patients"] and registry["days"] >= size["days"]
    rebuild["judged_seconds"] = worst
    rebuild["pass"] = worst <= rebuild["target_seconds"]
    research = result.get("research_export")
    if research is not None:
        size = targets["research_export_target_size"]
        research["at_target_size"] = registry["patients"] >= size["patients"] and registry["days"] >= size["days"]
        research["target_seconds"] = targets["research_export_seconds"]
        research["target_peak_rss_mb"] = targets["research_export_peak_rss_mb"]
        research["pass_seconds"] = research["seconds"] <= research["target_seconds"]
        research["pass_memory"] = research["process_rss_peak_mb"] <= research["target_peak_rss_mb"]
        research["pass"] = research["pass_seconds"] and research["pass_memory"]
        analyses = research.get("cohort_analyses", {}).get("analyses", {})
        for analysis in analyses.values():
            analysis["pass"] = analysis["seconds"] <= targets["cohort_analysis_seconds"]
    sweep = result.get("alert_sweep")
    if sweep is not None:
        sweep["at_target_size"] = rebuild["at_target_size"]
        sweep["pass"] = sweep["judged_seconds"] <= targets["alert_sweep_seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/bench.json"))
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--doses-per-day", default="1-4", help="uniform range, e.g. 1-4 (default) or 1")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK['patients']} x {QUICK['days']}")
    parser.add_argument("--database", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--no-verify", action="store_true", help="skip recomputing local day and mg during the load")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file / PostgreSQL schema")
    parser.add_argument(
        "--no-fast-initial-load",
        action="store_true",
        help="PostgreSQL: load through the normal path (per-row FK checks, live indexes)",
    )
    parser.add_argument("--no-sweep", action="store_true", help="skip the alert sweep benchmarks")
    parser.add_argument(
        "--no-research-export", action="store_true", help="skip the research export (CSV and Parquet) benchmark"
    )
    parser.add_argument(
        "--scale-patients",
        type=int,
        default=100_000,
        help="patients of the separate sweep-at-scale registry (default 100000; 0 or --quick skips it)",
    )
    parser.add_argument("--scale-days", type=int, default=60, help="days of that registry (default 60)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        spec = json.loads(args.child)
        Path(spec["result_path"]).write_text(json.dumps(_child(spec)))
        return 0

    try:
        parse_doses_per_day(args.doses_per_day)
    except ValueError as err:
        parser.error(str(err))
    if args.scale_patients < 0 or args.scale_days < 1:
        parser.error(
            f"--scale-patients must be 0 (skip) or more and --scale-days at least 1, "
            f"got {args.scale_patients} and {args.scale_days}"
        )
    patients, days = (QUICK["patients"], QUICK["days"]) if args.quick else (args.patients, args.days)
    spec = {
        "patients": patients,
        "days": days,
        "doses_per_day": args.doses_per_day,
        "seed": args.seed,
        "verify": not args.no_verify,
        "fast_initial_load": not args.no_fast_initial_load,
        "sweep": not args.no_sweep,
        "research_export": not args.no_research_export,
    }
    pg_url = _postgres_url()
    if args.database == "postgresql" and pg_url is None:
        parser.error("--database postgresql needs KRATOMWATCH_BENCH_POSTGRES_URL or a postgres:// DATABASE_URL")
    results: dict[str, Any] = {}
    export_spec = {"mode": "research_export", "keep": args.keep, "days": days}
    if args.database in ("all", "sqlite"):
        with _sqlite_database(args.keep) as url:
            results["sqlite"] = _run_child({**spec, "vendor": "sqlite", "url": url})
            if spec["research_export"]:  # the same registry, in a process of its own
                results["sqlite"]["research_export"] = _run_child({**export_spec, "vendor": "sqlite", "url": url})
    if args.database in ("all", "postgresql") and pg_url is not None:
        with _postgres_schema(pg_url, args.keep) as schema:
            place = {"vendor": "postgresql", "url": pg_url, "schema": schema}
            results["postgresql"] = _run_child({**spec, **place})
            if spec["research_export"]:
                results["postgresql"]["research_export"] = _run_child({**export_spec, **place})
    scale = 0 if args.quick or args.no_sweep else args.scale_patients
    if scale > 0:
        at_scale = {**spec, "mode": "sweep_at_scale", "patients": scale, "days": args.scale_days}
        for vendor in list(results):
            database = (
                _sqlite_database(args.keep, "bench-sweep-at-scale.sqlite3")
                if vendor == "sqlite"
                else _postgres_schema(pg_url or "", args.keep)
            )
            with database as where:
                place = {"url": where} if vendor == "sqlite" else {"url": pg_url, "schema": where}
                results[vendor]["alert_sweep_at_scale"] = _run_child({**at_scale, "vendor": vendor, **place})
    for vendor, result in results.items():
        _judge(vendor, result)
    report = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "parameters": {**spec, "quick": args.quick, "doses_per_day_note": DOSES_PER_DAY_NOTE},
        "targets": TARGETS,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for vendor, r in results.items():
        load, rebuild = r["bulk_load"], r["daily_exposure_rebuild"]
        print(
            f"{vendor}: loaded {load['rows']} doses in {load['seconds']} s = {load['rows_per_second']} rows/s "
            f"({'pass' if load['pass'] else 'FAIL'} >= {load['target_rows_per_second']}); daily exposure "
            f"{rebuild['daily_rows']} rows rebuilt in {rebuild['empty_table']['seconds']} s (empty) / "
            f"{rebuild['replace_all']['seconds']} s (replace) ({'pass' if rebuild['pass'] else 'FAIL'} "
            f"<= {rebuild['target_seconds']} s); incremental (newest day of every patient) "
            f"{r['daily_exposure_incremental']['seconds']} s"
        )
        if "alert_sweep" in r:
            sw = r["alert_sweep"]
            print(
                f"{vendor}: alert sweep first {sw['first_sweep']['seconds']} s ({sw['first_sweep']['created']} "
                f"alerts), same day again {sw['second_sweep']['seconds']} s, next day "
                f"{sw['next_day_sweep']['seconds']} s ({'pass' if sw['pass'] else 'FAIL'} <= {sw['target_seconds']} s)"
            )
        if "research_export" in r:
            ex = r["research_export"]
            print(
                f"{vendor}: research export (csv+parquet) of {ex['rows']['doses']} doses, "
                f"{ex['rows']['participants']} participants in {ex['seconds']} s, peak RSS "
                f"{ex['process_rss_peak_mb']} MB, {ex['files_total_mb']} MB written "
                f"({'pass' if ex['pass'] else 'FAIL'} <= {ex['target_seconds']} s and <= {ex['target_peak_rss_mb']} MB)"
            )
        for label, analysis in r.get("research_export", {}).get("cohort_analyses", {}).get("analyses", {}).items():
            print(
                f"{vendor}: cohort analysis, {label} (n = {analysis['n']}): {analysis['seconds']} s "
                f"({'pass' if analysis['pass'] else 'FAIL'} <= {TARGETS['cohort_analysis_seconds']} s)"
            )
        if "alert_sweep_at_scale" in r:
            sc = r["alert_sweep_at_scale"]
            print(
                f"{vendor}: alert sweep at {sc['patients']} patients x {sc['days']} days: first "
                f"{sc['first_sweep']['seconds']} s, same day {sc['second_sweep']['seconds']} s, next day "
                f"{sc['next_day_sweep']['seconds']} s (reported, no target)"
            )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
