import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_database_matches_environment() -> None:
    """The suite runs on the database the environment names (CI checks this ran on PostgreSQL)."""
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
