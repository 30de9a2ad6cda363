"""Schemathesis over the whole API, in-process (WSGI), as a clinician and as a patient (D9, D16): no answer is a
5xx and every status answered is documented in the OpenAPI. Bounded: a few deterministic examples per operation
(positive and negative data, no shrinking), well under a minute per database. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

pytestmark = pytest.mark.django_db

#: Examples per operation and generation mode: enough to reach every error branch of the contract, bounded in time.
EXAMPLES = 5
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@contextlib.contextmanager
def connection_kept() -> Iterator[None]:
    """Each WSGI request closes the database connection at its start and end (``close_old_connections``); here that
    connection holds the test's transaction, so it stays open, as in Django's test client."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz(token: str) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    calls = [0]

    def examples(operation: Any, mode: schemathesis.GenerationMode) -> None:
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            calls[0] += 1
            try:
                case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, then report them together
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}"[:400])

        try:
            run()
        except Unsatisfiable:
            # Negative data for an operation whose every input accepts any string (e.g. only a {code} path) does
            # not exist; positive data still covers it.
            assert mode is schemathesis.GenerationMode.NEGATIVE

    for result in schema.get_all_operations():
        for mode in MODES:
            examples(result.ok(), mode)
    return calls[0], failures


@pytest.mark.parametrize("user", ["alice", "carol"])
def test_no_server_error_and_every_status_documented(world: Any, user: str) -> None:
    with connection_kept():
        calls, failures = fuzz(world.tokens[user])
    assert calls >= 300
    assert failures == []
