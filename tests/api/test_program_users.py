"""Program admins manage the users of their own program; nobody else can."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import api

pytestmark = pytest.mark.django_db


def test_program_admin_adds_lists_and_removes_users(world: Any) -> None:
    path = f"/programs/{world.program.pk}/users"
    made = api(world, "pa", "post", path, {"username": "dr.new", "password": "a-long-password-42", "role": "clinician"})
    assert made.status_code == 201 and made.json()["role"] == "clinician"
    names = {m["username"]: m["role"] for m in api(world, "pa", "get", path).json()}
    assert names["dr.new"] == "clinician" and names["carol"] == "patient"
    gone = api(world, "pa", "delete", f"{path}/{made.json()['id']}")
    assert gone.status_code == 204
    assert "dr.new" not in {m["username"] for m in api(world, "pa", "get", path).json()}


def test_others_cannot_manage_users(world: Any) -> None:
    body = {"username": "x.user", "password": "a-long-password-42", "role": "clinician"}
    assert api(world, "alice", "post", f"/programs/{world.program.pk}/users", body).status_code == 403
    assert api(world, "bob", "get", f"/programs/{world.program.pk}/users").status_code == 404
    assert api(world, "carol", "get", f"/programs/{world.program.pk}/users").status_code == 404


def test_bad_user_input_is_named(world: Any) -> None:
    path = f"/programs/{world.program.pk}/users"
    weak = api(world, "pa", "post", path, {"username": "weakling", "password": "1234567890", "role": "clinician"})
    assert weak.status_code == 400 and weak.json()["error"]["field"] == "password"
    foreign = api(
        world,
        "pa",
        "post",
        path,
        {"username": "pat.q", "password": "a-long-password-42", "role": "patient", "patient_code": "Q-001"},
    )
    assert foreign.status_code == 404
    role = api(world, "pa", "post", path, {"username": "boss", "password": "a-long-password-42", "role": "staff"})
    assert role.status_code == 422
