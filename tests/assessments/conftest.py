"""Helpers shared by the assessment tests."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from kratomwatch.core import instruments as ins


def sample_answers(definition: ins.InstrumentDefinition, shift: int = 3) -> list[int | None]:
    """A deterministic, varied, complete answer set (every value allowed for its item)."""
    return [
        item.allowed_values[(position * 7 + shift) % len(item.allowed_values)]
        for position, item in enumerate(definition.items)
    ]


def call(w: Any, user: str | None, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {w.tokens[user]}"} if user else {}
    fn = getattr(client, method)
    if body is None:
        response = fn(f"/api/v1{path}", **headers)
    else:
        response = fn(f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def assert_error(payload: Any, code: str, field: str | None = None) -> None:
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "field"}
    assert payload["error"]["code"] == code
    if field is not None:
        assert payload["error"]["field"] == field
