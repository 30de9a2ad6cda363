"""Health and readiness probes for a load balancer, systemd or a monitor (JSON, no login, no patient data).

* ``/healthz``: the process answers (no database access).
* ``/readyz``: the database answers and every migration is applied; 503 with the reason otherwise.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

_migrated = False  # once every migration is applied, later probes only check that the database answers


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _pending_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    global _migrated  # noqa: PLW0603 - a per-process cache of a fact that only becomes true
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        if not _migrated:
            pending = _pending_migrations()
            if pending:
                return JsonResponse(
                    {"status": "unavailable", "database": "ok", "pending_migrations": pending}, status=503
                )
            _migrated = True
    except DatabaseError as exc:
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "pending_migrations": 0})
