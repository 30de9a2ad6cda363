"""Signed checkpoints of the audit trail, anchored outside the database.

A checkpoint records (last event id, number of events up to it, hash of that event) signed with HMAC-SHA256 under
``KRATOMWATCH_AUDIT_KEY`` (a key that is not ``SECRET_KEY`` and is not stored in the database). It is written to the
``audit_auditcheckpoint`` table and appended, once the transaction commits, as one JSON line to the anchor file
(``KRATOMWATCH_AUDIT_ANCHOR_FILE``, default ``KRATOMWATCH_HOME/audit-anchors.jsonl``), tagged with the database it
describes. Someone who can write to the database but does not hold the key cannot make a wiped, truncated or
re-hashed trail match an anchor again.

Checkpoints are taken every ``KRATOMWATCH_AUDIT_CHECKPOINT_EVERY`` events (default 100) by ``audit.log.record``,
by the worker's daily sweep, and by ``kratomwatch audit checkpoint``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import utils as test_utils
from django.utils import timezone

from kratomwatch.audit.models import AuditCheckpoint, AuditEvent

log = logging.getLogger("kratomwatch.audit")

GENESIS = "0" * 64
MIN_KEY_LENGTH = 32
DEFAULT_EVERY = 100
_LOCK_KEY = 0x6B77_6175  # "kwau": one advisory lock serializes the hash chain on PostgreSQL
_warned: set[str] = set()


class AuditKeyError(Exception):
    """The checkpoint key is missing or unusable (the message says what to set)."""


def _debug() -> bool:
    value = os.environ.get("KRATOMWATCH_DEBUG")
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def audit_key() -> bytes:
    """``KRATOMWATCH_AUDIT_KEY``; in debug only, a key derived from ``SECRET_KEY`` (with a warning)."""
    raw = os.environ.get("KRATOMWATCH_AUDIT_KEY", "").strip()
    if raw:
        if raw == settings.SECRET_KEY:
            raise AuditKeyError("KRATOMWATCH_AUDIT_KEY must differ from KRATOMWATCH_SECRET_KEY")
        if len(raw) < MIN_KEY_LENGTH:
            raise AuditKeyError(
                f"KRATOMWATCH_AUDIT_KEY is too short ({len(raw)} characters; use at least {MIN_KEY_LENGTH})"
            )
        return raw.encode()
    if not _debug():
        raise AuditKeyError(
            "KRATOMWATCH_AUDIT_KEY must be set when KRATOMWATCH_DEBUG is off "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'; docs/security.md)"
        )
    if "debug-key" not in _warned:
        log.warning(
            "KRATOMWATCH_AUDIT_KEY is not set: audit checkpoints use a key derived from SECRET_KEY (debug only)"
        )
        _warned.add("debug-key")
    return hmac.new(settings.SECRET_KEY.encode(), b"kratomwatch audit checkpoint key (debug only)", "sha256").digest()


def lock_chain() -> None:
    """Serialize appends to the chain (PostgreSQL; SQLite writers are serialized by the database)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def key_id(key: bytes) -> str:
    """A short public fingerprint of the key, so a checkpoint signed with another key is named as such."""
    return hashlib.sha256(b"kratomwatch-audit-key-id:" + key).hexdigest()[:16]


def message(last_event_id: int, event_count: int, head_hash: str, created_at: str) -> bytes:
    return f"kratomwatch-audit-checkpoint:v1|{last_event_id}|{event_count}|{head_hash}|{created_at}".encode()


def sign(key: bytes, last_event_id: int, event_count: int, head_hash: str, created_at: str) -> str:
    return hmac.new(key, message(last_event_id, event_count, head_hash, created_at), "sha256").hexdigest()


def anchor_file() -> Path | None:
    """The anchor file; None inside Django's test harness unless a test names one (test databases come and go,
    and their anchors must not pile up in a shared KRATOMWATCH_HOME)."""
    configured = os.environ.get("KRATOMWATCH_AUDIT_ANCHOR_FILE", "").strip()
    if configured:
        return Path(configured)
    if hasattr(test_utils._TestState, "saved_data"):
        return None
    return Path(settings.BASE_DIR) / "audit-anchors.jsonl"


