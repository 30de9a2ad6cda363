"""Alert sweep benchmark: a synthetic registry of N patients x D days, then ``alerts.actions.sweep()`` twice.

    python -m benchmarks.sweep --out var/bench-sweep.json [--patients 10000 --days 365] [--batch-size 2000]

The registry is built with ``benchmarks.generate.make_registry`` (catalogue through ``records.actions``,
patients through ``records.bulk.load_patients``, doses through ``records.bulk.load_dose_columns``), plus, per
patient with ``bulk_create`` (the ``_clinical_extras`` helper below; synthetic benchmark data only): a PHQ-9
for every patient (item 9 > 0 for 1 in 50), ALT/AST/bilirubin for 1 in 5 (Hy's law for 1 in 100), a QTc for
1 in 10, one or two medications for 1 in 3 and a PHQ-9 schedule for 1 in 4.

Runs on the configured database: SQLite by default (a fresh file under ``$KRATOMWATCH_HOME/var/bench``), or
PostgreSQL when ``DATABASE_URL`` is set (the database should be empty; tables are created by migrate).
Reports the seconds and peak memory (process RSS sampled every 5 ms) of the first sweep, the second
(idempotent) one and a next-day one (see ``measure_sweeps``). ``make bench`` runs the same sweeps inside
``benchmarks.run`` on its 10k x 365 registry; this module is for other sizes (the 100k-patient figure).
Synthetic data only; nothing here is guidance of any kind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 10.0
TARGET_SIZE = {"patients": 10_000, "days": 365}
MEDICATIONS = ["sertraline", "alprazolam", "oxycodone", "gabapentin", "buprenorphine", "atorvastatin"]


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _measure(fn: Any) -> tuple[Any, dict[str, float]]:
    gc.collect()
    start = _rss()
    peak = [start]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        value = fn()
    finally:
        seconds = time.perf_counter() - t0
        done.set()
        thread.join()
    # No tracemalloc here: it slows this Python-heavy work two- to threefold. RSS is sampled instead.
    return value, {
        "seconds": round(seconds, 3),
        "process_rss_peak_delta_mb": round((max(peak[0], _rss()) - start) / 2**20, 1),
    }


def _clinical_extras(patient_ids: Any, end: dt.date, seed: int) -> dict[str, int]:
    """Assessments, labs, medications and schedules for the registry, bulk-created (benchmark data only)."""
    import numpy as np

    from kratomwatch.assessments.models import Assessment, Schedule
    from kratomwatch.records.models import LabResult, Medication

    rng = np.random.default_rng(seed + 1)
    when = dt.datetime.combine(end, dt.time(12), dt.UTC)
    ids = [int(i) for i in patient_ids]
    assessments, labs, meds, schedules = [], [], [], []
    for n, pid in enumerate(ids):
        item9 = 1 if n % 50 == 0 else 0
        answers = [int(v) for v in rng.integers(0, 3, 8)] + [item9]
        assessments.append(
            Assessment(
                patient_id=pid,
                instrument_id="phq9",
                instrument_version="1",
                answers=answers,
                missing_policy="none",
                scores={"total": float(sum(answers))},
                total=float(sum(answers)),
                flags=["suicidality"] if item9 else [],
                valid=True,
                administered_at=when - dt.timedelta(days=int(rng.integers(1, 40))),
                source="self_report",
            )
        )
        if n % 5 == 0:
            factor = 7.0 if n % 100 == 0 else float(rng.uniform(0.4, 1.2))
            taken = when - dt.timedelta(days=int(rng.integers(1, 60)))
            labs += [
                LabResult(
                    patient_id=pid, test="alt", value=40 * factor, unit="U/L", upper_limit_normal=40, taken_at=taken
                ),
                LabResult(
                    patient_id=pid, test="ast", value=30 * factor, unit="U/L", upper_limit_normal=35, taken_at=taken
                ),
                LabResult(
                    patient_id=pid,
                    test="total_bilirubin",
                    value=1.2 * (2.5 if n % 100 == 0 else 0.6),
                    unit="mg/dL",
                    upper_limit_normal=1.2,
                    taken_at=taken,
                ),
            ]
        if n % 10 == 3:
            labs.append(
                LabResult(
                    patient_id=pid,
                    test="qtc",
                    value=float(rng.uniform(400, 520)),
                    unit="ms",
                    upper_limit_normal=None,
                    taken_at=when - dt.timedelta(days=5),
                )
            )
        if n % 3 == 0:
            meds.extend(
                Medication(patient_id=pid, name=MEDICATIONS[(n + j) % len(MEDICATIONS)]) for j in range(1 + n % 2)
            )
        if n % 4 == 0:
            schedules.append(
                Schedule(patient_id=pid, instrument_id="phq9", every_days=14, start=end - dt.timedelta(days=90))
            )
    Assessment.objects.bulk_create(assessments, batch_size=2000)
    LabResult.objects.bulk_create(labs, batch_size=2000)
    Medication.objects.bulk_create(meds, batch_size=2000)
    Schedule.objects.bulk_create(schedules, batch_size=2000)
    return {"assessments": len(assessments), "labs": len(labs), "medications": len(meds), "schedules": len(schedules)}


def measure_sweeps(patient_ids: Any, end: dt.date, *, seed: int, batch_size: int = 2000) -> dict[str, Any]:
    """Add the clinical extras to a registry whose doses end on ``end``, then time three sweeps.

    1. ``first``: every alert is new (the worst case: tens of thousands of inserts);
    2. ``second``: the same date again (idempotent: nothing written);
    3. ``next_day``: the date one day later, the daily case: every open alert is seen again, so only its
       ``last_seen_at`` and ``evaluated_as_of`` move.
    """
    from kratomwatch.alerts.actions import sweep
    from kratomwatch.alerts.models import Alert
    from kratomwatch.audit.log import Actor

    actor = Actor.system("bench-sweep")
    extras = _clinical_extras(patient_ids, end, seed)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    first, first_m = _measure(lambda: sweep(actor=actor, as_of=end, batch_size=batch_size))
    second, second_m = _measure(lambda: sweep(actor=actor, as_of=end, batch_size=batch_size))
    next_day, next_m = _measure(
        lambda: sweep(actor=actor, as_of=end + dt.timedelta(days=1), batch_size=batch_size, now=later)
    )
    by_rule: dict[str, int] = {}
    for rule_id in Alert.objects.values_list("rule_id", flat=True):
        by_rule[rule_id] = by_rule.get(rule_id, 0) + 1
    worst = max(first_m["seconds"], second_m["seconds"], next_m["seconds"])
    return {
        "extras": extras,
        "batch_size": batch_size,
        "as_of": end.isoformat(),
        "first_sweep": {**first_m, **first.as_dict()},
        "second_sweep": {**second_m, **second.as_dict()},
        "next_day_sweep": {**next_m, **next_day.as_dict()},
        "idempotent": second.created == 0 and second.updated == 0 and second.cleared == 0,
        "alerts_by_rule": dict(sorted(by_rule.items())),
        "judged_seconds": worst,
        "target_seconds": TARGET_SECONDS,
    }


def run_sweep_benchmark(
    patients: int,
    days: int,
    *,
    batch_size: int = 2000,
    seed: int = 20261121,
    doses_per_day: tuple[int, int] = (1, 4),
) -> dict[str, Any]:
    """Build the registry in the configured (empty, migrated) database, then time the sweeps."""
    from django.db import connection

    from benchmarks.generate import make_registry
    from kratomwatch.audit.log import Actor
    from kratomwatch.records import bulk

    actor = Actor.system("bench-sweep")
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    t0 = time.perf_counter()
    registry = make_registry(
        actor=actor, patients=patients, days=days, doses_per_day=doses_per_day, seed=seed, end=end, slug="sweep"
    )
    rows = bulk.load_dose_columns(actor=actor, columns=registry.columns)
    build_seconds = time.perf_counter() - t0
    sweeps = measure_sweeps(registry.patient_ids, end, seed=seed, batch_size=batch_size)
    at_size = patients >= TARGET_SIZE["patients"] and days >= TARGET_SIZE["days"]
    return {
        "database": connection.vendor,
        "patients": patients,
        "days": days,
        "doses_per_day": list(doses_per_day),
        "doses": rows,
        "build_seconds": round(build_seconds, 1),
        **sweeps,
        "at_target_size": at_size,
        "pass": at_size and sweeps["judged_seconds"] <= TARGET_SECONDS,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=TARGET_SIZE["patients"])
    parser.add_argument("--days", type=int, default=TARGET_SIZE["days"])
    parser.add_argument("--doses-per-day", default="1-4", help="uniform range, e.g. 1-4 (default) or 1")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("var/bench-sweep.json"))
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args(argv)
    from benchmarks.run import parse_doses_per_day

    try:
        doses_per_day = parse_doses_per_day(args.doses_per_day)
    except ValueError as err:
        parser.error(f"--doses-per-day: {err}")
    for name in ("patients", "days", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    home = Path(os.environ.get("KRATOMWATCH_HOME", Path.cwd())).resolve()
    db = None
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        db = home / "var" / "bench" / f"sweep-{os.getpid()}.sqlite3"
        db.parent.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")
    import django
    from django.core.management import call_command

    django.setup()
    try:
        call_command("migrate", verbosity=0)
        result = run_sweep_benchmark(args.patients, args.days, batch_size=args.batch_size, doses_per_day=doses_per_day)
    finally:
        if db is not None and not args.keep:
            for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                path.unlink(missing_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
