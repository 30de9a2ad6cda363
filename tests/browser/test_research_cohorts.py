"""The researcher's cohort workspace in a real browser: from the research home to the program's cohorts, the
analysis data refreshed as a background job, a cohort saved from the form, its analysis page with a trajectory
chart that loads (an SVG image served under its own CSP), and a CSV of its numbers downloaded. Every page carries
the observational caveat and no patient code. Pages are screenshotted at 1366 and 390 px and checked with axe-core.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import check_page, login

pytestmark = [pytest.mark.browser]
CAVEAT = "Observational data: these numbers cannot establish efficacy."


def _no_patient_code(page: Any) -> None:
    text = page.content()
    assert "KW-0" not in text and "KW-R" not in text, page.url


def test_researcher_goes_from_home_to_a_cohort_chart_and_downloads_a_csv(
    demo: dict[str, Any],
    live_server: Any,
    browser: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kratomwatch.jobs import worker as jobs_worker

    settings.KRATOMWATCH_REQUIRE_2FA = False
    settings.BASE_DIR = tmp_path
    monkeypatch.setenv("KRATOMWATCH_RESEARCH_SECRET", "browser-research-secret-0001")
    program = demo["patient"].program
    base = live_server.url
    context = browser.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    login(page, base, "researcher")
    assert page.url == f"{base}/research/"
    check_page(page, "research-home-1366")

    with page.expect_navigation():
        page.click(f"#research-cohorts-{program.pk}")
    assert page.url == f"{base}/research/programs/{program.pk}/cohorts/"
    assert CAVEAT in page.inner_text("#caveat")
    check_page(page, "research-cohorts-empty-1366")

    # Refresh the analysis data: a background job, run here by the worker as `kratomwatch worker` would. The browser
    # demo is small (no research cohort), so k = 2 leaves groups to filter on.
    page.fill("#f-k", "2")
    with page.expect_navigation():
        page.click("#refresh-snapshot")
    assert "/program/jobs/" in page.url
    assert jobs_worker.run(burst=True, schedule=False).tasks_run >= 1
    page.wait_for_selector("#snapshot-ready", timeout=60_000)
    with page.expect_navigation():
        page.click("#back-to-cohorts")
    with page.expect_navigation():
        page.click(f"#research-cohorts-{program.pk}")
    assert "Analysis data as of" in page.inner_text("#snapshot-status")

    # A cohort from the form: a bad number first (shown next to its field), then a good one.
    # The browser demo's few participants are all generalised away at any k, so the condition boxes say so and
    # the cohort is everyone enrolled from a year on (the year filter needs no generalised level).
    assert "No values yet" in page.inner_text("#f-conditions") or page.locator("#f-conditions input").count()
    page.fill("#f-name", "Everyone enrolled")
    page.fill("#f-enrolled_from_year", "2000")
    page.fill("#f-exposure_min_mg", "-5")
    with page.expect_navigation():
        page.click("#save-cohort")
    assert "a dose cannot be negative" in page.inner_text("#f-exposure_min_mg-error")
    assert page.input_value("#f-enrolled_from_year") == "2000"  # the other fields kept
    check_page(page, "research-cohort-form-error-1366")
    page.fill("#f-exposure_min_mg", "")
    with page.expect_navigation():
        page.click("#save-cohort")
    assert "/research/cohorts/" in page.url
    assert CAVEAT in page.inner_text("#caveat")
    assert "2000" in page.inner_text("#definition")

    # A trajectory chart is drawn: the SVG image loads (its own CSP allows its styles, no script).
    chart = page.locator("#trajectories figure img").first
    chart.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle(), timeout=60_000)
    _no_patient_code(page)
    check_page(page, "research-cohort-detail-1366")

    # The numbers as CSV.
    page.click("#stamp details summary")
    with page.expect_download() as info:
        page.click("#csv-trajectories")
    saved = tmp_path / "trajectories.csv"
    info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows and {"instrument", "week", "mean", "suppressed"} <= set(rows[0])
    assert any(r["instrument"] == "peg" and r["mean"] for r in rows)

    # The same page at phone width: no sideways scroll of the page (tables scroll inside their wrappers).
    phone = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True, is_mobile=True)
    phone.set_default_timeout(20_000)
    small = phone.new_page()
    login(small, base, "researcher")
    small.goto(page.url)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(small, "research-cohort-detail-390")
    phone.close()
    context.close()
