"""Writes of the research workspace: saved cohorts (create, rename or change the definition, delete). Each checks
its input (the definition through ``research.cohort.check_definition``, so a bad filter is an ``InputError``
naming it), writes, and appends an audit event in the same transaction. The audit detail names the filter keys
used, never a participant or a value typed by a person."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.research.cohort import CohortDefinition, check_definition
from kratomwatch.research.models import Cohort

NAME_MAX = 200


def _checked_name(name: Any) -> str:
    text = str(name if name is not None else "").strip()
    if not text:
        raise InputError("name", name, "give the cohort a name")
    if len(text) > NAME_MAX:
        raise InputError("name", text[:40] + "...", f"a cohort name is at most {NAME_MAX} characters")
    if any(ord(ch) < 32 for ch in text):
        raise InputError("name", text, "a cohort name is one line of text")
    return text


def _unique(program: Program, name: str, *, exclude: int | None = None) -> None:
    taken = Cohort.objects.filter(program=program, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise Conflict("name", name, f"this program already has a cohort named {name!r}")


def _audit(actor: Actor, action: str, cohort: Cohort, extra: dict[str, Any] | None = None) -> None:
    record(
        actor,
        action,
        object_type="cohort",
        object_id=cohort.pk,
        program_id=cohort.program_id,
        detail={"filters": sorted(cohort.definition), **(extra or {})},
    )


@transaction.atomic
def create_cohort(*, actor: Actor, program: Program, name: Any, definition: Any) -> Cohort:
    """Save a named cohort definition for ``program`` (``Conflict`` if the name is taken there)."""
    text = _checked_name(name)
    filters = check_definition(definition).filters()
    _unique(program, text)
    cohort = Cohort.objects.create(
        program=program,
        name=text,
        definition=filters,
        created_by=actor.user if actor.user is not None and actor.user.pk else None,
    )
    _audit(actor, "research.cohort.create", cohort)
    return cohort


@transaction.atomic
def update_cohort(*, actor: Actor, cohort: Cohort, name: Any = None, definition: Any = None) -> Cohort:
    """Rename ``cohort`` and/or replace its definition (what is ``None`` is kept)."""
    changed: list[str] = []
    if name is not None:
        text = _checked_name(name)
        if text != cohort.name:
            _unique(cohort.program, text, exclude=cohort.pk)
            cohort.name = text
            changed.append("name")
    if definition is not None:
        filters = check_definition(definition).filters()
        if filters != cohort.definition:
            cohort.definition = filters
            changed.append("definition")
    if changed:
        cohort.save(update_fields=[*changed, "updated_at"])
        _audit(actor, "research.cohort.update", cohort, {"changed": changed})
    return cohort


@transaction.atomic
def delete_cohort(*, actor: Actor, cohort: Cohort) -> None:
    """Delete a saved cohort (its definition only; no data is stored with it)."""
    _audit(actor, "research.cohort.delete", cohort)
    cohort.delete()


@transaction.atomic
def record_analysis(
    *, actor: Actor, program: Program, snapshot_id: str, definition: CohortDefinition, cohort_id: int | None = None
) -> None:
    """Audit one cohort analysis shown (who, program, snapshot, which filters; aggregates only, nothing written)."""
    record(
        actor,
        "research.cohort.analyse",
        object_type="cohort" if cohort_id is not None else "program",
        object_id=cohort_id if cohort_id is not None else program.pk,
        program_id=program.pk,
        detail={"snapshot_id": snapshot_id, "filters": sorted(definition.filters())},
    )
