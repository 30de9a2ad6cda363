"""Writing and verifying the audit trail. Called by actions (writes) and access helpers (reads)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from kratomwatch.audit import checkpoints
from kratomwatch.audit.models import AuditCheckpoint, AuditEvent

GENESIS = checkpoints.GENESIS
HASH_VERSION = 2  # the hash covers the actor's user id too (audit/models.py)

log = logging.getLogger("kratomwatch.audit")


lock_chain = checkpoints.lock_chain


# The client address of the web request being served (set by kratomwatch.web.security.RemoteAddrMiddleware),
# so reads audited deep inside kratomwatch.access carry it without every caller passing it along.
_remote_addr: ContextVar[str | None] = ContextVar("kratomwatch_remote_addr", default=None)


def clean_ip(value: str | None) -> str | None:
    """A valid IPv4/IPv6 address, or None (never store a malformed header value)."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def current_remote_addr() -> str | None:
    return _remote_addr.get()


@contextmanager
def remote_addr_context(addr: str | None) -> Iterator[None]:
    """Attribute every Actor.of() inside the block to ``addr``."""
    token = _remote_addr.set(clean_ip(addr))
    try:
        yield
    finally:
        _remote_addr.reset(token)


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where. ``user`` is None for system jobs (sweeps, imports by CLI)."""

    user: Any
    label: str
    remote_addr: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(user=None, label=label)

    @classmethod
    def of(cls, user: Any, remote_addr: str | None = None) -> Actor:
        """The actor for ``user``; the address defaults to the current web request's (if any)."""
        addr = clean_ip(remote_addr) if remote_addr is not None else current_remote_addr()
        return cls(user=user, label=user.get_username(), remote_addr=addr)


def record(
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: object = "",
    program_id: int | None = None,
    patient_code: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction."""
    with transaction.atomic():
        lock_chain()
        last, checkpointed = _chain_head()
        event = AuditEvent(
            at=timezone.now(),
            actor=actor.user if actor.user is not None and actor.user.pk else None,
            actor_label=actor.label,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            program_id=program_id,
            patient_code=patient_code,
            detail=detail or {},
            remote_addr=actor.remote_addr,
            prev_hash=last or GENESIS,
            hash_version=HASH_VERSION,
        )
        event.hash = event.compute_hash()
        event.save()
        if event.id - checkpointed >= checkpoints.every():
            checkpoints.maybe_checkpoint(event)
        return event


def _chain_head() -> tuple[str | None, int]:
    """The last event's hash and the last checkpoint's event id (0 if none), in one statement (chain lock held):
    every write and every audited read appends, so this is on every request's path."""
    quote = connection.ops.quote_name
    events, marks = quote(AuditEvent._meta.db_table), quote(AuditCheckpoint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT hash FROM {events} ORDER BY id DESC LIMIT 1), "
            f"(SELECT last_event_id FROM {marks} ORDER BY id DESC LIMIT 1)"
        )
        row = cursor.fetchone()
    return (row[0], int(row[1] or 0)) if row else (None, 0)


# --- refused reads ------------------------------------------------------------------------------------------

REFUSED_READ = "patient.read_refused"
_pending = threading.local()


def _app_atomic_depth() -> int:
    """Open ``transaction.atomic`` blocks of the application (the test harness's own blocks do not count)."""
    return sum(1 for block in connection.atomic_blocks if not getattr(block, "_from_testcase", False))


def _printable(text: str, limit: int) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in str(text)[:limit])


def record_refused_read(actor: Actor, code: object, *, purpose: str) -> None:
    """Audit a refused patient read (a code that is not the reader's to see, or does not exist: the same event).

    The caller then raises ``NotFound``, which usually ends the request. If that happens inside an application
    transaction, the rollback would take the event with it, so the event is also remembered here and written
    again, outside any transaction, when the request finishes (``flush_refused_reads``, connected to Django's
    ``request_finished``), unless it was committed after all. A failure to write is logged; the reader still
    gets the plain not-found answer.
    """
    requested = _printable(str(code) if code is not None else "", 200)
    kwargs: dict[str, Any] = {
        "object_type": "patient",
        "patient_code": requested[:64],
        "detail": {"requested_code": requested, "purpose": _printable(purpose, 64)},
    }
    if not actor.label:
        actor = Actor(user=actor.user, label="anonymous", remote_addr=actor.remote_addr)
    try:
        event = record(actor, REFUSED_READ, **kwargs)
    except DatabaseError:
        log.exception("refused read of %r could not be audited", requested)
        return
    if _app_atomic_depth() > 0:
        if not hasattr(_pending, "events"):
            _pending.events = []
        _pending.events.append((event.hash, actor, kwargs))


def flush_refused_reads(**_: Any) -> int:
    """Write the refused reads whose transaction was rolled back; returns how many were written again."""
    pending = getattr(_pending, "events", None)
    if not pending or _app_atomic_depth() > 0:
        return 0
    _pending.events = []
    written = 0
    for event_hash, actor, kwargs in pending:
        try:
            if AuditEvent.objects.filter(hash=event_hash).exists():
                continue
            record(actor, REFUSED_READ, **{**kwargs, "detail": {**kwargs["detail"], "after_rollback": True}})
            written += 1
        except DatabaseError:
            log.exception("refused read of %r could not be audited", kwargs["patient_code"])
    return written


