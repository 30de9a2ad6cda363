"""``/api/v1/surveillance/...`` (api/surveillance.py) on a small analysis written by hand under a temporary
KRATOMWATCH_HOME: researchers and staff only (403 for a clinician or a patient, 401 anonymous), the caveat in every
answer, filters/sort/pages, a bad parameter a 400 naming it in the one error shape, and no analysis yet a 404 that
says how to make one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kratomwatch.surveillance import CAVEAT
from tests.surveillance.analysis_fixture import write_analysis

pytestmark = pytest.mark.django_db
BASE = "/api/v1/surveillance/analyses"


@pytest.fixture(autouse=True)
def home(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.KRATOMWATCH_REQUIRE_2FA = False
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def tokens(world: Any, system: Any) -> dict[str, str]:
    from kratomwatch.accounts.actions import create_user, issue_token

    rita, _ = create_user(
        actor=system, username="rita", password="pw-rita-123456", role="researcher", program_slug="pain"
    )
    return {**world.tokens, "rita": issue_token(actor=system, user=rita, name="t")}


def assert_error(response: Any, status: int, field: str) -> None:
    """The one error shape (api/app.py), naming ``field``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["field"] == field, body


def _get(tokens: dict[str, str], who: str, url: str) -> Any:
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {tokens[who]}")


def test_no_analysis_yet(tokens: dict[str, str]) -> None:
    listed = _get(tokens, "rita", BASE)
    assert listed.status_code == 200
    body = listed.json()
    assert body["analyses"] == [] and body["caveat"] == CAVEAT
    assert "kratomwatch signals ingest DIR --format faers" in body["message"]
    missing = _get(tokens, "rita", f"{BASE}/faers-ps/signals")
    assert_error(missing, 404, "analysis_slug")
    assert "kratomwatch signals scan --format faers" in missing.json()["error"]["message"]


@pytest.mark.parametrize(("who", "status"), [("rita", 200), ("root", 200), ("alice", 403), ("carol", 403), ("pa", 403)])
def test_roles(tokens: dict[str, str], home: Path, who: str, status: int) -> None:
    write_analysis(home)
    for path in (
        "",
        "/faers-ps/signals",
        "/faers-ps/trend",
        "/faers-ps/years",
        "/faers-ps/outcomes",
        "/faers-ps/coreported",
    ):
        response = _get(tokens, who, BASE + path)
        assert response.status_code == status, (path, response.content)
        if status == 403:
            assert set(response.json()["error"]) == {"code", "message", "field"}


def test_anonymous_is_401(home: Path) -> None:
    write_analysis(home)
    assert Client().get(BASE).status_code == 401


def test_every_answer_carries_the_caveat(tokens: dict[str, str], home: Path) -> None:
    write_analysis(home)
    listed = _get(tokens, "rita", BASE).json()
    assert listed["caveat"] == CAVEAT and listed["analyses"][0]["name"] == "faers-ps"
    assert listed["analyses"][0]["cases_kept"] == 1_002_003 and listed["analyses"][0]["score"] == "eb05"
    assert listed["analyses"][0]["synthetic"] is False
    for path in ("signals", "trend", "years", "outcomes", "coreported"):
        body = _get(tokens, "rita", f"{BASE}/faers-ps/{path}?product=seven_oh").json()
        assert body["caveat"] == CAVEAT and body["product"] == "seven_oh", path
        assert body["rows"], path


def test_signals_filters_sort_pages_and_infinity(tokens: dict[str, str], home: Path) -> None:
    write_analysis(home)
    first = _get(tokens, "rita", f"{BASE}/faers-ps/signals").json()
    assert first["total"] == 30 and first["pages"] == 2 and len(first["rows"]) == 25 and first["score"] == "eb05"
    eb05 = [r["eb05"] for r in first["rows"]]
    assert eb05 == sorted(eb05, reverse=True)
    by_prr = _get(tokens, "rita", f"{BASE}/faers-ps/signals?sort=prr&order=desc&page_size=3").json()
    assert by_prr["rows"][0]["prr"] == "Infinity" and len(by_prr["rows"]) == 3
    found = _get(tokens, "rita", f"{BASE}/faers-ps/signals?event=respiratory").json()
    assert found["total"] == 1 and found["rows"][0]["ror"] is None
    only = _get(tokens, "rita", f"{BASE}/faers-ps/signals?signals_only=true&min_n=5&page_size=100").json()
    assert 0 < only["total"] < 30 and all(r["eb05"] >= 2 and r["n"] >= 5 for r in only["rows"])
    assert only["filters"] == {"event": "", "min_n": 5, "signals_only": True, "sort": "eb05", "order": "desc"}
    page2 = _get(tokens, "rita", f"{BASE}/faers-ps/signals?page=2").json()
    assert len(page2["rows"]) == 5 and page2["page"] == 2


def test_ic025_ranks_without_an_ebgm_prior(tokens: dict[str, str], home: Path) -> None:
    write_analysis(home, "no-fit", ebgm=False)
    body = _get(tokens, "rita", f"{BASE}/no-fit/signals").json()
    assert body["score"] == "ic025" and body["filters"]["sort"] == "ic025"
    assert all(r["ebgm"] is None for r in body["rows"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("signals?min_n=lots", "min_n"),
        ("signals?sort=drug", "sort"),
        ("signals?order=up", "order"),
        ("signals?page=0", "page"),
        ("signals?page_size=9999", "page_size"),
        ("signals?signals_only=maybe", "signals_only"),
        ("signals?product=aspirin", "product"),
        ("trend?event=Rash", "event"),
        ("years?product=ibuprofen", "product"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(tokens: dict[str, str], home: Path, query: str, field: str) -> None:
    write_analysis(home)
    response = _get(tokens, "rita", f"{BASE}/faers-ps/{query}")
    assert_error(response, 400, field)


def test_a_bad_name_is_a_400_and_an_unknown_one_a_404(tokens: dict[str, str], home: Path) -> None:
    write_analysis(home)
    assert_error(_get(tokens, "rita", f"{BASE}/.hidden/years"), 400, "analysis_slug")
    assert_error(_get(tokens, "rita", f"{BASE}/nope/years"), 404, "analysis_slug")


def test_trend_defaults_to_the_highest_event(tokens: dict[str, str], home: Path) -> None:
    write_analysis(home)
    body = _get(tokens, "rita", f"{BASE}/faers-ps/trend").json()
    assert body["event"] == "Drug dependence" and body["events"][0] == "Drug dependence"
    assert len(body["rows"]) == 8 and {"period", "n_cum", "ic", "ic025", "ic975"} <= set(body["rows"][0])
    seizure = _get(tokens, "rita", f"{BASE}/faers-ps/trend?event=Seizure").json()
    assert seizure["event"] == "Seizure" and len(seizure["rows"]) == 8
