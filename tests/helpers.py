"""Small helpers shared by the tests."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


def api(w: Any, user: str, method: str, path: str, body: Any = None) -> Any:
    """Call ``/api/v1{path}`` as ``user`` (a persona of the ``world`` fixture) with a Bearer token."""
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {w.tokens[user]}"}
    if body is not None:
        kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(Client(), method)(f"/api/v1{path}", **kwargs)


def add_patient(w: Any, code: str, **overrides: Any) -> Any:
    """Another patient in the ``world`` program (adult, US-TX, Chicago time) through ``records.actions``."""
    from kratomwatch.audit.log import Actor
    from kratomwatch.records import actions

    fields: dict[str, Any] = {
        "birth_year": 1980,
        "sex": "female",
        "time_zone": "America/Chicago",
        "jurisdiction": "US-TX",
    }
    return actions.create_patient(actor=Actor.system("test"), program=w.program, code=code, **(fields | overrides))
