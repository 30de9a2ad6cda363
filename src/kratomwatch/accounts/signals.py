"""Audit sign-ins, sign-outs, failed attempts and lockouts (connected in AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from kratomwatch.audit.log import Actor, clean_ip, record


def _addr(request: Any) -> str | None:
    return clean_ip(request.META.get("REMOTE_ADDR")) if request is not None else None


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(Actor.of(user, _addr(request)), "auth.login", object_type="user", object_id=user.pk)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        record(Actor.of(user, _addr(request)), "auth.logout", object_type="user", object_id=user.pk)


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username") or "")[:150]
    locked = bool(getattr(request, "axes_locked_out", False))
    record(
        Actor(user=None, label="anonymous", remote_addr=_addr(request)),
        "auth.login_refused_locked" if locked else "auth.login_failed",
        object_type="user",
        detail={"username": username},
    )


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="kratomwatch.audit.login")
    user_logged_out.connect(_logged_out, dispatch_uid="kratomwatch.audit.logout")
    user_login_failed.connect(_login_failed, dispatch_uid="kratomwatch.audit.login_failed")
