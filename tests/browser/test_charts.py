"""Charts that do not mislead, in a real browser: the dashboard's shared scale and 7-OH column, the patient page's
planned taper steps, the patient's own chart readable on a 390 px phone, each with its numbers as a table; axe-core
finds no serious or critical violation on these pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import check_page, clinician_login, login

#: The smallest on-screen size of the chart text (SVG font size times the rendered scale), in CSS pixels.
SMALLEST_CHART_TEXT = """() => {
  const svg = document.querySelector('.pt-chart svg, figure.timeline svg');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return parseFloat(svg.getAttribute('font-size')) * scale;
}"""


@pytest.fixture
def phone390(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, bypass_csp=True
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


def test_patient_chart_is_readable_on_a_phone_and_has_its_numbers(
    demo: dict[str, Any], live_server: Any, phone390: Any
) -> None:
    page = phone390.new_page()
    login(page, live_server.url, "patient")
    page.goto(f"{live_server.url}/me/")
    chart = page.locator(".pt-chart svg")
    assert "mg mitragynine (mg/day): latest" in (chart.get_attribute("aria-label") or "")
    assert page.evaluate(SMALLEST_CHART_TEXT) >= 11
    assert "planned" in chart.inner_html()  # KW-001's demo care plan has taper steps ahead
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click(".pt-chart details summary")
    assert page.locator(".pt-chart details table tbody tr").count() > 0
    assert "(planned)" in page.inner_text("#plan-h ~ ul, section[aria-labelledby=plan-h]")
    check_page(page, "charts-patient-me-390")
    page.close()


def test_dashboard_and_patient_page_charts(demo: dict[str, Any], live_server: Any, desktop: Any) -> None:
    page = desktop.new_page()
    clinician_login(page, live_server.url, "clinician", demo["devices"]["clinician"])
    page.goto(f"{live_server.url}/clinic/")
    header = page.inner_text("table.dashboard thead")
    assert "7-OH mg/day" in header and "Today so far" in header and "scale 0" in header
    scales = {
        s.get_attribute("aria-label").split("shared scale ")[1].split(";")[0]
        for s in page.locator("td.spark svg").all()
    }
    assert len(scales) == 1  # every row on one scale
    check_page(page, "charts-dashboard")
    page.goto(f"{live_server.url}/clinic/patients/KW-001/")
    timeline = page.locator("figure.timeline svg")
    assert "planned" in timeline.inner_html() and "Daily 7-hydroxymitragynine" in timeline.inner_html()
    assert page.locator("#h-timeline ~ details.chart-data").count() == 1
    assert "authordefined" not in page.content() and "author_defined" not in page.content()
    check_page(page, "charts-patient-page")
    page.close()
