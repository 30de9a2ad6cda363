"""The models and the migrations agree: a model change without its migration fails here, not on a clinic's upgrade."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_no_model_change_is_missing_its_migration() -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration would be written
        pytest.fail(f"a migration is missing (exit {exc.code}):\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()
