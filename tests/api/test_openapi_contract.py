"""The API contract (D16): every operation documents the errors it can answer, in the one error shape, and an
anonymous write is told 401 (not "CSRF check Failed") while a logged-in session still needs its CSRF token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.api.test_api import assert_error

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch", "delete"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = Client().get("/api/v1/openapi.json").json()
    return [(method, path, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def expected_errors(method: str, op: dict[str, Any]) -> set[str]:
    expected: set[str] = set()
    if op.get("security"):
        expected |= {"401", "403"}
    if op.get("parameters") or op.get("requestBody"):
        expected |= {"400", "422"}
    if any(p["in"] == "path" for p in op.get("parameters", [])):
        expected.add("404")
    if method in WRITES:
        expected.add("409")
    return expected


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_every_operation_documents_its_error_responses_in_the_error_shape(world: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    ops = operations()
    assert len(ops) >= 50
    missing = {}
    for method, path, op in ops:
        documented = {status for status in op["responses"] if status.startswith("4")}
        if gap := expected_errors(method, op) - documented:
            missing[f"{method.upper()} {path}"] = sorted(gap)
        for status in documented:
            body = resolve(schema, op["responses"][status]["content"]["application/json"]["schema"])
            detail = resolve(schema, body["properties"]["error"])
            assert set(detail["properties"]) == {"code", "message", "field"}, (path, status)
    assert missing == {}


def test_authenticated_operations_all_document_401_and_403(world: Any) -> None:
    secured = [(m, p, op) for m, p, op in operations() if op.get("security")]
    assert len(secured) >= 50  # everything but the health check
    assert all({"401", "403"} <= set(op["responses"]) for _, _, op in secured)
    assert all({"400", "404", "422"} <= set(op["responses"]) for _, p, op in secured if "{" in p)


def test_server_side_constraints_are_in_the_schema(world: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    exposure = schema["paths"]["/api/v1/patients/{code}/exposure"]["get"]
    days = next(p for p in exposure["parameters"] if p["name"] == "days")["schema"]
    assert (days["minimum"], days["maximum"]) == (1, 366)
    dose = resolve(schema, schema["components"]["schemas"]["DoseIn"])
    assert dose["properties"]["unit"]["minLength"] == 1
    screen = resolve(schema, schema["components"]["schemas"]["ScreenIn"])
    assert screen["properties"]["medications"]["items"]["minLength"] == 1
    legal = schema["paths"]["/api/v1/legal/{code}"]["get"]
    assert "pattern" in next(p for p in legal["parameters"] if p["name"] == "code")["schema"]


def test_the_constraints_answer_422_in_the_error_shape(world: Any) -> None:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens['alice']}"}
    for path, field in (("/patients/P-001/exposure?days=532926", "days"), ("/legal/not%20a%20code", "code")):
        response = client.get(f"/api/v1{path}", **headers)
        assert response.status_code == 422, path
        assert_error(response.json(), "validation_error", field)
    response = client.post(
        "/api/v1/screening/interactions", json.dumps({"medications": [""]}), "application/json", **headers
    )
    assert response.status_code == 422
    assert_error(response.json(), "validation_error", "medications.0")


SCREEN = {"medications": ["tramadol"]}


def test_anonymous_post_is_401_in_the_error_shape_not_a_csrf_failure(world: Any) -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/screening/interactions", json.dumps(SCREEN), content_type="application/json"
    )
    assert response.status_code == 401
    assert_error(response.json(), "unauthenticated")


def test_a_logged_in_session_still_needs_its_csrf_token(world: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    response = client.post("/api/v1/screening/interactions", json.dumps(SCREEN), content_type="application/json")
    assert response.status_code == 403
    assert_error(response.json(), "forbidden")
    assert "CSRF" in response.json()["error"]["message"]
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    response = client.post(
        "/api/v1/screening/interactions",
        json.dumps(SCREEN),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret),
    )
    assert response.status_code == 200, response.content


def test_a_bearer_token_needs_no_csrf_token(world: Any) -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/screening/interactions",
        json.dumps(SCREEN),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.tokens['alice']}",
    )
    assert response.status_code == 200
