"""FAERS quarterly ASCII extracts (synthetic quarters in the published layout): de-duplication to the latest case
version, deleted cases, rejected lines, bad archives, and the signals command on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.core.errors import InputError
from kratomwatch.surveillance import faers, faers_synth

runner = CliRunner()


@pytest.fixture
def quarters(tmp_path: Path) -> Path:
    folder = tmp_path / "faers"
    folder.mkdir()
    first = faers_synth.quarter(2024, 1, cases=400, malformed=3, seed=1)
    second = faers_synth.quarter(
        2024, 2, cases=400, first_caseid=2_000_000, followups_of=(1_000_000, 1_000_001), deleted=(1_000_005,), seed=2
    )
    (folder / "faers_ascii_2024Q1.zip").write_bytes(first.zip)
    (folder / "faers_ascii_2024Q2.zip").write_bytes(second.zip)
    return folder


def test_latest_version_kept_deleted_cases_dropped_malformed_lines_counted(quarters: Path) -> None:
    read = faers.read_quarters(sorted(quarters.glob("*.zip")))
    assert [q.name for q in read] == ["24Q1", "24Q2"]
    assert read[0].rejects.lines["DRUG24Q1.TXT"] == 3 and read[1].rejects.total == 0
    ingested = faers.to_openebgm(read)
    assert ingested.reports_read == 802  # 400 + 400 + 2 follow-up versions
    assert ingested.versions_dropped == 2 and ingested.deleted_dropped == 1
    assert ingested.cases_kept == 799
    ids = set(ingested.rows["id"].to_list())
    assert "1000005" not in ids and "1000000" in ids
    # The follow-up (version 2, primaryid ...02) is the one kept: its drugs, not version 1's.
    v2 = read[1].drug.filter(read[1].drug["primaryid"] == "10000002")["drugname"].to_list()
    kept = ingested.rows.filter(ingested.rows["id"] == "1000000")["var1"].unique().to_list()
    suspects = read[1].drug.filter(
        (read[1].drug["primaryid"] == "10000002") & read[1].drug["role_cod"].is_in(["PS", "SS"])
    )["drugname"]
    assert set(kept) == set(suspects.to_list()) and set(kept) <= set(v2)


def test_roles_choose_the_drugs(quarters: Path) -> None:
    read = faers.read_quarters(sorted(quarters.glob("*.zip")))
    ps = faers.to_openebgm(read, role="ps").rows.height
    suspect = faers.to_openebgm(read, role="suspect").rows.height
    every = faers.to_openebgm(read, role="any").rows.height
    assert ps < suspect < every
    with pytest.raises(InputError) as problem:
        faers.to_openebgm(read, role="concomitant")
    assert problem.value.field == "role"


def test_a_quarter_given_twice_is_refused(quarters: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again.zip"
    copy.write_bytes((quarters / "faers_ascii_2024Q1.zip").read_bytes())
    with pytest.raises(InputError, match="24Q1 is given twice"):
        faers.read_quarters([quarters / "faers_ascii_2024Q1.zip", copy])


def test_a_truncated_zip_is_refused(quarters: Path, tmp_path: Path) -> None:
    data = (quarters / "faers_ascii_2024Q1.zip").read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a complete zip"):
        faers.read_quarter(broken)


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "other.zip"
    archive.write_bytes(
        faers.zip_bytes({"DEMO24Q1.txt": "id,var1,var2\n1,A,B\n", "DRUG24Q1.txt": "x", "REAC24Q1.txt": "y"})
    )
    with pytest.raises(InputError) as problem:
        faers.read_quarter(archive)
    assert problem.value.field == "column" and problem.value.value == "primaryid"
    only_csv = tmp_path / "reports.zip"
    only_csv.write_bytes(faers.zip_bytes({"reports.csv": "id,var1,var2\n"}))
    with pytest.raises(InputError, match="no DEMOyyQq"):
        faers.read_quarter(only_csv)


def test_latin1_names_are_read_and_the_encoding_reported(tmp_path: Path) -> None:
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "DEMO24Q3.txt").write_bytes(b"primaryid$caseid$caseversion$fda_dt\n11$1$1$20240815\n")
    (folder / "DRUG24Q3.txt").write_bytes("primaryid$caseid$role_cod$drugname\n11$1$PS$CAFÉ KRATOM\n".encode("latin-1"))
    (folder / "REAC24Q3.txt").write_bytes(b'primaryid$caseid$pt\n11$1$NAUSEA "SEVERE"\n')
    quarter = faers.read_quarter(folder)
    assert quarter.encodings["DRUG24Q3.TXT"] == "latin-1"
    rows = faers.to_openebgm([quarter]).rows
    assert rows.to_dicts() == [{"id": "1", "var1": "CAFÉ KRATOM", "var2": 'NAUSEA "SEVERE"'}]  # quotes are literal


def test_signals_on_generated_quarters_finds_the_kratom_events(
    quarters: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    result = runner.invoke(
        app, ["surveillance", "signals", str(quarters), "--layout", "faers", "--drug", "kratom", "--json", "--top", "3"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["faers"]["quarters"] == ["24Q1", "24Q2"] and body["faers"]["deleted_cases_dropped"] == 1
    assert body["faers"]["rejected_lines"]["DRUG24Q1.TXT"] == 3
    assert body["names"]["matched_rows"]["kratom"] > 0
    top_events = {s["event"] for s in body["signals"]}
    assert top_events <= {"WITHDRAWAL SYNDROME", "DRUG DEPENDENCE", "SEIZURE"} and len(top_events) == 3
    assert all(s["drug"] == "kratom" and s["prr_signal"] for s in body["signals"])
    assert "causation" in body["caveat"]
