"""The command line reads as the explicit operator (audited like a web read, labelled ``cli:<login>``), and every
command reports bad input in one error shape: JSON with ``value`` under ``--json``, ``error: field=value: message``
otherwise; exit code 2, never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kratomwatch.audit.models import AuditEvent
from kratomwatch.cli import app

runner = CliRunner()
LABEL = f"cli:{getpass.getuser()}"


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "action"),
    [
        (["exposure", "P-001", "--as-of", "2026-11-20", "--json"], "patient.read.exposure"),
        (["alerts", "P-001", "--json"], "patient.read.alerts"),
        (["fhir", "responses", "P-001"], "patient.read.fhir"),
    ],
)
def test_a_patient_read_is_audited_as_the_operator(world: Any, args: list[str], action: str) -> None:
    before = len(_events(action))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    events = _events(action)
    assert len(events) == before + 1
    event = events[-1]
    assert event.actor_label == LABEL and event.actor_id is None
    assert event.patient_code == "P-001" and event.program_id == world.program.pk
    assert event.object_type == "patient" and event.object_id == str(world.patient.pk)


@pytest.mark.django_db
def test_a_missing_patient_is_not_found_and_audited_as_a_refused_read(world: Any) -> None:
    result = runner.invoke(app, ["exposure", "NOPE"])
    assert result.exit_code == 2 and "patient_code='NOPE'" in result.output
    # D15: the refused read is audited (the same event as for another program's code), and nothing else is
    assert list(AuditEvent.objects.filter(patient_code="NOPE").values_list("action", flat=True)) == [
        "patient.read_refused"
    ]


@pytest.mark.django_db
def test_the_alert_queue_and_the_dose_export_are_audited_list_reads(world: Any, system: Any, tmp_path: Path) -> None:
    from kratomwatch.records import actions

    for day in (1, 2):
        taken = dt.datetime(2026, 11, day, 15, tzinfo=dt.UTC)
        dose = actions.DoseIn("P-001", world.leaf_cert_lot.pk, taken, 2.0, "g")
        actions.record_dose(actor=system, patient=world.patient, dose=dose, now=world.now)
    assert runner.invoke(app, ["alerts", "--json"]).exit_code == 0
    assert _events("list.alerts")[-1].actor_label == LABEL

    out = tmp_path / "doses.csv"
    result = runner.invoke(app, ["export", "doses", "--out", str(out), "--program", "pain"])
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        assert [row["patient_code"] for row in csv.DictReader(handle)] == ["P-001", "P-001"]
    event = _events("list.doses.export")[-1]
    assert event.actor_label == LABEL and event.program_id == world.program.pk and event.detail == {"count": 2}

    other = runner.invoke(app, ["export", "doses", "--program", "other"])
    assert other.exit_code == 0 and other.output.strip().splitlines()[1:] == []
    unknown = runner.invoke(app, ["export", "doses", "--program", "nope"])
    assert unknown.exit_code == 2 and "program='nope'" in unknown.output


@pytest.mark.django_db
def test_the_audit_listing_audits_itself(world: Any) -> None:
    result = runner.invoke(app, ["audit", "list", "--action", "patient.read", "--json"])
    assert result.exit_code == 0, result.output
    event = _events("audit.read")[-1]
    assert event.actor_label == LABEL and event.detail == {"filters": {"action": "patient.read"}}


@pytest.mark.django_db
def test_writes_carry_the_operator_label(world: Any, tmp_path: Path) -> None:
    path = tmp_path / "doses.csv"
    path.write_text(
        f"patient_code,lot_id,taken_at,amount,unit\nP-001,{world.leaf_cert_lot.pk},2026-11-01T09:00:00-06:00,2,g\n"
    )
    assert runner.invoke(app, ["import", "doses", str(path)]).exit_code == 0
    assert AuditEvent.objects.filter(actor_label=LABEL, action__startswith="dose.").exists()


# --- one error shape ------------------------------------------------------------------------------------------

NO_DATABASE = [
    (["dose", "1", "bucket", "--form", "leaf_powder"], "unit", "bucket"),
    (["score", "phq10", "1"], "instrument", "phq10"),
    (["legal", "ZZ-99"], "jurisdiction", "ZZ-99"),
    (["legal", "US-TX", "--on", "21/11/2026"], "on", "21/11/2026"),
    (["legal", "US-TX", "--seven-oh-share", "120"], "seven_oh_share", 120.0),
    (["evidence", "cures-everything"], "claim", "cures-everything"),
    (["sweep", "--as-of", "yesterday"], "as_of", "yesterday"),
    (["fhir", "questionnaire", "phq10"], "instrument", "phq10"),
    (["nof1", "analyze", "/nonexistent/trial.csv"], "file", "/nonexistent/trial.csv"),
    (["claims", "check", "/nonexistent/article.txt"], "file", "/nonexistent/article.txt"),
    (["claims", "evaluate", "--half", "third"], "half", "third"),
    (["signals", "ingest", "/nonexistent/faers_ascii_2024Q1.zip"], "file", "/nonexistent/faers_ascii_2024Q1.zip"),
    (["signals", "scan", "--format", "xml"], "format", "xml"),
]
WITH_DATABASE = [
    (["exposure", "NOPE"], "patient_code", "NOPE"),
    (["exposure", "P-001", "--as-of", "soon"], "as_of", "soon"),
    (["alerts", "--status", "bogus"], "status", "bogus"),
    (["alerts", "NOPE"], "patient_code", "NOPE"),
    (["audit", "list", "--since", "yesterday"], "since", "yesterday"),
    (["fhir", "responses", "NOPE"], "patient_code", "NOPE"),
    (["fhir", "responses", "P-001", "--instrument", "phq10"], "instrument", "phq10"),
    (["research", "analyse", "--program", "nowhere"], "--program", "nowhere"),
    (["research", "nof1-pool", "--program", "nowhere"], "--program", "nowhere"),
]


@pytest.fixture(autouse=True)
def _debug_key_warning_already_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """The once-per-process warning that audit checkpoints use a debug key goes to standard error wherever the
    first checkpoint of the run happens; these tests read the commands' own output only."""
    from kratomwatch.audit import checkpoints

    monkeypatch.setattr(checkpoints, "_warned", {"debug-key"})


