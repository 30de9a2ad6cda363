"""The researcher's surveillance page in a real browser with JavaScript off, on a small analysis written by hand
under a temporary KRATOMWATCH_HOME: reached from the research home, the caveat first, a filter and a column sort
applied by plain GET, and at 1366 and 390 px no sideways scroll (screenshots kept). Also the page before any
analysis exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import NARROW, SCREENSHOTS, WIDE, login
from tests.surveillance.analysis_fixture import write_analysis

pytestmark = [pytest.mark.browser]


def _both_widths(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1366", WIDE), ("390", NARROW)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], (name, label, width)
        assert page.locator("h1").count() == 1
    page.set_viewport_size(WIDE)


def test_researcher_reads_filters_and_sorts_the_signals(
    demo: dict[str, Any], live_server: Any, browser: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    base = live_server.url
    context = browser.new_context(viewport=WIDE, java_script_enabled=False)
    context.set_default_timeout(20_000)
    page = context.new_page()
    login(page, base, "researcher")
    page.goto(f"{base}/research/surveillance/")
    assert page.locator("#no-analysis").count() == 1
    _both_widths(page, "surveillance-none")

    write_analysis(tmp_path)
    page.goto(f"{base}/research/")
    with page.expect_navigation():
        page.click("#research-surveillance")
    assert "Spontaneous adverse-event reports cannot establish" in page.inner_text("#caveat")
    assert page.locator("#signal-table tbody tr").count() == 25
    assert page.locator("#scatter svg[role=img]").count() == 2  # wide and narrow, one shown by CSS
    _both_widths(page, "surveillance")

    page.check("#f-signals_only")
    with page.expect_navigation():
        page.click("#signal-filters button[type=submit]")
    assert "signals_only=1" in page.url
    flagged = page.locator("#signal-table tbody tr").count()
    assert 0 < flagged <= 25
    with page.expect_navigation():
        page.click("#signal-table thead a:text-is('Event')")
    assert "sort=event" in page.url and "signals_only=1" in page.url
    events = page.locator("#signal-table tbody th").all_inner_texts()
    assert events == sorted(events) and len(events) == flagged
    context.close()


def test_the_surveillance_page_has_no_axe_violation(
    demo: dict[str, Any], live_server: Any, desktop: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """axe-core, every impact, on the page with an analysis (tables, both charts, details) as the researcher."""
    from tests.browser.test_shell import axe_violations

    settings.KRATOMWATCH_REQUIRE_2FA = False
    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    write_analysis(tmp_path)
    page = desktop.new_page()
    login(page, live_server.url, "researcher")
    page.goto(f"{live_server.url}/research/surveillance/")
    assert page.locator("#signal-table tbody tr").count() > 0
    assert axe_violations(page, "surveillance") == []
    page.set_viewport_size(NARROW)
    assert axe_violations(page, "surveillance-390") == []
