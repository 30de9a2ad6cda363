"""Registry sweep entry point (for schedulers and the CLI): ``run_sweep(as_of=...)``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from kratomwatch.alerts.actions import SweepResult, sweep
from kratomwatch.audit.log import Actor


def run_sweep(
    *,
    actor: Actor | None = None,
    as_of: dt.date | None = None,
    batch_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Sweep the whole registry as the system actor ``alert-sweep`` unless another actor is given."""
    return sweep(actor=actor or Actor.system("alert-sweep"), as_of=as_of, batch_size=batch_size, progress=progress)
