"""The site shell in a real browser: each demo role logs in, lands on its home, and reaches every page of its menu
in one click from there; axe-core finds no violation of any impact on the homes, the error pages and the login
page; and no home scrolls sideways on a 390 px phone.

Two-factor enforcement is switched off here (its browser flow is in test_flows.py; its rules in tests/security).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, axe_path, login

pytestmark = [pytest.mark.browser]

HOMES = {
    "patient": "/me/",
    "clinician": "/clinic/",
    "programadmin": "/clinic/",
    "researcher": "/research/",
    "admin": "/staff/",
}
# Menu pages that are not ours to check with axe: Django's admin and the Swagger UI of the API.
NOT_OURS = ("/admin/", "/api/v1/docs")


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def axe_violations(page: Any, name: str) -> list[str]:
    """Every axe-core violation on the page, of any impact (and a screenshot for the record)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"shell-{name}.png"), full_page=True)
    page.add_script_tag(path=str(axe_path()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
    ]


def menu_links(page: Any) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = page.eval_on_selector_all(
        "header nav ul.menu a", "els => els.map(a => [a.textContent.trim(), a.getAttribute('href')])"
    )
    return links


@pytest.mark.parametrize("username", sorted(HOMES))
def test_each_role_lands_home_and_reaches_every_menu_page(
    demo: dict[str, Any], live_server: Any, desktop: Any, username: str
) -> None:
    base = live_server.url
    page = desktop.new_page()
    login(page, base, username)
    assert page.url == base + HOMES[username]
    assert axe_violations(page, f"{username}-home") == []
    # The first Tab stop is the skip link; the last menu item is Log out.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    labels = page.eval_on_selector_all("header nav ul.menu li", "els => els.map(e => e.textContent.trim())")
    assert labels[-1] == "Log out"

    links = menu_links(page)
    assert links, "the menu is empty"
    for label, href in links:
        page.goto(base + HOMES[username])
        with page.expect_navigation():
            page.click(f"header nav ul.menu a[href='{href}']")  # one click from home
        page.wait_for_load_state()
        text = page.inner_text("body")
        assert "You cannot open this page" not in text, (label, href)
        assert "No such page" not in text, (label, href)
        if not href.startswith(NOT_OURS):
            assert page.locator("header nav ul.menu").count() == 1, (label, href)
            assert page.locator("h1").count() == 1, (label, href)
        if href == "/clinic/alerts/":
            assert axe_violations(page, f"{username}-alerts") == []


@pytest.mark.parametrize("username", sorted(HOMES))
def test_homes_do_not_scroll_sideways_on_a_phone(
    demo: dict[str, Any], live_server: Any, browser: Any, username: str
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        login(page, live_server.url, username)
        assert page.url == live_server.url + HOMES[username]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        header = page.evaluate("document.querySelector('header').scrollWidth")
        assert header <= 390
    finally:
        context.close()


def test_error_pages_and_login_have_no_axe_violation(demo: dict[str, Any], live_server: Any, desktop: Any) -> None:
    base = live_server.url
    page = desktop.new_page()
    page.goto(f"{base}/login/")
    assert axe_violations(page, "login") == []
    login(page, base, "patient")
    response = page.goto(f"{base}/clinic/")
    assert response.status == 403
    assert "This page is for the care team" in page.inner_text("main")
    assert axe_violations(page, "403") == []
    response = page.goto(f"{base}/no-such-page/")
    assert response.status == 404
    assert axe_violations(page, "404") == []
    with page.expect_navigation():
        page.click("main a[role=button]")
    assert page.url == f"{base}/me/"
