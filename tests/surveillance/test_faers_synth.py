"""The FAERS-format generator at scale: the published column layouts (FAERS and legacy AERS), one primary suspect
per report, follow-up versions, deleted cases, malformed lines and Latin-1 names as asked, determinism, and a
disproportionality structure the Gamma-Poisson Shrinker's prior can be fitted to."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kratomwatch.core import disproportionality as dp
from kratomwatch.surveillance import faers_synth, openebgm
from tests.surveillance import faers_reference as faers


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, separator="$", quote_char=None, infer_schema=False, encoding="utf8-lossy")


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_faers_layout_seven_files_with_the_published_columns(tmp_path: Path) -> None:
    written = faers_synth.write_quarter(tmp_path, 2024, 1, cases=3000, first_caseid=5_000_000, seed=3)
    assert written.path == tmp_path / "faers_ascii_2024Q1" and written.name == "24Q1"
    for kind, columns in faers_synth.FAERS_COLUMNS.items():
        path = written.path / "ascii" / f"{kind}24Q1.txt"
        assert path.read_text().splitlines()[0] == "$".join(columns)
        assert _read(path).height == written.rows[kind]
    demo = _read(written.path / "ascii" / "DEMO24Q1.txt")
    assert demo.height == 3000 and demo["caseid"].n_unique() == 3000
    # primaryid = caseid followed by the version; dates in the quarter; codes from the published lists.
    assert (demo["primaryid"] == demo["caseid"] + demo["caseversion"]).all()
    assert demo["fda_dt"].min() >= "20240101" and demo["fda_dt"].max() <= "20240331"  # type: ignore[operator]
    assert set(demo["sex"].fill_null("").unique()) <= {"F", "M", "UNK", ""}
    assert set(demo["age_cod"].fill_null("").unique()) <= {"YR", "DEC", "MON", ""}
    outc = _read(written.path / "ascii" / "OUTC24Q1.txt")
    assert set(outc["outc_cod"].unique()) <= {"DE", "LT", "HO", "DS", "CA", "RI", "OT"}
    assert outc.group_by("primaryid").len()["len"].max() <= 2  # type: ignore[operator]


def test_legacy_aers_layout_is_isr_based_with_upper_case_headers(tmp_path: Path) -> None:
    written = faers_synth.write_quarter(tmp_path, 2010, 2, cases=500, first_caseid=6_000_000, layout="laers")
    assert written.path.name == "aers_ascii_2010Q2"
    for kind, columns in faers_synth.LAERS_COLUMNS.items():
        header = (written.path / "ascii" / f"{kind}10Q2.TXT").read_text().splitlines()[0]
        assert header == "$".join(name for _, name in columns)
    demo = _read(written.path / "ascii" / "DEMO10Q2.TXT")
    drug = _read(written.path / "ascii" / "DRUG10Q2.TXT")
    assert demo.columns[:4] == ["ISR", "CASE", "I_F_COD", "FOLL_SEQ"] and "GNDR_COD" in demo.columns
    assert drug.join(demo, on="ISR", how="anti").height == 0


def test_one_primary_suspect_per_report_and_faers_like_row_counts(tmp_path: Path) -> None:
    written = faers_synth.write_quarter(tmp_path, 2020, 3, cases=20_000, first_caseid=7_000_000, seed=4)
    drug = _read(written.path / "ascii" / "DRUG20Q3.txt")
    reac = _read(written.path / "ascii" / "REAC20Q3.txt")
    ps = drug.filter(pl.col("role_cod") == "PS").group_by("primaryid").len()
    assert ps.height == 20_000 and (ps["len"] == 1).all()
    assert set(drug["role_cod"].unique()) == {"PS", "SS", "C", "I"}
    assert 3.6 < drug.height / 20_000 < 4.4  # FAERS: about 80M drug rows for 20M reports
    assert 2.6 < reac.height / 20_000 < 3.3
    assert reac.group_by("primaryid", "pt").len()["len"].max() == 1
    assert drug["prod_ai"].null_count() == 0
    # Verbatim variants give the name normalisation work: lower case and strengths appended.
    names = drug["drugname"]
    assert names.str.contains(r"^[a-z]").any() and names.str.contains(r" \d+(\.\d+)? ?MG$").any()


def test_versions_deleted_cases_malformed_lines_and_latin1_as_asked(tmp_path: Path) -> None:
    written = faers_synth.write_quarters(
        tmp_path, reports=8000, quarters=4, seed=5, followup_share=0.1, deleted_share=0.01, malformed_per_quarter=3
    )
    assert [w.period for w in written] == ["2013Q1", "2013Q2", "2013Q3", "2013Q4"]
    assert sum(w.reports for w in written) == 8000
    assert [w.followups for w in written] == [0, 200, 200, 200]
    assert [len(w.deleted) for w in written] == [0, 20, 20, 20]
    quarters = faers.read_quarters([w.path for w in written])
    assert all(
        q.rejects.lines[f"DRUG{q.name}.TXT"] == 3 and q.rejects.lines[f"REAC{q.name}.TXT"] == 3 for q in quarters
    )
    assert quarters[3].encodings["DRUG13Q4.TXT"] == "latin-1" and quarters[0].encodings["DRUG13Q1.TXT"] == "utf-8"
    assert written[3].latin1_rows == 5
    ingested = faers.to_openebgm(quarters)
    assert ingested.reports_read == 8000
    assert ingested.versions_dropped == 600  # every follow-up supersedes one earlier version
    deleted = {c for w in written for c in w.deleted}
    assert ingested.deleted_dropped == len(deleted)
    assert ingested.cases_kept == 8000 - 600 - len(deleted)


def test_follow_up_versions_and_deleted_list_of_one_quarter(tmp_path: Path) -> None:
    followups = np.asarray([[1_000_000, 2], [1_000_001, 3]])
    written = faers_synth.write_quarter(
        tmp_path, 2024, 2, cases=100, first_caseid=2_000_000, followups_of=followups, deleted=np.asarray([1_000_005])
    )
    demo = _read(written.path / "ascii" / "DEMO24Q2.txt")
    row = demo.filter(pl.col("caseid") == "1000001").row(0, named=True)
    assert (row["primaryid"], row["caseversion"], row["i_f_code"]) == ("10000013", "3", "F")
    assert (written.path / "deleted" / "DELETE24Q2.txt").read_text() == "1000005\n"
    assert written.reports == 102 and written.deleted == (1_000_005,)


def test_deterministic_for_a_seed_and_the_zip_holds_the_same_files(tmp_path: Path) -> None:
    first = faers_synth.write_quarters(tmp_path / "a", reports=3000, quarters=2, seed=9)
    again = faers_synth.write_quarters(tmp_path / "b", reports=3000, quarters=2, seed=9)
    faers_synth.write_quarters(tmp_path / "c", reports=3000, quarters=2, seed=10)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert [w.rows for w in first] == [w.rows for w in again]
    zipped = faers_synth.write_quarters(tmp_path / "z", reports=3000, quarters=2, seed=9, zip=True)
    assert zipped[1].path.name == "faers_ascii_2013Q2.zip"
    with zipfile.ZipFile(zipped[1].path) as archive:
        assert archive.read("ascii/DRUG13Q2.txt") == (first[1].path / "ascii" / "DRUG13Q2.txt").read_bytes()
        assert "deleted/DELETE13Q2.txt" in archive.namelist()
    assert faers.read_quarter(zipped[1].path).drug.height == faers.read_quarter(first[1].path).drug.height


def test_the_gps_prior_fits_and_kratom_stands_out(tmp_path: Path) -> None:
    written = faers_synth.write_quarters(tmp_path, reports=120_000, quarters=3, seed=1, kratom_share=0.002)
    ingested = faers.to_openebgm(faers.read_quarters([w.path for w in written]), role="ps")
    counts = openebgm.count_pairs(ingested.rows)
    assert counts.height > 100_000
    n, e = counts["N"].to_numpy().astype(float), counts["E"].to_numpy()
    squashed = dp.auto_squash(n, e)
    fit = dp.fit_gps(squashed.n, squashed.e, squashed.weight)
    assert fit.num_close >= 2
    # Most pairs near independence (the larger component's mean near 1), a smaller and wider component: the shape of
    # DuMouchel's FDA prior (P 0.1).
    big, small = sorted(
        [(fit.p, fit.alpha1 / fit.beta1, fit.alpha1), (1 - fit.p, fit.alpha2 / fit.beta2, fit.alpha2)], reverse=True
    )
    assert big[0] > 0.7 and 0.7 < big[1] < 1.3 and small[2] < big[2]
    scores = dp.gps_scores(fit.theta, n, e)
    kratom = counts.with_columns(pl.Series("eb05", dp.posterior_quantile(0.05, fit.theta, n, e, scores.qn)))
    kratom = kratom.filter(pl.col("var1").str.to_uppercase().str.contains("KRATOM|MITRAG"))
    top = kratom.group_by("var2").agg(pl.col("eb05").max()).sort("eb05", descending=True).head(6)
    assert set(top["var2"]) & set(faers_synth.WATCHED_EVENTS) and top["eb05"][0] > 2


@pytest.mark.parametrize("bad", [{"layout": "csv"}])
def test_an_unknown_layout_is_refused(tmp_path: Path, bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="layout"):
        faers_synth.write_quarter(tmp_path, 2024, 1, cases=10, first_caseid=1, **bad)  # type: ignore[arg-type]
