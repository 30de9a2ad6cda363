"""Small helpers shared by API tests."""

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
