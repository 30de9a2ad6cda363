"""Real-browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Skipped only when /usr/bin/chromium is absent (CI installs it and fails if these were skipped). axe-core is
read from ``KRATOMWATCH_AXE_JS`` (default: node_modules/axe-core/axe.min.js at the repository root).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 812}

# Playwright's sync API keeps an event loop on the test thread; the ORM calls made by the tests themselves are
# ordinary synchronous calls (the live server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


def axe_path() -> Path:
    path = Path(os.environ.get("KRATOMWATCH_AXE_JS", str(ROOT / "node_modules" / "axe-core" / "axe.min.js")))
    if not path.is_file():
        pytest.fail(f"axe-core not found at {path}: `npm install axe-core` or set KRATOMWATCH_AXE_JS")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 375x812 touch context. CSP is bypassed only so axe-core can be injected; see test_csp_* for CSP."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def check_page(page: Any, name: str) -> None:
    """Screenshot the page and assert axe-core finds no serious or critical violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(axe_path()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"axe violations on {name} ({page.url}):\n" + "\n".join(bad)


def totp_now(device: Any) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def login(page: Any, base: str, username: str, password: str = "demo-password-1") -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def demo(transactional_db: Any) -> dict[str, Any]:
    """A small demo program (KW-001 is the patient login), a consent document signed for care and research,
    and a confirmed TOTP device for each clinician (two-factor is enforced as in production)."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kratomwatch.audit.log import Actor
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.demo import load_demo
    from kratomwatch.records.models import Patient

    load_demo(patients=3, days=28)
    actor = Actor.system("browser-test")
    patient = Patient.objects.select_related("program").get(code="KW-001")
    document = consent_actions.publish_document(
        actor=actor,
        program=patient.program,
        title="Monitoring consent",
        body="I agree that my kratom use and health data are recorded and reviewed by my care team.",
        scopes=["care", "research"],
    )
    consent_actions.sign(
        actor=actor, patient=patient, document=document, scopes=["care", "research"], typed_name="Demo Patient"
    )
    users = get_user_model().objects
    devices = {
        name: TOTPDevice.objects.create(user=users.get(username=name), name="phone", confirmed=True)
        for name in ("clinician", "otherclinician")
    }
    return {"patient": patient, "devices": devices}


@pytest.fixture
def require_2fa(settings: Any) -> Any:
    settings.KRATOMWATCH_REQUIRE_2FA = True
    return settings


def clinician_login(page: Any, base: str, username: str, device: Any) -> None:
    login(page, base, username)
    if "/2fa/verify/" in page.url:
        page.fill("#id_otp_token", totp_now(device))
        with page.expect_navigation():
            page.click("main button[type=submit]")
        page.wait_for_load_state()
    assert "/2fa/" not in page.url and "/login/" not in page.url, (page.url, page.inner_text("main"))
