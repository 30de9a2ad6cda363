"""The analytical store under ``KRATOMWATCH_HOME/surveillance/``, beside the clinical database and never in it
(nothing here holds patient data):

- ``sources/<collection>/<format>/<unit>/``: ingested units (``ingest.py``; collection ``public`` for published
  data, ``demo`` for the demo's synthetic sample), Parquet tables and a manifest;
- ``analyses/<name>/``: scans (``scan.py``): ``signals.parquet`` and the views, ``summary.json`` last.

Folders are built under a temporary name and swapped in whole, so a reader never sees half of one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from kratomwatch.core.errors import InputError

__all__ = ["home", "read_bytes", "swap_in"]


def home() -> Path:
    """``KRATOMWATCH_HOME/surveillance`` (``KRATOMWATCH_HOME`` defaults to the working directory, as in settings)."""
    return Path(os.environ.get("KRATOMWATCH_HOME", Path.cwd())).resolve() / "surveillance"


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


def read_bytes(path: Path) -> bytes:
    """The bytes of an input file; a missing, unreadable or empty file is an ``InputError`` naming it."""
    try:
        raw = path.read_bytes()
    except OSError as problem:
        raise InputError("file", str(path), f"cannot read the file: {problem.strerror}") from None
    if not raw.strip():
        raise InputError("file", str(path), "the file is empty")
    return raw
