"""The analytical store: Parquet files under ``KRATOMWATCH_HOME/surveillance/<dataset>/`` (``counts.parquet``: one
row per pair with its margins; ``signals.parquet``: the statistics). A dataset is named after its source file and
the SHA-256 of its bytes, so ingesting the same file again replaces the same files with the same content
(idempotent) and a changed file is a new dataset. Files are written to a temporary name and renamed, so a reader
never sees half a file. Not the clinical database: nothing here holds patient data.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import polars as pl

__all__ = ["dataset_dir", "dataset_name", "home", "write"]


def home() -> Path:
    """``KRATOMWATCH_HOME/surveillance`` (``KRATOMWATCH_HOME`` defaults to the working directory, as in settings)."""
    return Path(os.environ.get("KRATOMWATCH_HOME", Path.cwd())).resolve() / "surveillance"


def dataset_name(path: Path, content: bytes) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "dataset"
    return f"{stem[:60]}-{hashlib.sha256(content).hexdigest()[:12]}"


def dataset_dir(name: str) -> Path:
    return home() / name


def write(name: str, table: str, frame: pl.DataFrame) -> Path:
    """Write ``frame`` as ``<dataset>/<table>.parquet`` atomically; returns the path."""
    folder = dataset_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{table}.parquet"
    partial = folder / f".{table}.parquet.partial"
    frame.write_parquet(partial)
    partial.replace(target)
    return target
