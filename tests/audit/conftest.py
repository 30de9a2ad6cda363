"""Audit tests: a checkpoint key and an anchor file of their own, and checkpoints every 10 events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

KEY = "test-audit-key-" + "k" * 40


@pytest.fixture(autouse=True)
def audit_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    anchors = tmp_path / "anchors.jsonl"
    monkeypatch.setenv("KRATOMWATCH_AUDIT_KEY", KEY)
    monkeypatch.setenv("KRATOMWATCH_AUDIT_ANCHOR_FILE", str(anchors))
    monkeypatch.setenv("KRATOMWATCH_AUDIT_CHECKPOINT_EVERY", "10")
    return anchors


@pytest.fixture
def trail(world: Any, system: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """The world's events plus 30 by alice and bob, checkpointed (table and anchor file) at the end."""
    from kratomwatch.audit.checkpoints import create_checkpoint
    from kratomwatch.audit.log import Actor, record

    with django_capture_on_commit_callbacks(execute=True):
        for i in range(30):
            who = world.alice if i % 2 else world.bob
            record(Actor.of(who), "test.event", object_type="thing", object_id=i, detail={"i": i})
        create_checkpoint()
    return world
