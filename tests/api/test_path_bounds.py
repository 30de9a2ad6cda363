"""Integer path parameters (D9): every one found in the OpenAPI is a database id from 1 to 2**63 - 1, so 0, -1,
2**63 and 10**30 are answered 422 in the one error shape, never 500. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kratomwatch.api.limits import MAX_DB_INT
from tests.api.test_api import assert_error

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = [0, -1, 2**63, 10**30]
#: A valid value for each string path parameter, so that only the integer is wrong.
STRINGS = {"code": "P-001", "kind_slug": "doses", "instrument_id": "phq9", "claim_id": "x"}


def integer_path_params() -> list[tuple[str, str, str]]:
    schema = Client().get("/api/v1/openapi.json").json()
    return [
        (method, path, param["name"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        for param in op.get("parameters", [])
        if param["in"] == "path" and param["schema"].get("type") == "integer"
    ]


def test_every_integer_path_parameter_is_bounded_in_the_schema(world: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    params = [
        p["schema"]
        for ops in schema["paths"].values()
        for op in ops.values()
        for p in op.get("parameters", [])
        if p["in"] == "path" and p["schema"].get("type") == "integer"
    ]
    assert len(params) >= 15
    assert all((p.get("minimum"), p.get("maximum")) == (1, MAX_DB_INT) for p in params)


def test_out_of_range_path_ids_are_422_never_500(world: Any) -> None:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens['alice']}"}
    checked = 0
    for method, template, name in integer_path_params():
        for value in OUT_OF_RANGE:
            path = re.sub(
                r"\{(\w+)\}", lambda m, n=name, v=value: str(v) if m[1] == n else STRINGS.get(m[1], "1"), template
            )
            body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
            response = getattr(client, method)(path, **body, **headers)
            assert response.status_code == 422, (method, path, response.content)
            assert_error(response.json(), "validation_error")
            assert name in response.json()["error"]["message"], (method, path)
            checked += 1
    assert checked >= 60