def _assert_one_shape(args: list[str], field: str, value: object) -> None:
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 2, as_json.output
    body = json.loads(as_json.output)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field", "value"}
    assert body["error"]["field"] == field and body["error"]["value"] == value
    assert body["error"]["code"] and body["error"]["message"]

    plain = runner.invoke(app, args)
    assert plain.exit_code == 2
    assert plain.output.startswith(f"error: {field}={value!r}: ")
    assert "Traceback" not in plain.output and isinstance(plain.exception, SystemExit)


@pytest.mark.parametrize(("args", "field", "value"), NO_DATABASE)
def test_errors_have_one_shape_without_a_database(args: list[str], field: str, value: object) -> None:
    _assert_one_shape(args, field, value)


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "field", "value"), WITH_DATABASE)
def test_errors_have_one_shape_with_a_database(world: Any, args: list[str], field: str, value: object) -> None:
    _assert_one_shape(args, field, value)


def test_every_command_with_json_is_covered() -> None:
    """A new command with ``--json`` must join the lists above (``check`` accepts any text: it has no bad input)."""
    import typer.main

    group = typer.main.get_command(app)
    with_json: set[str] = set()

    def walk(command: Any, prefix: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{prefix} {name}".strip())
        elif any("--json" in p.opts for p in command.params):
            with_json.add(prefix)

    walk(group, "")
    tested = {_command_of(args) for args, _, _ in NO_DATABASE + WITH_DATABASE}
    assert with_json - {"check"} <= tested, with_json - tested


def _command_of(args: list[str]) -> str:
    return (
        " ".join(args[:2])
        if args[0] in ("audit", "claims", "fhir", "import", "export", "nof1", "research", "signals")
        else args[0]
    )
