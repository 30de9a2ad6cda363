"""``POST /api/v1/claims/check``: the CLI's JSON for any authenticated user (clinician, patient, staff); 401 without
a token; bad text a 400 naming ``text``; no patient data read."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_api import assert_error, call

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("user", ["alice", "carol", "root"])
def test_any_user_checks_text(world: Any, user: str) -> None:
    status, body = call(
        world, user, "post", "/claims/check", {"text": "Kratom is FDA approved. Kratom may help sleep."}
    )
    assert status == 200, body
    assert [f["verdict"] for f in body["findings"]] == ["factual_error", "supported"]
    assert body["findings"][0]["claim"] == "fda_approval" and body["findings"][0]["sources"]
    assert body["summary"]["by_verdict"]["factual_error"] == 1


def test_anonymous_is_refused(world: Any) -> None:
    status, body = call(world, None, "post", "/claims/check", {"text": "Kratom cures pain."})
    assert status == 401 and "error" in body


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "invalid"),
        (
            "Der Kratom ist eine Pflanze aus Südostasien und wird dort seit langer Zeit als Tee getrunken.",
            "not_english",
        ),
        ("kratom\u0000", "nul_character"),
    ],
)
def test_bad_text_is_a_400_naming_the_field(world: Any, text: str, code: str) -> None:
    status, body = call(world, "alice", "post", "/claims/check", {"text": text})
    assert status == 400, body
    assert_error(body, code, "text")


def test_missing_text_is_a_422(world: Any) -> None:
    status, body = call(world, "alice", "post", "/claims/check", {})
    assert status == 422 and "error" in body
