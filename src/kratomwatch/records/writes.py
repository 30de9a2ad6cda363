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

_touched: ContextVar[set[int] | None] = ContextVar("kratomwatch_touched_patients", default=None)
_after: ContextVar[list[Callable[[], object]] | None] = ContextVar("kratomwatch_after_evaluation", default=None)
_depth: ContextVar[int] = ContextVar("kratomwatch_write_depth", default=0)

ALERT_INPUT_WRITES: dict[str, Callable[..., Any]] = {}
"""``module.function`` -> the declared action (wrapped)."""


def _patient_kwarg(kwargs: dict[str, Any], result: Any) -> Iterable[Any]:
    patient = kwargs.get("patient")
    return [patient] if patient is not None else []


def _ids(items: Iterable[Any]) -> set[int]:
    return {int(getattr(item, "pk", item)) for item in items if item is not None}


def touch(patients: Iterable[Any]) -> None:
    """Mark patients (models or ids) whose alert inputs the running write changed."""
    pending = _touched.get()
    if pending is None:
        raise RuntimeError("touch() outside an alert-input write")
    pending.update(_ids(patients))


def reevaluate(patient_ids: Iterable[int]) -> None:
    """Re-evaluate the alerts of these patients now (set-based, in the caller's transaction)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return
    # The one named exception to the layering (pyproject.toml, [tool.importlinter]): records sits below alerts,
    # and this hook is how a write reaches the rules.
    from kratomwatch.alerts.actions import evaluate_patients  # noqa: PLC0415 - the named layering exception

    evaluate_patients(ids)


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
    token = _touched.set(set())
    after_token = _after.set([])
    try:
        with transaction.atomic():
            yield
            reevaluate(_touched.get() or ())
            for step in _after.get() or ():
                step()
    finally:
        _after.reset(after_token)
        _touched.reset(token)


def alert_input_write(affects: Affects = _patient_kwarg) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a write action whose changes are inputs of alert rules (see the module docstring)."""

    def decorate(action: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(action)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            depth = _depth.set(_depth.get() + 1)
            try:
                with batch():
                    result = action(*args, **kwargs)
                    touch(affects(dict(kwargs), result))
            finally:
                _depth.reset(depth)
            return result

        ALERT_INPUT_WRITES[f"{action.__module__}.{action.__name__}"] = run
        return run

    return decorate
