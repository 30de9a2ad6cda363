"""Small helpers shared by the tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
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


def new_database(tmp_path: Path, label: str) -> Iterator[str]:
    """A DATABASE_URL for an empty database of the same kind as the test run's, for a subprocess to use: a SQLite
    file under ``tmp_path``, or a new PostgreSQL database on the test server that is dropped afterwards."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / f'{label}.sqlite3'}"
        return
    import psycopg

    params = connection.settings_dict
    name = f"kw_{label}_{uuid.uuid4().hex[:8]}"
    base = f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
