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
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl

__all__ = ["dataset_dir", "dataset_name", "home", "swap_in", "write"]


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


def swap_in(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """Build the folder ``root/name`` with ``build(folder)`` in a temporary folder, then swap it in: a reader sees
    the old folder or the new one, never a mixture; if ``build`` fails, nothing changes. Returns the folder."""
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        build(partial)
        target = root / name
        if target.exists():
            old = root / f".{name}.old-{os.getpid()}"
            target.replace(old)
            partial.replace(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.replace(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return root / name