@dataclass(frozen=True)
class ChainReport:
    events: int
    ok: bool
    first_bad_id: int | None
    reason: str | None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Recompute every hash in order; report the first broken link (the chain alone: see :func:`verify`)."""
    prev = GENESIS
    count = 0
    version = 1
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch):
        count += 1
        if event.prev_hash != prev:
            return ChainReport(count, False, event.id, "prev_hash does not match the previous event")
        if event.hash_version < version:
            return ChainReport(count, False, event.id, "hash version went back (an event was re-labelled)")
        version = event.hash_version
        if event.compute_hash() != event.hash:
            return ChainReport(count, False, event.id, "content does not match its hash")
        prev = event.hash
    return ChainReport(count, True, None, None)


@dataclass
class Verification:
    events: int = 0
    last_id: int = 0
    checkpoints: int = 0
    anchors: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_id: int | None = None
    """The event the first problem names, when it names one."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str, event_id: int | None = None) -> None:
        if not self.problems:
            self.first_bad_id = event_id
        self.problems.append(problem)


@dataclass
class _Walk:
    count: int = 0
    last_id: int = 0
    problem: str | None = None
    bad_id: int | None = None
    seen: dict[int, tuple[int, str]] = field(default_factory=dict)


def _walk(wanted: set[int], batch: int) -> _Walk:
    """Walk the chain in id order: the first broken link, and (count so far, hash) at each wanted id."""
    w = _Walk()
    prev, version = GENESIS, 1
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch):
        w.count += 1
        w.last_id = event.id
        if w.problem is None:
            w.problem = _link_problem(event, prev, version)
            w.bad_id = event.id if w.problem else None
        version = max(version, event.hash_version)
        prev = event.hash
        if event.id in wanted:
            w.seen[event.id] = (w.count, event.hash)
    return w


def _link_problem(event: AuditEvent, prev: str, version: int) -> str | None:
    if event.prev_hash != prev:
        return (
            f"event {event.id} does not follow the event before it (prev_hash mismatch: "
            "an event before it was deleted or changed)"
        )
    if event.hash_version < version:
        return f"event {event.id}: hash version went back (the event was re-labelled)"
    if event.compute_hash() != event.hash:
        return f"event {event.id}: its content does not match its hash (a field was changed)"
    return None


def _check_signatures(
    anchors: list[checkpoints.Anchor], result: Verification
) -> tuple[list[checkpoints.Anchor], list[str]]:
    """The anchors whose signature holds under this key, and a line for each that does not."""
    try:
        key = checkpoints.audit_key()
    except checkpoints.AuditKeyError as exc:
        if anchors:
            result.add(f"cannot check the checkpoint signatures: {exc}")
        return [], []
    signed: list[checkpoints.Anchor] = []
    problems: list[str] = []
    mine = checkpoints.key_id(key)
    for a in anchors:
        if a.key_id != mine:
            problems.append(
                f"{a.source} was signed with another key (key id {a.key_id}; KRATOMWATCH_AUDIT_KEY has key id {mine})"
            )
            continue
        expected = checkpoints.sign(key, a.last_event_id, a.event_count, a.head_hash, a.created_at)
        if not hmac.compare_digest(expected, a.signature):
            problems.append(f"{a.source} has an invalid signature (it was forged or altered)")
            continue
        signed.append(a)
    return signed, problems


def verify(batch: int = 5000) -> Verification:
    """Check the whole trail: the chain, every checkpoint's signature, that every checkpoint and every anchor of
    this database still matches the table (same event, same hash, same count), and that the table is not shorter
    than the latest anchor. Problems are listed most telling first (a shortened trail, then the chain, then each
    checkpoint in order)."""
    result = Verification()
    db_anchors = checkpoints.db_anchors()
    file_anchors, file_problems = checkpoints.file_anchors()
    result.checkpoints, result.anchors = len(db_anchors), len(file_anchors)
    anchors = [*file_anchors, *db_anchors]
    wanted = {a.last_event_id for a in anchors}
    walk = _walk(wanted, batch)
    count, last_id, seen = walk.count, walk.last_id, walk.seen
    result.events, result.last_id = count, last_id

    signed, sig_problems = _check_signatures(anchors, result)
    latest = max(signed, key=lambda a: (a.last_event_id, a.event_count), default=None)
    if latest is not None and (count < latest.event_count or last_id < latest.last_event_id):
        result.add(
            f"the trail is shorter than {latest.source}: that recorded {latest.event_count} events up to id "
            f"{latest.last_event_id}, the table has {count} events up to id {last_id} "
            "(events were deleted at the end, or the table was emptied)"
        )
    if walk.problem:
        result.add(walk.problem, walk.bad_id)
    for a in signed:
        if a.last_event_id == 0:
            continue
        state = seen.get(a.last_event_id)
        if state is None:
            result.add(f"event {a.last_event_id}, recorded by {a.source}, is missing", a.last_event_id)
        elif state[1] != a.head_hash:
            result.add(
                f"event {a.last_event_id} no longer has the hash {a.source} recorded "
                "(the chain was changed and re-hashed up to there)",
                a.last_event_id,
            )
        elif state[0] != a.event_count:
            result.add(
                f"{a.source} recorded {a.event_count} events up to id {a.last_event_id}, the table has "
                f"{state[0]} (events before it were deleted or inserted)",
                a.last_event_id,
            )
    in_db = {(a.last_event_id, a.event_count, a.head_hash, a.signature) for a in db_anchors}
    for a in file_anchors:
        if a in signed and (a.last_event_id, a.event_count, a.head_hash, a.signature) not in in_db:
            result.add(f"{a.source} has no matching checkpoint in the database (a checkpoint was removed)")
    for problem in [*sig_problems, *file_problems]:
        result.add(problem)
    return result
