"""The researcher's surveillance page ``/research/surveillance/`` (web/surveillance.py) on a small analysis written
by hand under a temporary KRATOMWATCH_HOME: researchers and staff only (clinicians and patients get the styled
403), the caveat first, provenance, the signals table with its GET filters, sortable headers and pages, the charts
with their text alternatives, and the "no analysis yet" page with the commands that make one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kratomwatch.surveillance import CAVEAT
from tests.surveillance.analysis_fixture import write_analysis

pytestmark = pytest.mark.django_db
URL = "/research/surveillance/"


@pytest.fixture(autouse=True)
def home(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.KRATOMWATCH_REQUIRE_2FA = False
    settings.KRATOMWATCH_SWEEP_ZONE = "America/Chicago"
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def rita(world: Any, system: Any) -> Client:
    from kratomwatch.accounts.actions import create_user

    user, _ = create_user(
        actor=system, username="rita", password="pw-rita-123456", role="researcher", program_slug="pain"
    )
    client = Client()
    client.force_login(user)
    return client


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_no_analysis_yet_says_how_to_make_one(rita: Client) -> None:
    response = rita.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="no-analysis"' in html and 'id="caveat"' in html
    assert "kratomwatch signals ingest DIR --format faers" in html
    assert "kratomwatch signals scan --format faers" in html
    assert html.count("<h1") == 1


def test_an_incomplete_analysis_is_not_shown(rita: Client, home: Path) -> None:
    write_analysis(home, summary=False)
    assert 'id="no-analysis"' in rita.get(URL).content.decode()


@pytest.mark.parametrize("persona", ["alice", "carol", "admin"])
def test_clinicians_and_patients_get_the_styled_403(world: Any, home: Path, persona: str) -> None:
    write_analysis(home)
    response = _as(getattr(world, persona)).get(URL)
    assert response.status_code == 403
    assert "This page is for researchers." in response.content.decode()


def test_anonymous_goes_to_login() -> None:
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_staff_may_view(world: Any, home: Path) -> None:
    write_analysis(home)
    assert _as(world.staff).get(URL).status_code == 200


def test_the_page_shows_caveat_provenance_table_and_charts(rita: Client, home: Path) -> None:
    write_analysis(home)
    response = rita.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index('id="caveat"') < html.index('id="provenance"') < html.index('id="signal-table"')
    assert CAVEAT[:60] in html
    for bias in ("Stimulated reporting", "Duplicates", "Co-reported products", "Confounding by indication"):
        assert bias in html
    assert "No denominator" in html
    # provenance: counts, quarters, the prior, the time in the clinic's zone with the zone named
    assert "1,234,567" in html and "1,002,003" in html and "210,000" in html and "1,234" in html
    assert "2023Q1 to 2024Q4" in html and "alpha1 0.2041" in html
    assert "Mon 30 Nov 2026, 12:45 CST (America/Chicago)" in html
    # the table: 25 rows of kratom, the highest EB05 first, pages
    table = html[html.index('id="signal-table"') : html.index("</table>", html.index('id="signal-table"'))]
    assert table.count("<tr") == 26
    assert 'aria-sort="descending"' in table and "Drug dependence" in table
    assert 'rel="next"' in html and "page 1 of 2" in html
    # the charts: inline SVG with aria-labels carrying the numbers, and tables beside them
    assert html.count('role="img"') >= 5
    assert re.search(r'aria-label="[^"]*30 events plotted by number of reports', html)
    assert "EB05 = 2" in html and "IC = 0" in html
    assert 'id="trend-table"' in html and "2024Q4" in html
    assert "Drug dependence" in html[html.index('id="f-trend"') :]
    for words in ("FENTANYL", "Hospitalization", "Death", "455", "8,765", "OPMS GOLD"):
        assert words in html, words
    assert "<script" not in html and " style=" not in html


def test_numbers_infinity_and_null(rita: Client, home: Path) -> None:
    write_analysis(home)
    html = rita.get(URL + "?sort=prr&order=desc").content.decode()
    first_row = html[html.index("<tbody>", html.index('id="signal-table"')) :].split("</tr>", 1)[0]
    assert "Withdrawal syndrome" in first_row and "∞" in first_row
    html = rita.get(URL + "?event=respiratory").content.decode()
    row = html[html.index("<tbody>", html.index('id="signal-table"')) :].split("</tr>", 1)[0]
    assert "Respiratory depression" in row and "—" in row
    assert re.search(r"<td class=\"num\">\d+\.\d\d</td>", row)


def test_filters_sort_and_pages(rita: Client, home: Path) -> None:
    write_analysis(home)
    page2 = rita.get(URL + "?page=2").content.decode()
    assert "page 2 of 2" in page2 and 'rel="prev"' in page2 and 'rel="next"' not in page2
    only = rita.get(URL + "?signals_only=1&min_n=5").content.decode()
    count = re.search(r'id="signal-count" role="status">(\d+) of 30', only)
    assert count is not None and 0 < int(count.group(1)) < 30
    assert 'name="signals_only" id="f-signals_only" value="1" checked' in only
    by_event = rita.get(URL + "?sort=event&order=asc").content.decode()
    assert 'aria-sort="ascending"' in by_event
    body = by_event[by_event.index("<tbody>", by_event.index('id="signal-table"')) :]
    assert body.index("Abdominal pain") < body.index("Agitation")
    # a header link keeps the filters and flips the order of the current column
    assert "?product=kratom&amp;sort=event&amp;order=desc" in by_event
    seven = rita.get(URL + "?product=seven_oh").content.decode()
    assert "3 of 3 events of 7-OH" in seven and "KRATOM" in seven


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("min_n=lots", "min_n"),
        ("sort=drug", "sort"),
        ("order=sideways", "order"),
        ("product=aspirin", "product"),
        ("page=0", "page"),
        ("signals_only=maybe", "signals_only"),
        ("analysis=nope", "analysis"),
        ("trend=Rash", "trend"),
    ],
)
def test_a_bad_filter_is_shown_by_its_field_with_400(rita: Client, home: Path, query: str, field: str) -> None:
    write_analysis(home)
    response = rita.get(f"{URL}?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="errors"' in html and f'href="#f-{field}"' in html
    assert 'id="signal-table"' in html  # the rest of the page still shows


def test_analysis_selector_when_there_are_several(rita: Client, home: Path) -> None:
    write_analysis(home)
    write_analysis(home, "faers-any", ebgm=False)
    html = rita.get(URL + "?analysis=faers-any").content.decode()
    assert 'id="f-analysis"' in html and '<option value="faers-any" selected>' in html
    assert "not fitted" in html and "IC025 against the number of reports" in html


def test_menu_and_research_home_link_the_page(rita: Client) -> None:
    html = rita.get("/research/").content.decode()
    assert 'id="research-surveillance"' in html and f'href="{URL}"' in html
    assert '<a href="/research/surveillance/">Surveillance</a>' in html


def test_synthetic_demo_data_is_said_and_published_data_comes_first(rita: Client, home: Path) -> None:
    write_analysis(home, "demo-synthetic-faers", synthetic=True)
    html = rita.get(URL).content.decode()
    assert 'id="synthetic"' in html and "Synthetic demo data." in html
    write_analysis(home, "faers-ps")
    html = rita.get(URL).content.decode()
    assert 'id="synthetic"' not in html and '<option value="faers-ps" selected>' in html
    assert "demo-synthetic-faers (synthetic demo data)" in html
    html = rita.get(URL + "?analysis=demo-synthetic-faers").content.decode()
    assert 'id="synthetic"' in html
