"""Structured request log: one JSON line per request on the ``kratomwatch.requests`` logger.

A small middleware instead of django-structlog: five fields need no extra dependency or processor chain.

Each line holds ``method``, ``path``, ``status``, ``duration_ms`` and ``user`` (the user id, or ``"anonymous"``).
The path is the URL *pattern* that matched (``/api/v1/patients/<code>/doses``), never the concrete path, so no
patient code, token or query string reaches the log; static files log their own path; a path that matched
nothing logs as ``"<unmatched>"``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

log = logging.getLogger("kratomwatch.requests")

UNMATCHED = "<unmatched>"


def route_of(request: HttpRequest) -> str:
    """The matched URL pattern with its placeholders (no values), or the static path, or ``<unmatched>``."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + str(match.route).lstrip("^").rstrip("$")
    static = "/" + str(settings.STATIC_URL).lstrip("/")
    if request.path.startswith(static):
        return request.path
    return UNMATCHED


def user_of(request: HttpRequest) -> int | str:
    user = getattr(request, "user", None)  # set by the session middleware or by the API's bearer token
    if user is not None and getattr(user, "is_authenticated", False) and user.pk is not None:
        return int(user.pk)
    return "anonymous"


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        start = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            if log.isEnabledFor(logging.INFO):
                line = {
                    "method": request.method,
                    "path": route_of(request),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                    "user": user_of(request),
                }
                log.info(json.dumps(line, separators=(",", ":")))
