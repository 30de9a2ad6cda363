"""``surveillance.views``: an analysis directory (written by hand with the contract's columns) read as plain rows;
the signal filters, sort and pages; bad values named by field; no analysis (or one without summary.json) is
``NoAnalysis`` with the commands that make one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.surveillance import CAVEAT
from kratomwatch.surveillance import views as sv
from tests.surveillance.analysis_fixture import write_analysis


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    return tmp_path


def test_no_analysis_yet_says_how_to_make_one(home: Path) -> None:
    assert sv.analyses() == []
    with pytest.raises(sv.NoAnalysis) as missing:
        sv.load("faers-ps")
    assert isinstance(missing.value, NotFound) and missing.value.field == "analysis"
    assert "kratomwatch signals ingest DIR --format faers" in missing.value.message
    assert "kratomwatch signals scan --format faers" in missing.value.message
    write_analysis(home, "half-written", summary=False)  # the Parquet files are there, summary.json not yet
    assert sv.analyses() == []
    with pytest.raises(sv.NoAnalysis):
        sv.load("half-written")
    for bad in ("../etc", "", "a/b", "x" * 101):
        with pytest.raises(InputError) as named:
            sv.load(bad)
        assert named.value.field == "analysis" and not isinstance(named.value, NotFound)


def test_an_analysis_is_listed_with_its_summary(home: Path) -> None:
    write_analysis(home)
    write_analysis(home, "faers-any", ebgm=False)
    found = sv.analyses()
    assert {a.name for a in found} == {"faers-ps", "faers-any"}
    analysis = sv.load("faers-ps")
    assert analysis.caveat == CAVEAT and analysis.has_ebgm and analysis.score == "eb05"
    assert analysis.created_at is not None and analysis.created_at.utcoffset() is not None
    assert analysis.products == ["kratom", "seven_oh", "mitragynine_pseudoindoxyl"]
    assert sv.load("faers-any").score == "ic025"


def test_signals_filter_sort_and_page(home: Path) -> None:
    write_analysis(home)
    analysis = sv.load("faers-ps")
    first = sv.signals(analysis, sv.parse_query({}))
    assert first.pairs == 30 and first.total == 30 and first.pages == 2 and len(first.rows) == 25
    assert {r["drug"] for r in first.rows} == {"kratom"}
    eb05 = [r["eb05"] for r in first.rows]
    assert eb05 == sorted(eb05, reverse=True)
    second = sv.signals(analysis, sv.parse_query({"page": "2"}))
    assert len(second.rows) == 5 and not {r["event"] for r in second.rows} & {r["event"] for r in first.rows}
    assert sv.signals(analysis, sv.parse_query({"page": "3"})).rows == []

    by_event = sv.signals(analysis, sv.parse_query({"sort": "event", "page_size": "100"}))
    names = [r["event"] for r in by_event.rows]
    assert names == sorted(names)
    by_prr = sv.signals(analysis, sv.parse_query({"sort": "prr", "order": "desc"}))
    assert by_prr.rows[0]["event"] == "Withdrawal syndrome" and math.isinf(by_prr.rows[0]["prr"])
    by_ror = sv.signals(analysis, sv.parse_query({"sort": "ror", "order": "asc", "page_size": "100"}))
    assert by_ror.rows[-1]["ror"] is None  # nulls last whatever the order

    contains = sv.signals(analysis, sv.parse_query({"event": "HEPAT"}))
    assert [r["event"] for r in contains.rows] == ["Hepatitis cholestatic"]
    many = sv.signals(analysis, sv.parse_query({"min_n": "100"}))
    assert many.total > 0 and all(r["n"] >= 100 for r in many.rows)
    only = sv.signals(analysis, sv.parse_query({"signals_only": "true", "page_size": "100"}))
    assert 0 < only.total < 30 and all(r["eb05"] >= 2 for r in only.rows)
    seven = sv.signals(analysis, sv.parse_query({"product": "seven_oh"}))
    assert seven.pairs == 3 and {r["drug"] for r in seven.rows} == {"seven_oh"}
    assert sv.signals(analysis, sv.parse_query({"product": "mitragynine_pseudoindoxyl"})).pairs == 0


def test_signals_only_uses_ic025_when_the_prior_was_not_fitted(home: Path) -> None:
    write_analysis(home, "no-fit", ebgm=False)
    analysis = sv.load("no-fit")
    only = sv.signals(analysis, sv.parse_query({"signals_only": "1", "page_size": "100"}, default_sort="ic025"))
    assert only.total > 0 and all(r["ebgm"] is None and r["ic025"] > 0 for r in only.rows)
    points = sv.scatter_points(analysis, "kratom")
    assert points and all(p["score"] == p["score"] for p in points)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"product": "aspirin"}, "product"),
        ({"min_n": "many"}, "min_n"),
        ({"min_n": "0"}, "min_n"),
        ({"signals_only": "perhaps"}, "signals_only"),
        ({"sort": "drug; drop"}, "sort"),
        ({"order": "up"}, "order"),
        ({"page": "0"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page_size": "100000"}, "page_size"),
        ({"event": "x" * 201}, "event"),
    ],
)
def test_bad_filters_name_the_field_and_value(params: dict[str, str], field: str) -> None:
    with pytest.raises(InputError) as bad:
        sv.parse_query(params)
    assert bad.value.field == field
    assert field in bad.value.message


def test_trend_years_outcomes_coreported(home: Path) -> None:
    write_analysis(home)
    analysis = sv.load("faers-ps")
    assert sv.trend_events(analysis, "kratom")[0] == "Drug dependence"  # the highest EB05 with a trend
    assert sv.default_event(analysis, "kratom") == "Drug dependence"
    rows = sv.trend(analysis, "kratom", "Seizure")
    assert [r["period"] for r in rows] == sorted(r["period"] for r in rows) and len(rows) == 8
    assert all(r["ic025"] <= r["ic"] <= r["ic975"] for r in rows)
    assert sv.trend(analysis, "kratom", "Rash") == []
    assert sv.default_event(analysis, "mitragynine_pseudoindoxyl") is None
    assert [y["year"] for y in sv.years(analysis, "kratom")] == [2021, 2022, 2023, 2024]
    outcomes = sv.outcomes(analysis, "kratom")
    assert outcomes[0] == {"outcome": "OT", "label": "Other serious", "reports": 402}
    assert {"outcome": "DE", "label": "Death", "reports": 211} in outcomes
    assert sv.coreported(analysis, "kratom")[0] == {"drug": "FENTANYL", "reports": 120}
    assert sv.years(analysis, "mitragynine_pseudoindoxyl") == []
    with pytest.raises(InputError) as bad:
        sv.years(analysis, "ibuprofen")
    assert bad.value.field == "product"


def test_a_missing_table_reads_as_empty(home: Path) -> None:
    folder = write_analysis(home)
    (folder / "coreported.parquet").unlink()
    (folder / "trend.parquet").write_bytes(b"not parquet")
    analysis = sv.load("faers-ps")
    assert sv.coreported(analysis, "kratom") == []
    assert sv.trend_events(analysis, "kratom") == []
