"""Append-only audit trail with a hash chain (each event commits to the one before it), and signed checkpoints.

Hash versions: 1 (events written before 2026-12) covers every column but the actor's user id; 2 adds the actor's
user id. A chain never goes back from 2 to 1. The database refuses UPDATE, DELETE and TRUNCATE on both tables
(migration 0003, ``audit/guard.py``); ``audit/checkpoints.py`` signs (last id, count, head hash) and anchors it in a
file outside the database.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    program_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    patient_code = models.CharField(max_length=64, blank=True, db_index=True)
    detail = models.JSONField(default=dict)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    hash_version = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["id"]

    def canonical(self) -> str:
        payload: dict[str, Any] = {
            "at": self.at.isoformat(),
            "actor": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "program_id": self.program_id,
            "patient_code": self.patient_code,
            "detail": self.detail,
            "remote_addr": self.remote_addr,
            "prev": self.prev_hash,
        }
        if self.hash_version >= 2:
            payload["actor_id"] = self.actor_id
            payload["v"] = self.hash_version
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit events are append-only")


class AuditCheckpoint(models.Model):
    """The state of the trail at one moment (last event id, number of events, head hash), signed with
    HMAC-SHA256 under ``KRATOMWATCH_AUDIT_KEY``; each is also appended to the anchor file outside the database."""

    created_at = models.DateTimeField()
    last_event_id = models.BigIntegerField()
    event_count = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit checkpoints are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit checkpoints are append-only")
