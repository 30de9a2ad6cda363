"""Analysis snapshots: the de-identified frame every cohort analysis runs on (never identifiable rows).

A snapshot is a research export (``research.export.export``) of one program in study days, as Parquet, for the
export project ``analysis-snapshot`` (study IDs keyed by the program's research secret), written under
``<KRATOMWATCH_HOME>/research/snapshots/<program slug>/<UTC timestamp>/``. Like every export it is complete or
absent (written beside, renamed into place), keeps only participants with active research consent at its
instant (a withdrawal takes effect at the next snapshot) and is k-anonymous. Its identity is its directory name
(``snapshot_id``) and the SHA-256 of its ``manifest.json`` (``checksum``), which every report states. The last
:data:`KEEP` snapshots of a program are kept; older ones are deleted when a new one is complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor
from kratomwatch.core import deid
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.records.models import Patient
from kratomwatch.research import export as research_export
from kratomwatch.research.actions import record_analysis
from kratomwatch.research.cohort import AnalysisData, CohortReport, analyse, check_definition, check_options

PROJECT = "analysis-snapshot"
KEEP = 3
STEPS = research_export.STEPS
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    path: Path
    created_at: str
    """ISO 8601, UTC: when the files were complete."""
    checksum: str
    """SHA-256 of manifest.json (which lists every file's SHA-256)."""
    consent_as_of: str
    """ISO 8601, UTC: the instant research consent was read."""
    k: int
    counts: dict[str, int] = field(default_factory=dict)
    program: str = ""

    def source(self) -> dict[str, Any]:
        """The report's ``data`` block (without the analysis k)."""
        return {
            "program": self.program,
            "snapshot_id": self.snapshot_id,
            "created_at": self.created_at,
            "checksum": self.checksum,
            "consent_as_of": self.consent_as_of,
            "snapshot_k": self.k,
        }


def root(program: Program) -> Path:
    return Path(settings.BASE_DIR) / "research" / "snapshots" / program.slug


def _read(path: Path, program: str) -> Snapshot:
    raw = (path / research_export.MANIFEST).read_bytes()
    manifest = json.loads(raw)
    counts = {str(k): int(v) for k, v in manifest.get("counts", {}).items()}
    counts["included"] = int(manifest["consent"]["included"])
    counts["excluded_without_research_consent"] = int(manifest["consent"]["excluded_without_research_consent"])
    counts["withheld_small_cells"] = int(manifest["consent"]["withheld_small_cells"])
    return Snapshot(
        snapshot_id=path.name,
        path=path,
        created_at=str(manifest["created_at"]),
        checksum=hashlib.sha256(raw).hexdigest(),
        consent_as_of=str(manifest["consent"]["as_of"]),
        k=int(manifest["deidentification"]["k"]),
        counts=counts,
        program=program,
    )


def _complete(folder: Path) -> list[Path]:
    """The complete snapshots in ``folder``, newest first (a partial one is hidden and has no manifest yet)."""
    if not folder.is_dir():
        return []
    done = [
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file()
    ]
    return sorted(done, key=lambda p: p.name, reverse=True)


def build(
    patients: QuerySet[Patient],
    *,
    program: Program,
    actor: Actor,
    k: int = deid.DEFAULT_K,
    now: dt.datetime,
    progress: Progress | None = None,
) -> Snapshot:
    """Write a new snapshot of ``program`` from ``patients`` (those the actor may see in it: the caller asks
    ``kratomwatch.access``), then delete all but the newest :data:`KEEP`. ``InputError`` for k below 2, an instant
    without a time zone, or no research secret (before anything is written)."""
    deid.check_k(k)
    if now.tzinfo is None:
        raise InputError("now", now.isoformat(), "the snapshot instant needs a time zone")
    secret = research_export.project_secret(program)
    folder = root(program)
    folder.mkdir(parents=True, exist_ok=True)
    name = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    out, n = folder / name, 1
    while out.exists():
        n += 1
        out = folder / f"{name}-{n}"
    request = research_export.ExportRequest(
        out=out, project=PROJECT, now=now, formats=("parquet",), dates="study-days", k=k
    )
    research_export.export(patients, request, actor=actor, secret=secret, program=program, progress=progress)
    for old in _complete(folder)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    return _read(out, program.slug)


def latest(program: Program) -> Snapshot | None:
    """The newest complete snapshot of ``program``, or None."""
    for path in _complete(root(program)):
        try:
            return _read(path, program.slug)
        except (OSError, ValueError, KeyError):  # removed meanwhile, or not a snapshot: try the next
            continue
    return None


def latest_or_conflict(program: Program) -> Snapshot:
    """The newest complete snapshot of ``program``; ``Conflict`` (field ``snapshot``) when it has none yet, saying
    how to make one."""
    snap = latest(program)
    if snap is None:
        raise Conflict(
            "snapshot",
            program.slug,
            f"program {program.slug!r} has no analysis snapshot yet: make one (the research page, POST "
            f"/api/v1/research/programs/{program.pk}/snapshots, or `kratomwatch research snapshot --program "
            f"{program.slug}`), then ask again when it is done",
        )
    return snap


def all_for(program: Program) -> list[Snapshot]:
    """The complete snapshots of ``program``, newest first."""
    return [_read(p, program.slug) for p in _complete(root(program))]


@lru_cache(maxsize=2)
def _load(path: str, checksum: str, source: tuple[tuple[str, Any], ...]) -> AnalysisData:
    return AnalysisData.read(Path(path), dict(source))


def load(snapshot: Snapshot) -> AnalysisData:
    """The snapshot's frames for :func:`research.cohort.analyse` (the last two loaded are kept in memory)."""
    return _load(str(snapshot.path), snapshot.checksum, tuple(sorted(snapshot.source().items())))


def report(
    program: Program,
    definition: Any,
    *,
    actor: Actor,
    week: Any = 12,
    instrument: Any = "peg",
    name: str = "Unsaved cohort",
    cohort_id: int | None = None,
) -> CohortReport:
    """The cohort report of ``definition`` on the newest snapshot of ``program`` at the snapshot's k, audited
    (``research.cohort.analyse``). ``InputError`` naming the filter key, ``week`` or ``instrument``; ``Conflict``
    (field ``snapshot``) when the program has no snapshot yet, saying how to make one."""
    checked = check_definition(definition)
    check_options(week=week, instrument=instrument)
    snap = latest_or_conflict(program)
    result = analyse(
        load(snap),
        checked,
        k=snap.k,
        responder_instrument=instrument,
        responder_week=week,
        name=name,
        cohort_id=cohort_id,
    )
    record_analysis(actor=actor, program=program, snapshot_id=snap.snapshot_id, definition=checked, cohort_id=cohort_id)
    return result