def database_id() -> str:
    """Which database an anchor describes: vendor, host, port and name (SQLite: the file's absolute path)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:{Path(str(s['NAME'])).resolve() if str(s['NAME']).startswith('/') else s['NAME']}"
    return f"{connection.vendor}://{s.get('HOST') or 'localhost'}:{s.get('PORT') or ''}/{s['NAME']}"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def _append_anchor(line: dict[str, Any]) -> None:
    path = anchor_file()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.error(
            "audit checkpoint %s could not be appended to the anchor file %s: %s", line["last_event_id"], path, exc
        )


def create_checkpoint() -> AuditCheckpoint:
    """Sign the trail's current state, store it, and anchor it in the file once the transaction commits.

    Raises :class:`AuditKeyError` when no key is configured.
    """
    key = audit_key()
    with transaction.atomic():
        lock_chain()
        head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        last_id, head_hash = head if head else (0, GENESIS)
        previous = AuditCheckpoint.objects.order_by("-id").first()
        if previous is not None and previous.last_event_id <= last_id:
            count = (
                previous.event_count + AuditEvent.objects.filter(id__gt=previous.last_event_id, id__lte=last_id).count()
            )
        else:
            count = AuditEvent.objects.filter(id__lte=last_id).count()
        created = timezone.now()
        cp = AuditCheckpoint(
            created_at=created,
            last_event_id=last_id,
            event_count=count,
            head_hash=head_hash,
            key_id=key_id(key),
            signature=sign(key, last_id, count, head_hash, _iso(created)),
        )
        cp.save()
        line = {
            "database": database_id(),
            "checkpoint": cp.id,
            "created_at": _iso(created),
            "last_event_id": last_id,
            "event_count": count,
            "head_hash": head_hash,
            "key_id": cp.key_id,
            "signature": cp.signature,
        }
        transaction.on_commit(lambda: _append_anchor(line))
    return cp


def every() -> int:
    try:
        return max(1, int(os.environ.get("KRATOMWATCH_AUDIT_CHECKPOINT_EVERY", DEFAULT_EVERY)))
    except ValueError:
        return DEFAULT_EVERY


def maybe_checkpoint(event: AuditEvent) -> None:
    """After ``event`` was appended (chain lock held): checkpoint when ``every()`` events have passed."""
    last = AuditCheckpoint.objects.order_by("-id").values_list("last_event_id", flat=True).first() or 0
    if event.id - last < every():
        return
    try:
        create_checkpoint()
    except AuditKeyError as exc:
        log.error("audit checkpoint skipped: %s", exc)


# --- verification -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A checkpoint as read from the table or from a line of the anchor file."""

    source: str  # "checkpoint 12" or "anchor line 3"
    created_at: str
    last_event_id: int
    event_count: int
    head_hash: str
    key_id: str
    signature: str


def db_anchors() -> list[Anchor]:
    return [
        Anchor(
            f"checkpoint {cp.id}",
            _iso(cp.created_at),
            cp.last_event_id,
            cp.event_count,
            cp.head_hash,
            cp.key_id,
            cp.signature,
        )
        for cp in AuditCheckpoint.objects.order_by("id")
    ]


def file_anchors() -> tuple[list[Anchor], list[str]]:
    """This database's lines of the anchor file, and the problems reading it (a malformed line)."""
    path = anchor_file()
    anchors: list[Anchor] = []
    problems: list[str] = []
    if path is None or not path.exists():
        return anchors, problems
    me = database_id()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                d = json.loads(text)
                if d.get("database") != me:
                    continue
                anchors.append(
                    Anchor(
                        f"anchor line {number} of {path}",
                        str(d["created_at"]),
                        int(d["last_event_id"]),
                        int(d["event_count"]),
                        str(d["head_hash"]),
                        str(d["key_id"]),
                        str(d["signature"]),
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                problems.append(f"anchor line {number} of {path} is not a valid anchor")
    return anchors, problems


def scheduled_checkpoint() -> int | None:
    """The worker's daily checkpoint (after the registry sweep): its id, or None when no key is set (logged)."""
    try:
        return create_checkpoint().id
    except AuditKeyError as exc:
        log.error("daily audit checkpoint skipped: %s", exc)
        return None
