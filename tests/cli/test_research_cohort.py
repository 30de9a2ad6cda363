"""``kratomwatch research snapshot``, ``research cohort save|list`` and ``research analyse``: the operator builds
an analysis snapshot, saves a cohort and prints its report as Rich tables, JSON or CSV files; bad input is one
line naming the option and its value, exit 2, no traceback; no patient code leaves in any output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.research.test_export import Cohort
from tests.research.test_export import cohort as _cohort  # noqa: F401 - its fixture, as "_cohort"
from tests.research.test_snapshot import _home  # noqa: F401 - autouse: KRATOMWATCH_HOME and the research secret

pytestmark = pytest.mark.django_db
runner = CliRunner()


@pytest.fixture
def cohort(_cohort: Cohort) -> Cohort:  # noqa: F811
    return _cohort


def _run(*args: str) -> Any:
    from kratomwatch.cli import app

    return runner.invoke(app, ["research", *args])


def _codes(text: str, cohort: Cohort) -> list[str]:
    return [
        p.code for p in [*cohort.patients.values(), cohort.withdrawn, cohort.unique, cohort.never] if p.code in text
    ]


def test_snapshot_save_list_and_analyse(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    from kratomwatch.audit.models import AuditEvent

    before = _run("analyse", "--program", "pain")
    assert before.exit_code == 2 and "no analysis snapshot yet" in " ".join(before.output.split())
    made = _run("snapshot", "--program", "pain", "--k", "2")
    assert made.exit_code == 0, made.output
    said = " ".join(made.output.split())
    assert "snapshot 2" in said and "without active research consent left out" in said

    saved = _run(
        "cohort", "save", "--program", "pain", "--name", "Women", "--sex", "female", "--condition", "chronic_pain"
    )
    assert saved.exit_code == 0, saved.output
    assert "saved cohort 'Women'" in saved.output
    listed = _run("cohort", "list", "--program", "pain")
    assert listed.exit_code == 0 and "Women" in listed.output and "female" in listed.output

    shown = _run("analyse", "--program", "pain", "--cohort", "Women", "--week", "0")
    assert shown.exit_code == 0, shown.output
    for heading in ("Participants", "Weekly means", "IMMPACT responders", "Time to event", "Adverse events per 100"):
        assert heading in shown.output, heading
    assert "cannot establish efficacy" in " ".join(shown.output.split())
    assert _codes(shown.output, cohort) == []

    as_json = _run("analyse", "--program", "pain", "--sex", "female", "--json", "--csv", str(tmp_path / "csv"))
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    assert report["cohort"]["definition"] == {"sexes": ["female"]} and report["cohort"]["n"] > 0
    assert report["data"]["program"] == "pain" and len(report["data"]["checksum"]) == 64
    files = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert "trajectories.csv" in files and "ae_incidence.csv" in files and not [f for f in files if f.startswith(".")]
    text = as_json.output + "".join((tmp_path / "csv" / f).read_text() for f in files)
    assert _codes(text, cohort) == []
    assert not re.search(r"(?<![A-Z])S-[0-9A-Za-z]{6}", text)  # no study ID either
    assert AuditEvent.objects.filter(action="research.cohort.analyse").count() == 2
    assert AuditEvent.objects.filter(action="research.cohort.create", actor_label__startswith="cli:").count() == 1


def test_an_empty_cohort_says_why(world: Any, cohort: Cohort) -> None:
    assert _run("snapshot", "--program", "pain", "--k", "2").exit_code == 0
    result = _run("analyse", "--program", "pain", "--jurisdiction", "NZ")
    assert result.exit_code == 0, result.output
    assert "Nothing to show: no participant matches jurisdictions" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["analyse", "--program", "nowhere"], "--program='nowhere'"),
        (["analyse", "--program", "pain", "--exposure-min-mg", "-3"], "--exposure-min-mg=-3"),
        (["analyse", "--program", "pain", "--baseline-min", "4"], "--baseline-min=4"),
        (["analyse", "--program", "pain", "--baseline-instrument", "nope"], "--baseline-instrument='nope'"),
        (["analyse", "--program", "pain", "--instrument", "phq9"], "--instrument='phq9'"),
        (["analyse", "--program", "pain", "--week", "999"], "--week=999"),
        (["analyse", "--program", "pain", "--cohort", "Nobody"], "--cohort='Nobody'"),
        (["analyse", "--program", "pain", "--cohort", "X", "--sex", "male"], "--cohort='X'"),
        (["snapshot", "--program", "pain", "--k", "1"], "k=1"),
        (["cohort", "save", "--program", "pain", "--name", " "], "--name=' '"),
        (
            ["cohort", "save", "--program", "pain", "--name", "A", "--enrolled-from-year", "1700"],
            "--enrolled-from-year",
        ),
    ],
)
def test_bad_input_names_the_option_and_exits_2(world: Any, cohort: Cohort, args: list[str], needle: str) -> None:
    assert _run("snapshot", "--program", "pain", "--k", "2").exit_code == 0
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output, result.output
    assert needle in result.output.replace("\n", ""), result.output


def test_duplicate_cohort_name_is_refused(world: Any, cohort: Cohort) -> None:
    assert _run("cohort", "save", "--program", "pain", "--name", "A").exit_code == 0
    again = _run("cohort", "save", "--program", "pain", "--name", "A", "--sex", "male")
    assert again.exit_code == 2 and "--name='A'" in again.output and "already has a cohort" in again.output


def test_the_report_as_pdf_carries_the_checksum_and_no_code(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    import shutil
    import subprocess

    assert _run("snapshot", "--program", "pain", "--k", "2").exit_code == 0
    target = tmp_path / "report.pdf"
    result = _run("analyse", "--program", "pain", "--json", "--pdf", str(target))
    assert result.exit_code == 0, result.output
    checksum = json.loads(result.output)["data"]["checksum"]
    data = target.read_bytes()
    assert data.startswith(b"%PDF-") and not list(tmp_path.glob(".*partial"))
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
        assert checksum[:16] in text.replace("\n", "") and _codes(text, cohort) == []
    missing = _run("analyse", "--program", "pain", "--pdf", str(tmp_path / "no" / "such" / "r.pdf"))
    assert missing.exit_code == 2 and "--pdf=" in missing.output.replace("\n", "") and "Traceback" not in missing.output
