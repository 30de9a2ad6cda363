"""The analytical store (ingest once per quarter or file, whole or not at all) and the scan over it: the same
counts as openEBGM's processRaw on the CAERS example, the FDA's de-duplication across quarters, the legacy AERS
and CAERS layouts, bad input, and ``kratomwatch signals ingest`` / ``scan`` in the CLI's one error shape."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.core.errors import InputError
from kratomwatch.surveillance import CAVEAT, faers_synth, ingest, openebgm, scan
from tests.surveillance import faers_reference as faers

runner = CliRunner()
CAERS = Path(__file__).parent / "data" / "caers.csv"
# The columns of the issue, in its order.
OUT_COLUMNS = (
    "drug, event, n, expected, prr, prr_chi2, ror, ror_lower95, ror_upper95, ic, ic025, ebgm, eb05, eb95".split(", ")  # noqa: SIM905
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def quarters(tmp_path: Path) -> Path:
    folder = tmp_path / "faers"
    folder.mkdir()
    first = faers_synth.quarter(2024, 1, cases=300, malformed=3, seed=1)
    second = faers_synth.quarter(
        2024, 2, cases=300, first_caseid=2_000_000, followups_of=(1_000_000, 1_000_001), deleted=(1_000_005,), seed=2
    )
    (folder / "faers_ascii_2024Q1.zip").write_bytes(first.zip)
    (folder / "faers_ascii_2024Q2.zip").write_bytes(second.zip)
    return folder


def _zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# --- agreement with openEBGM's counting -------------------------------------------------------------------------


def test_scan_counts_the_caers_example_exactly_as_processraw() -> None:
    ingest.ingest([CAERS], "openebgm")
    result = scan.scan("openebgm", as_reported=True, methods=("prr", "ror", "ic"))
    reference = openebgm.count_pairs(openebgm.read(CAERS))
    assert result.summary["pairs"] == reference.height == 17189
    assert result.summary["cases_counted"] == int(reference["N_tot"][0])
    joined = result.table.join(reference, left_on=["drug", "event"], right_on=["var1", "var2"], how="full")
    assert joined.height == 17189 and joined["n"].null_count() == 0 and joined["N"].null_count() == 0
    assert (joined["n"] == joined["N"]).all()
    assert ((joined["expected"] - joined["E"]).abs() < 1e-9).all()


def test_stratified_scan_matches_processraw_with_strata() -> None:
    ingest.ingest([CAERS], "openebgm")
    result = scan.scan("openebgm", as_reported=True, strata=("strat",), methods=("ic",))
    reference = openebgm.count_pairs(openebgm.read(CAERS), stratify=True)
    joined = result.table.join(reference, left_on=["drug", "event"], right_on=["var1", "var2"])
    assert joined.height == 17189
    assert ((joined["expected"] - joined["E"]).abs() < 1e-9).all()
    # Stratification changes E for some pairs (otherwise the test would not test anything).
    unstratified = openebgm.count_pairs(openebgm.read(CAERS))
    assert not reference["E"].equals(unstratified["E"])


def test_faers_scan_agrees_with_the_single_pass_reader(quarters: Path) -> None:
    ingest.ingest([quarters], "faers")
    result = scan.scan("faers", role="suspect", as_reported=True, methods=("prr",))
    rows = faers.to_openebgm(faers.read_quarters(sorted(quarters.iterdir())), role="suspect").rows
    reference = openebgm.count_pairs(rows)
    joined = result.table.join(reference, left_on=["drug", "event"], right_on=["var1", "var2"], how="full")
    assert joined.height == reference.height and joined["n"].null_count() == 0
    assert (joined["n"] == joined["N"]).all()
    assert ((joined["expected"] - joined["E"]).abs() < 1e-9).all()


# --- FAERS: de-duplication, idempotence, whole units ----------------------------------------------------------


def test_faers_ingest_is_idempotent_and_deduplicates_across_quarters(quarters: Path, home: Path) -> None:
    first = ingest.ingest([quarters], "faers")
    assert [(u.name, u.status, u.layout) for u in first.units] == [
        ("2024Q1", "ingested", "faers"),
        ("2024Q2", "ingested", "faers"),
    ]
    assert first.units[0].rejects == {"DEMO24Q1.TXT": 0, "DRUG24Q1.TXT": 3, "REAC24Q1.TXT": 0}
    again = ingest.ingest([quarters / "faers_ascii_2024Q2.zip"], "faers")
    assert [u.status for u in again.units] == ["unchanged"]
    result = scan.scan("faers")
    s = result.summary
    # 602 versions read; 2 older versions superseded by Q2's follow-ups; 1 deleted case dropped.
    assert (s["reports_read"], s["versions_dropped"], s["deleted_dropped"], s["cases_kept"]) == (602, 2, 1, 599)
    assert s["rejects"] == {"DRUG24Q1.TXT": 3}
    assert s["caveat"] == CAVEAT and s["units"] == ["2024Q1", "2024Q2"]
    for view in ("signals", "trend", "years", "outcomes", "coreported"):
        assert (result.path / f"{view}.parquet").is_file()
    assert json.loads((result.path / "summary.json").read_text())["pairs"] == result.table.height
    kratom = result.table.filter(pl.col("drug") == "kratom")
    assert kratom.height > 0 and s["names"]["products"]["kratom"] > 0


def test_trend_is_cumulative_and_ends_at_the_total(quarters: Path) -> None:
    ingest.ingest([quarters], "faers")
    result = scan.scan("faers")
    trend = pl.read_parquet(result.path / "trend.parquet")
    seizure = trend.filter((pl.col("product") == "kratom") & (pl.col("event") == "SEIZURE")).sort("period")
    assert seizure["period"].to_list() == ["2024Q1", "2024Q2"]
    assert seizure["n_cum"][0] <= seizure["n_cum"][1]
    total = result.table.filter((pl.col("drug") == "kratom") & (pl.col("event") == "SEIZURE"))["n"][0]
    assert seizure["n_cum"][1] == total
    assert (seizure["ic025"] < seizure["ic"]).all() and (seizure["ic"] < seizure["ic975"]).all()
    years = pl.read_parquet(result.path / "years.parquet")
    assert years.filter(pl.col("product") == "kratom")["year"].to_list() == [2024]


def test_a_different_file_for_an_ingested_quarter_is_refused_unless_replaced(quarters: Path, tmp_path: Path) -> None:
    ingest.ingest([quarters / "faers_ascii_2024Q1.zip"], "faers")
    other = tmp_path / "other_2024Q1.zip"
    other.write_bytes(faers_synth.quarter(2024, 1, cases=50, seed=9).zip)
    with pytest.raises(InputError, match="already ingested from another file"):
        ingest.ingest([other], "faers")
    assert ingest.units("faers")[0][1]["rows"]["cases"] == 300
    ingest.ingest([other], "faers", replace=True)
    assert ingest.units("faers")[0][1]["rows"]["cases"] == 50


def test_the_same_quarter_twice_in_one_call_ingests_nothing(quarters: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.zip"
    copy.write_bytes((quarters / "faers_ascii_2024Q1.zip").read_bytes())
    with pytest.raises(InputError, match="given twice"):
        ingest.ingest([quarters / "faers_ascii_2024Q1.zip", copy], "faers")
    assert ingest.units("faers") == []


def test_a_truncated_zip_leaves_no_unit(quarters: Path, tmp_path: Path, home: Path) -> None:
    broken = tmp_path / "faers_ascii_2024Q1.zip"
    broken.write_bytes((quarters / "faers_ascii_2024Q1.zip").read_bytes()[:-200])
    with pytest.raises(InputError, match="truncated or damaged"):
        ingest.ingest([broken], "faers")
    assert ingest.units("faers") == []
    assert not list(home.rglob("*partial*"))


def test_unknown_columns_are_ignored_and_latin1_is_reported(tmp_path: Path) -> None:
    demo = "primaryid$caseid$caseversion$fda_dt$sex$age$age_cod$new_col\n101$10$1$20240115$F$4$DEC$x\n"
    drug = "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$new_col\n101$10$1$PS$KRATOM CAF\xc9$$x\n"
    reac = "primaryid$caseid$pt\n101$10$Seizure\n"
    path = tmp_path / "q.zip"
    path.write_bytes(_zip({"DEMO24Q3.txt": demo, "DRUG24Q3.txt": drug.encode("latin-1"), "REAC24Q3.txt": reac}))
    report = ingest.ingest([path], "faers").units[0]
    assert report.encodings["DRUG24Q3.TXT"] == "latin-1" and report.encodings["DEMO24Q3.TXT"] == "utf-8"
    assert report.unknown_columns == {"DEMO24Q3.TXT": ["new_col"], "DRUG24Q3.TXT": ["new_col"]}
    assert ingest.ingest([path], "faers").units[0].unknown_columns == report.unknown_columns  # from the manifest
    cases = pl.read_parquet(ingest.source_dir("faers") / "2024Q3" / "cases.parquet")
    assert cases["age_years"][0] == pytest.approx(40.0) and cases["sex"][0] == "F"
    drugs = pl.read_parquet(ingest.source_dir("faers") / "2024Q3" / "drugs.parquet")
    assert drugs["drugname"][0] == "KRATOM CAFÉ"


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.zip"
    path.write_bytes(_zip({"DEMO24Q3.txt": "id$x\n1$2\n", "DRUG24Q3.txt": "a\n", "REAC24Q3.txt": "a\n"}))
    with pytest.raises(InputError, match="not a FAERS/AERS ASCII file") as caught:
        ingest.ingest([path], "faers")
    assert caught.value.field == "column" and caught.value.value == "primaryid"
    assert ingest.units("faers") == []


def test_legacy_aers_quarter_keeps_the_latest_report_of_a_case(tmp_path: Path) -> None:
    """LAERS (2004-2012Q3) has ISR and CASE, no version number: the later FDA receipt wins."""
    demo = (
        "ISR$CASE$I_F_COD$FOLL_SEQ$FDA_DT$GNDR_COD$AGE$AGE_COD\n"
        "5001$700$I$$20110105$M$30$YR\n"
        "5002$700$F$1$20110301$M$30$YR\n"
        "5003$701$I$$20110210$F$51$YR\n"
    )
    drug = "ISR$DRUG_SEQ$ROLE_COD$DRUGNAME\n5001$1$PS$KRATOM\n5002$1$PS$KRATOM\n5003$1$PS$IBUPROFEN\n"
    reac = "ISR$PT\n5001$NAUSEA\n5002$SEIZURE\n5003$RASH\n"
    outc = "ISR$OUTC_COD\n5002$HO\n"
    path = tmp_path / "aers_ascii_2011q1.zip"
    path.write_bytes(
        _zip({"ascii/DEMO11Q1.TXT": demo, "ascii/DRUG11Q1.TXT": drug, "ascii/REAC11Q1.TXT": reac, "OUTC11Q1.TXT": outc})
    )
    report = ingest.ingest([path], "faers").units[0]
    assert (report.name, report.layout) == ("2011Q1", "laers")
    result = scan.scan("faers", methods=("prr",))
    assert (result.summary["reports_read"], result.summary["cases_kept"]) == (3, 2)
    pairs = set(result.table.select("drug", "event").iter_rows())
    assert ("kratom", "SEIZURE") in pairs and ("kratom", "NAUSEA") not in pairs
    outcomes = pl.read_parquet(result.path / "outcomes.parquet")
    assert outcomes.rows() == [("kratom", "HO", "Hospitalization", 1)]


# --- CAERS --------------------------------------------------------------------------------------------------------


def test_caers_export_symptoms_and_outcomes(tmp_path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "RA_Report #",
            "RA_CAERS Created Date",
            "PRI_Product Role",
            "PRI_Reported Brand/Product Name",
            "CI_Age at Adverse Event",
            "CI_Age Unit",
            "CI_Gender",
            "AEC_One Row Outcomes",
            "SYM_One Row Coded Symptoms",
        ]
    )
    writer.writerow(["9001", "03/02/2019", "Suspect", "MAENG DA KRATOM", "34", "Year(s)", "Female",
                     "HOSPITALIZATION, DEATH", "SEIZURE, VOMITING"])  # fmt: skip
    writer.writerow(["9001", "03/02/2019", "Concomitant", "CAFFEINE", "34", "Year(s)", "Female",
                     "HOSPITALIZATION, DEATH", "SEIZURE, VOMITING"])  # fmt: skip
    writer.writerow(["9002", "04/10/2019", "Suspect", "VITAMIN C", "6", "Decade(s)", "Male",
                     "OTHER SERIOUS (IMPORTANT MEDICAL EVENTS)", "RASH"])  # fmt: skip
    path = tmp_path / "caers_export.csv"
    path.write_text(buffer.getvalue())
    unit = ingest.ingest([path], "caers").units[0]
    assert unit.rows["cases"] == 2 and unit.rows["reactions"] == 3
    cases = pl.read_parquet(ingest.source_dir("caers") / unit.name / "cases.parquet").sort("caseid")
    assert cases["age_years"].to_list() == [34.0, 60.0] and cases["sex"].to_list() == ["F", "M"]
    result = scan.scan("caers", methods=("prr",))
    assert ("kratom", "SEIZURE") in set(result.table.select("drug", "event").iter_rows())
    outcomes = pl.read_parquet(result.path / "outcomes.parquet")
    assert sorted(outcomes.select("outcome", "reports").rows()) == [("DE", 1), ("HO", 1)]


def test_caers_without_symptoms_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("RA_Report #,PRI_Reported Brand/Product Name\n1,X\n")
    with pytest.raises(InputError, match="not a CAERS export") as caught:
        ingest.ingest([path], "caers")
    assert caught.value.value == "SYM_One Row Coded Symptoms"


# --- the CLI --------------------------------------------------------------------------------------------------


def test_cli_ingest_then_scan_writes_the_csv_of_the_issue(quarters: Path, tmp_path: Path) -> None:
    done = runner.invoke(app, ["signals", "ingest", str(quarters), "--json"])
    assert done.exit_code == 0, done.output
    assert [u["status"] for u in json.loads(done.output)["units"]] == ["ingested", "ingested"]
    out = tmp_path / "kratom.csv"
    result = runner.invoke(app, ["signals", "scan", "--drug", "kratom", "--out", str(out), "--json", "--top", "2"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["caveat"] == CAVEAT and body["pairs"] > 0 and len(body["signals"]) == 2
    assert set(body["seconds"]) >= {"dedup", "count", "prr", "ror", "ic", "write"}
    written = pl.read_csv(out)
    assert written.columns == OUT_COLUMNS
    assert written.height > 0 and set(written["drug"].to_list()) == {"kratom"}


def test_cli_scan_with_a_path_ingests_it_first(tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    result = runner.invoke(
        app, ["signals", "scan", str(CAERS), "--format", "openebgm", "--as-reported", "--out", str(out), "--top", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "REUMOFAN" in result.output and "causation" in result.output
    assert pl.read_csv(out).height == 17189


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["signals", "scan", "--format", "xml"], "format"),
        (["signals", "scan", "--format", "caers"], "format"),
        (["signals", "scan", "--format", "openebgm", str(CAERS), "--stratify", "weight"], "stratify"),
        (["signals", "scan", "--format", "openebgm", str(CAERS), "--role", "main"], "role"),
        (["signals", "scan", "--format", "openebgm", str(CAERS), "--method", "bayes"], "method"),
        (["signals", "scan", "--format", "openebgm", str(CAERS), "--drug", "nothing-like-it"], "drug"),
        (["signals", "ingest", "/no/such/file.zip"], "file"),
        (["signals", "ingest", str(CAERS), "--format", "caers"], "column"),
    ],
)
def test_cli_bad_input_is_one_error_naming_the_field(args: list[str], field: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"error: {field}=" in result.output and "Traceback" not in result.output


def test_cli_out_must_be_a_file_in_an_existing_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["signals", "scan", str(CAERS), "--format", "openebgm", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "error: out=" in result.output


def test_roles_choose_the_drugs(quarters: Path) -> None:
    ingest.ingest([quarters], "faers")
    counted = {
        role: scan.scan("faers", role=role, methods=("prr",)).table["n"].sum() for role in ("ps", "suspect", "any")
    }
    assert counted["ps"] < counted["suspect"] < counted["any"]
    with pytest.raises(InputError) as problem:
        scan.scan("faers", role="concomitant")
    assert problem.value.field == "role"


def test_generated_quarters_show_the_kratom_signals(quarters: Path) -> None:
    ingest.ingest([quarters], "faers")
    table = scan.scan("faers", role="ps", methods=("prr", "ic")).table
    kratom = table.filter((pl.col("drug") == "kratom") & pl.col("prr_signal")).sort("ic025", descending=True)
    assert set(kratom["event"].head(3).to_list()) == {"WITHDRAWAL SYNDROME", "DRUG DEPENDENCE", "SEIZURE"}


def test_an_unpacked_quarter_folder_keeps_its_deleted_list(tmp_path: Path) -> None:
    """A quarter unzipped as published (``ascii/`` and ``deleted/`` side by side) is one unit with its deleted
    cases; a folder of such folders is one unit per quarter."""
    root = tmp_path / "quarters"
    for q, first in ((1, 1_000_000), (2, 2_000_000)):
        written = faers_synth.quarter(2024, q, cases=40, first_caseid=first, deleted=(1_000_003,) if q == 2 else ())
        folder = root / f"faers_ascii_2024Q{q}"
        with zipfile.ZipFile(io.BytesIO(written.zip)) as archive:
            archive.extractall(folder)
    assert (root / "faers_ascii_2024Q2" / "deleted").is_dir()
    one = ingest.ingest([root / "faers_ascii_2024Q2"], "faers").units
    assert [u.name for u in one] == ["2024Q2"] and one[0].rows["deleted"] == 1
    both = ingest.ingest([root], "faers").units
    assert [(u.name, u.status) for u in both] == [("2024Q1", "ingested"), ("2024Q2", "unchanged")]
    assert scan.scan("faers", methods=("prr",)).summary["deleted_dropped"] == 1


def test_a_folder_without_a_quarter_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "downloads"
    empty.mkdir()
    (empty / "readme.txt").write_text("not FAERS")
    result = runner.invoke(app, ["signals", "ingest", str(empty)])
    assert result.exit_code == 2 and "no FAERS quarter here" in " ".join(result.output.split())


def _quarter_files(demo_name: str = "DEMO24Q3.txt", extra: dict[str, str] | None = None) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        demo_name: "primaryid$caseid$caseversion$fda_dt\n101$10$1$20240815\n",
        "DRUG24Q3.txt": "primaryid$caseid$drug_seq$role_cod$drugname\n101$10$1$PS$KRATOM\n",
        "REAC24Q3.txt": "primaryid$caseid$pt\n101$10$Seizure\n",
    }
    return files | (extra or {})


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (_quarter_files(extra={"REAC24Q4.txt": "primaryid$caseid$pt\n"}), "quarters found: 2024Q3, 2024Q4"),
        (_quarter_files(extra={"sub/DEMO24Q3.txt": "primaryid$caseid$fda_dt\n"}), "two DEMO files in one quarter"),
        ({"DEMO24Q3.txt": "primaryid$caseid$fda_dt\n", "REAC24Q3.txt": "primaryid$pt\n"}, "no DRUGyyQq.txt"),
        (_quarter_files(demo_name="DEMO24Q3.txt", extra={"DEMO24Q3.txt": ""}), "the file is empty"),
    ],
    ids=["two quarters", "two DEMO files", "no DRUG file", "empty DEMO"],
)
def test_a_malformed_quarter_zip_is_refused_and_nothing_stored(
    tmp_path: Path, files: dict[str, str | bytes], message: str
) -> None:
    path = tmp_path / "quarter.zip"
    path.write_bytes(_zip(files))
    with pytest.raises(InputError) as caught:
        ingest.ingest([path], "faers")
    assert caught.value.field == "file" and message in caught.value.message
    assert ingest.units("faers") == []


def test_a_caers_export_with_a_header_and_no_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "caers.csv"
    path.write_text("RA_Report #,PRI_Reported Brand/Product Name,SYM_One Row Coded Symptoms\n")
    with pytest.raises(InputError, match="header but no rows"):
        ingest.ingest([path], "caers")
    assert ingest.units("caers") == []


def test_cli_top_must_not_be_negative() -> None:
    result = runner.invoke(app, ["signals", "scan", str(CAERS), "--format", "openebgm", "--top", "-1", "--json"])
    assert result.exit_code == 2 and json.loads(result.output)["error"]["field"] == "top"
