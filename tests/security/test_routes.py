"""No patient identifier beyond the pseudonymous code may appear in a URL: every captured route parameter (web and
API, present and future) must be a code, an id or another documented non-identifying key."""

from __future__ import annotations

import re

from tests.security.routes import api_operations, url_routes

ALLOWED = re.compile(r"^(code|pk|id|slug|url|app_label|[a-z0-9_]+_(id|code|pk|slug))$")
FORBIDDEN = re.compile(r"name|email|mail|birth|dob|phone|address|addr|ssn|mrn|nhs|insurance|zip|postcode|street")


def test_web_route_parameters_are_codes_or_ids() -> None:
    routes = url_routes()
    assert len(routes) > 20
    for route in routes:
        for param in route.params:
            assert ALLOWED.match(param.name) and not FORBIDDEN.search(param.name), (route.template, param.name)


def test_api_path_and_query_parameters_are_codes_or_ids() -> None:
    operations = api_operations()
    assert len(operations) > 10
    for op in operations:
        for name in op.path_params:
            assert ALLOWED.match(name) and not FORBIDDEN.search(name), (op.path, name)
        for name in op.query_params:
            assert not FORBIDDEN.search(name), (op.path, name)
