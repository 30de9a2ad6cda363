"""Analysis snapshots (``research/snapshot.py``): a study-days Parquet export of one program under
KRATOMWATCH_HOME, identified by its directory and the SHA-256 of its manifest; a withdrawal of research consent
takes effect at the next snapshot; only the last three are kept; ``load`` gives the frames the analyses read."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from kratomwatch.core.errors import InputError
from tests.research.test_export import SECRET, Cohort
from tests.research.test_export import cohort as _cohort  # noqa: F401 - its fixture, as "_cohort"

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _home(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KRATOMWATCH_HOME under the test's folder, the research secret set (and no 2FA for the API tests)."""
    settings.KRATOMWATCH_REQUIRE_2FA = False
    settings.BASE_DIR = tmp_path / "home"
    monkeypatch.setenv("KRATOMWATCH_RESEARCH_SECRET", SECRET)
    return tmp_path


@pytest.fixture
def cohort(_cohort: Cohort) -> Cohort:  # noqa: F811 - the cohort of tests/research/test_export.py
    return _cohort


def _build(world: Any, now: dt.datetime = NOW, k: int = 2) -> Any:
    from kratomwatch import access
    from kratomwatch.audit.log import Actor
    from kratomwatch.research import snapshot

    patients = access.patients_for(access.operator("tester")).filter(program=world.program)
    return snapshot.build(patients, program=world.program, actor=Actor.system("test"), k=k, now=now)


def test_snapshot_is_a_study_day_export_identified_by_its_manifest(world: Any, cohort: Cohort, tmp_path: Path) -> None:
    from kratomwatch.research import snapshot

    assert snapshot.latest(world.program) is None
    steps: list[str] = []
    from kratomwatch import access
    from kratomwatch.audit.log import Actor

    patients = access.patients_for(access.operator("tester")).filter(program=world.program)
    snap = snapshot.build(
        patients,
        program=world.program,
        actor=Actor.system("test"),
        k=2,
        now=NOW,
        progress=lambda s, d, t: steps.append(s),
    )
    assert steps[-1] == "files" and len(steps) == len(snapshot.STEPS)
    assert snap.path == tmp_path / "home" / "research" / "snapshots" / "pain" / snap.snapshot_id
    assert snap.snapshot_id.startswith("20261201T120000")
    assert snap.checksum == hashlib.sha256((snap.path / "manifest.json").read_bytes()).hexdigest()
    assert snap.consent_as_of == NOW.isoformat() and snap.k == 2
    # P-001..P-005 and the unique P-007 consented (k = 2 keeps P-007 once generalised or suppressed); P-006
    # withdrew and P-008 never consented.
    assert snap.counts["excluded_without_research_consent"] == 2
    assert {p.name for p in snap.path.glob("*.parquet")} >= {"participants.parquet", "assessments.parquet"}
    assert not list(snap.path.glob("*.csv")) or {p.name for p in snap.path.glob("*.csv")} == {
        "data_dictionary.csv",
        "k_anonymity.csv",
    }
    assert snapshot.latest(world.program) == snap

    data = snapshot.load(snap)
    assert data.participants.height == snap.counts["participants"]
    assert "date_study_day" in data.assessments.columns
    assert data.source["checksum"] == snap.checksum and data.source["snapshot_id"] == snap.snapshot_id


def test_withdrawal_takes_effect_at_the_next_snapshot(world: Any, cohort: Cohort, system: Any) -> None:
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.research import snapshot

    first = _build(world)
    before = snapshot.load(first).participants.height
    consent_actions.withdraw(actor=system, patient=cohort.patients["P-002"], scope="research")
    # The snapshot already built is unchanged; the next one leaves the participant out.
    assert snapshot.load(first).participants.height == before
    second = _build(world, NOW + dt.timedelta(hours=1))
    assert snapshot.latest(world.program) == second
    assert snapshot.load(second).participants.height == before - 1
    assert second.counts["excluded_without_research_consent"] == first.counts["excluded_without_research_consent"] + 1


def test_only_the_last_three_snapshots_are_kept(world: Any, cohort: Cohort) -> None:
    from kratomwatch.research import snapshot

    built = [_build(world, NOW + dt.timedelta(minutes=m)) for m in range(4)]
    kept = snapshot.all_for(world.program)
    assert [s.snapshot_id for s in kept] == [s.snapshot_id for s in reversed(built[1:])]
    assert not built[0].path.exists()
    # Two snapshots in the same instant get distinct directories.
    again = _build(world, NOW + dt.timedelta(minutes=3))
    assert again.snapshot_id != built[3].snapshot_id and again.path.is_dir()


def test_bad_snapshot_options_write_nothing(world: Any, cohort: Cohort, tmp_path: Path, monkeypatch: Any) -> None:
    from kratomwatch.research import snapshot

    with pytest.raises(InputError) as low_k:
        _build(world, k=1)
    assert low_k.value.field == "k"
    monkeypatch.delenv("KRATOMWATCH_RESEARCH_SECRET")
    with pytest.raises(InputError) as no_secret:
        _build(world)
    assert no_secret.value.field == "research_secret"
    assert snapshot.latest(world.program) is None
    assert not (tmp_path / "home" / "research" / "snapshots" / "pain").exists() or not any(
        (tmp_path / "home" / "research" / "snapshots" / "pain").iterdir()
    )


def test_report_on_a_real_snapshot_uses_enrolment_year_and_ae_system(world: Any, cohort: Cohort) -> None:
    from kratomwatch.audit.log import Actor
    from kratomwatch.audit.models import AuditEvent
    from kratomwatch.research import snapshot

    snap = _build(world)
    data = snapshot.load(snap)
    year = int(data.participants["enrolment_year"].max())
    n = data.participants.height
    actor = Actor.system("test")
    same = snapshot.report(world.program, {"enrolled_from_year": year}, actor=actor, week=0).to_dict()
    assert same["cohort"]["n"] == n and same["data"]["checksum"] == snap.checksum
    before = snapshot.report(world.program, {"enrolled_to_year": year - 1}, actor=actor).to_dict()
    assert before["cohort"]["n"] == 0 and "enrolled_from_year/enrolled_to_year" in before["cohort"]["reason"]
    # Each consented participant has one grade 1 event whose term is not in the curated list.
    incidence = same["ae_incidence"]
    assert [row["group"] for row in incidence["by_system"]] == ["not classified"]
    grade1 = next(row for row in incidence["by_grade"] if row["group"] == "Grade 1")
    assert grade1["events"] == incidence["total"]["events"] == n
    assert AuditEvent.objects.filter(action="research.cohort.analyse").count() == 2
