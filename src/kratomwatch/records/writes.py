"""The one alert hook: every write that changes an input of an alert rule re-evaluates the patients it touched.

Alert rules read a patient snapshot (``alerts/snapshots.py``): the patient's own fields (pregnancy,
breastfeeding, history, jurisdiction, time zone, conditions), the lots of their doses (certificate, recall),
doses, medications, labs, adverse events, assessments and schedules; consent is declared too, so a rule that
reads it works from the first write. Each action that writes one of these is declared with
:func:`alert_input_write`:

    @alert_input_write()                       # the patient is the action's ``patient`` keyword
    def record_lab(*, actor, patient, ...): ...

    @alert_input_write(affects=lambda kwargs, result: [result])   # the patient is what the action returns
    def create_patient(*, actor, ...): ...

A write that changes only some of the data families a snapshot reads names its kind, and :data:`WRITE_CHANGES`
lists the families each kind changes; the hook then evaluates only the rules that read them
(``alerts.snapshots.rules_reading``; a dose: the 7 dose rules of 17), and leaves the other rules' alerts as they
are. A write without a kind, or a batch that mixes kinds for one patient, evaluates the union (at most all):

    @alert_input_write(kind="dose")
    def record_dose(*, actor, patient, dose): ...

An action that can only tell inside its body which patients it touched (a lot correction reaches every
patient who took that lot) calls :func:`touch`. The decorator runs the action in a transaction and, when the
outermost write returns, calls :func:`reevaluate` once for every touched patient, inside the same transaction:
the write and its alerts commit together, and nested writes (or a batch wrapped in :func:`batch`) evaluate
once, set-based, at the end. Nothing else calls the alert evaluation on write.

:data:`ALERT_INPUT_WRITES` lists every declared action, so ``tests/alerts/test_write_hook.py`` can walk them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")
Affects = Callable[[dict[str, Any], Any], Iterable[Any]]

_touched: ContextVar[dict[int, frozenset[str] | None] | None] = ContextVar("kratomwatch_touched_patients", default=None)
_after: ContextVar[list[Callable[[], object]] | None] = ContextVar("kratomwatch_after_evaluation", default=None)
_depth: ContextVar[int] = ContextVar("kratomwatch_write_depth", default=0)

ALERT_INPUT_WRITES: dict[str, Callable[..., Any]] = {}
"""``module.function`` -> the declared action (wrapped)."""

WRITE_CHANGES: dict[str, frozenset[str]] = {
    # A new dose (or an idempotent repeat): the dose rows and the patient's daily exposure row of that day.
    "dose": frozenset({"doses", "daily"}),
}
"""Write kind -> the data families (``alerts.snapshots.FAMILIES``) such a write can change. A kind changes nothing
else a rule reads: ``tests/alerts/test_incremental.py`` proves that after such writes the restricted evaluation
leaves the alerts exactly as a full evaluation does."""

WRITE_KINDS: dict[str, str] = {}
"""``module.function`` -> its declared kind, for the declared actions that have one."""


def _patient_kwarg(kwargs: dict[str, Any], result: Any) -> Iterable[Any]:
    patient = kwargs.get("patient")
    return [patient] if patient is not None else []


def _ids(items: Iterable[Any]) -> set[int]:
    return {int(getattr(item, "pk", item)) for item in items if item is not None}


def touch(patients: Iterable[Any], kind: str | None = None) -> None:
    """Mark patients (models or ids) whose alert inputs the running write changed: the families of ``kind``
    (:data:`WRITE_CHANGES`), or, without a kind, any input (every rule is evaluated)."""
    pending = _touched.get()
    if pending is None:
        raise RuntimeError("touch() outside an alert-input write")
    changes = None if kind is None else WRITE_CHANGES[kind]
    for pid in _ids(patients):
        if pid not in pending:
            pending[pid] = changes
        else:
            before = pending[pid]
            pending[pid] = None if before is None or changes is None else before | changes


def reevaluate(patient_ids: Iterable[int] | dict[int, frozenset[str] | None]) -> None:
    """Re-evaluate the alerts of these patients now (set-based, in the caller's transaction). Given a mapping
    (patient id -> changed families, None for any), each group of patients with the same changes is evaluated once,
    on the rules that read what changed."""
    touched = patient_ids if isinstance(patient_ids, dict) else dict.fromkeys(patient_ids)
    if not touched:
        return
    # The one named exception to the layering (pyproject.toml, [tool.importlinter]): records sits below alerts,
    # and this hook is how a write reaches the rules.
    from kratomwatch.alerts.actions import evaluate_patients  # noqa: PLC0415 - the named layering exception

    groups: dict[frozenset[str] | None, list[int]] = {}
    for pid, changes in touched.items():
        groups.setdefault(changes, []).append(pid)
    for changes, ids in sorted(groups.items(), key=lambda item: sorted(item[0]) if item[0] is not None else []):
        evaluate_patients(sorted(ids), changed=changes)


def after_evaluation(step: Callable[[], object]) -> None:
    """Run ``step`` right after the outermost write's alert re-evaluation, still in its transaction.

    For the write's audit append: on PostgreSQL the audit chain's lock is then held from the append to the
    commit only, not during the evaluation, so writes for different patients evaluate in parallel. Outside a
    write, or in a write nested in another one (whose own events must follow it), the step runs at once.
    """
    pending = _after.get()
    if pending is None or _depth.get() > 1:
        step()
    else:
        pending.append(step)


@contextmanager
def batch() -> Iterator[None]:
    """Collect the patients touched by every write inside the block and evaluate them once at its end."""
    if _touched.get() is not None:
        yield
        return
    token = _touched.set({})
    after_token = _after.set([])
    try:
        with transaction.atomic():
            yield
            reevaluate(_touched.get() or {})
            for step in _after.get() or ():
                step()
    finally:
        _after.reset(after_token)
        _touched.reset(token)


def alert_input_write(
    affects: Affects = _patient_kwarg, *, kind: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a write action whose changes are inputs of alert rules (see the module docstring); ``kind`` (a key
    of :data:`WRITE_CHANGES`) when it changes only some data families."""
    if kind is not None and kind not in WRITE_CHANGES:
        raise ValueError(f"unknown write kind {kind!r}; declare its families in WRITE_CHANGES")

    def decorate(action: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(action)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            depth = _depth.set(_depth.get() + 1)
            try:
                with batch():
                    result = action(*args, **kwargs)
                    touch(affects(dict(kwargs), result), kind)
            finally:
                _depth.reset(depth)
            return result

        name = f"{action.__module__}.{action.__name__}"
        ALERT_INPUT_WRITES[name] = run
        if kind is not None:
            WRITE_KINDS[name] = kind
        return run

    return decorate
