"""The claim checker in a real browser (Debian Chromium): the clinician opens it from the menu of the dashboard,
pastes an article and reads the marked sentences with the reasons beside them; the patient does the same on a
phone. Each page is screenshotted at 1366 and 390 px, checked with axe-core (no violation of any impact), does not
scroll sideways on the phone, and runs under the site's CSP (no inline script or style)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import NARROW, WIDE, clinician_login, login, look_at_both_widths

pytestmark = [pytest.mark.browser]

ARTICLE = """Kratom: nature's answer to pain

Kratom is a natural, non-opioid plant from the mint family. Its pain-relieving power is well documented, and human
trials show it treats anxiety without side effects. Kratom may ease pain for some people, according to surveys.
It is not addictive. Pain programs should integrate kratom into treatment. More research is needed."""


def look(page: Any, name: str) -> None:
    look_at_both_widths(page, f"claims-{name}")


def paste_and_check(page: Any) -> None:
    page.fill("#claims-text", ARTICLE)
    with page.expect_navigation():
        page.click("form.claims-form button[type=submit]")
    page.wait_for_load_state()


def test_clinician_and_patient_check_an_article(
    demo: dict[str, Any], live_server: Any, browser: Any, require_2fa: Any
) -> None:
    base = live_server.url
    desk = browser.new_context(viewport=WIDE, bypass_csp=True)
    desk.set_default_timeout(15_000)
    page = desk.new_page()
    clinician_login(page, base, "clinician", demo["devices"]["clinician"])
    page.click("nav >> text=Check an article")
    page.wait_for_url("**/claims/")
    look(page, "clinician-empty")
    paste_and_check(page)
    marks = page.locator(".claims-text mark")
    verdicts = [marks.nth(i).get_attribute("class") for i in range(marks.count())]
    assert "verdict-factual_error" in verdicts and "verdict-overclaim" in verdicts
    assert "verdict-unsupported_recommendation" in verdicts and "verdict-supported" in verdicts
    assert page.locator(".claims-reasons li").count() == marks.count()
    assert page.locator("text=Not correct").first.is_visible()
    look(page, "clinician-result")
    page.emulate_media(media="print")
    assert not page.locator("form.claims-form").is_visible()
    assert not page.locator(".site-header").is_visible()
    page.emulate_media(media="screen")
    desk.close()

    phone = browser.new_context(viewport=NARROW, has_touch=True, is_mobile=True, bypass_csp=True)
    phone.set_default_timeout(15_000)
    pp = phone.new_page()
    login(pp, base, "patient")
    pp.goto(f"{base}/claims/")
    paste_and_check(pp)
    assert pp.locator(".claims-text mark.verdict-factual_error").count() >= 2
    look(pp, "patient-result")
    phone.close()


def test_the_page_runs_under_the_csp(demo: dict[str, Any], live_server: Any, browser: Any) -> None:
    strict = browser.new_context(viewport=WIDE)
    page = strict.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login(page, live_server.url, "patient")
    page.goto(f"{live_server.url}/claims/")
    paste_and_check(page)
    assert page.locator(".claims-text mark").count() >= 4
    colour = page.evaluate("getComputedStyle(document.querySelector('mark.verdict-factual_error')).backgroundColor")
    assert colour != "rgba(0, 0, 0, 0)"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    strict.close()
