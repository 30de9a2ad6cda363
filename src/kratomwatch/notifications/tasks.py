"""Delivery: the ``deliver`` task (run by ``kratomwatch worker``) and the two transports, email and webhook.

The webhook receives ``{"event": "alert.urgent", "alert_id", "program", "url"}`` as JSON with the header
``X-Kratomwatch-Signature: sha256=<hex HMAC-SHA256 of the raw body with KRATOMWATCH_ALERT_WEBHOOK_SECRET>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django_tasks import task

from kratomwatch.notifications import actions
from kratomwatch.notifications.models import Channel, Notification

SIGNATURE_HEADER = "X-Kratomwatch-Signature"
WEBHOOK_TIMEOUT_SECONDS = 10


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of the raw request body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_email(note: Notification) -> None:
    EmailMessage(
        subject=note.subject, body=note.body, from_email=settings.DEFAULT_FROM_EMAIL, to=[note.recipient]
    ).send(fail_silently=False)


def send_webhook(note: Notification) -> None:
    secret = settings.KRATOMWATCH_ALERT_WEBHOOK_SECRET
    if not secret:
        raise RuntimeError("KRATOMWATCH_ALERT_WEBHOOK_SECRET is not set: unsigned calls are not sent")
    if not note.recipient.startswith(("https://", "http://")):
        raise RuntimeError("the webhook URL must start with https:// or http://")
    body = json.dumps(note.payload, sort_keys=True).encode()
    request = urllib.request.Request(  # noqa: S310  (scheme checked above; the URL is the operator's setting)
        note.recipient,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "kratomwatch",
            "X-Kratomwatch-Event": str(note.payload.get("event", "")),
            SIGNATURE_HEADER: signature(body, secret),
        },
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise RuntimeError(f"webhook answered HTTP {response.status}")


def attempt(pk: int) -> str:
    """One delivery attempt of notification ``pk``; returns its status afterwards (or "skipped")."""
    note = actions.claim(pk)
    if note is None:
        return "skipped"
    error: str | None = None
    try:
        (send_webhook if note.channel == Channel.WEBHOOK else send_email)(note)
    except urllib.error.HTTPError as exc:
        error = f"webhook answered HTTP {exc.code}"
    except Exception as exc:  # any failure of a transport is recorded and retried, never raised away
        error = f"{type(exc).__name__}: {exc}"
    return str(actions.record_attempt(note, error=error).status)


@task()
def deliver(notification_id: int) -> Any:
    """The queued task: one attempt at sending one recorded notification."""
    return attempt(notification_id)
