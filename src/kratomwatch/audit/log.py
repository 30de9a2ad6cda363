"""Writing and verifying the audit trail. Called by actions (writes) and access helpers (reads)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kratomwatch.audit.models import AuditEvent

GENESIS = "0" * 64
_LOCK_KEY = 0x6B77_6175  # "kwau": one advisory lock serializes the hash chain on PostgreSQL

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
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
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
        )
        event.hash = event.compute_hash()
        event.save()
        return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    ok: bool
    first_bad_id: int | None
    reason: str | None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Recompute every hash in order; report the first broken link."""
    prev = GENESIS
    count = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch):
        count += 1
        if event.prev_hash != prev:
            return ChainReport(count, False, event.id, "prev_hash does not match the previous event")
        if event.compute_hash() != event.hash:
            return ChainReport(count, False, event.id, "content does not match its hash")
        prev = event.hash
    return ChainReport(count, True, None, None)
