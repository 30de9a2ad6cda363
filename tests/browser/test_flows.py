"""End-to-end flows in a real browser (headless Debian Chromium) on a 375x812 phone viewport.

(a) the patient logs a dose in two taps and fills the PHQ-9 with item 9 above 0;
(b) the clinician sees the resulting urgent alert and acknowledges and resolves it;
(c) withdrawing research consent removes the patient from research scope;
(d) a clinician of another program gets 404 on the patient's pages.
Each main page is screenshotted to test-artifacts/screenshots/ and checked with axe-core (no serious or
critical violation).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import check_page, clinician_login, login

pytestmark = [pytest.mark.browser]

CLINIC_ALERTS = "/clinic/alerts/"


def _patient_logs_dose_and_phq9(phone: Any, base: str) -> None:
    from kratomwatch.assessments.models import Assessment
    from kratomwatch.records.models import Dose

    page = phone.new_page()
    login(page, base, "patient")
    check_page(page, "login-redirect")
    page.goto(f"{base}/me/")
    assert page.locator("h1").first.inner_text().startswith("Hello")
    check_page(page, "patient-home")
    before = Dose.objects.filter(patient__code="KW-001").count()

    page.click("#log-dose")  # tap 1
    page.wait_for_load_state()
    assert "Your last entry" in page.content()
    check_page(page, "patient-dose")
    fields: dict[str, str] = page.eval_on_selector_all(
        "#quick-form input[type=hidden]", "els => Object.fromEntries(els.map(e => [e.name, e.value]))"
    )
    page.click("#log-now")  # tap 2
    page.wait_for_url("**/me/dose/*/")
    assert page.locator("#dose-logged h1").inner_text() == "Dose logged"
    assert page.locator("#mg-basis").inner_text().startswith("certificate")
    # The time shown is the patient's own clock (America/Chicago), not the server's UTC.
    import datetime as dt
    from zoneinfo import ZoneInfo

    hour, minute = (int(part) for part in page.locator("#dose-when").inner_text().split(":"))
    chicago = dt.datetime.now(ZoneInfo("America/Chicago"))
    minutes = abs((chicago.hour * 60 + chicago.minute) - (hour * 60 + minute)) % (24 * 60)
    assert min(minutes, 24 * 60 - minutes) <= 2, (hour, minute, chicago)
    assert chicago.tzname() in page.locator("#dose-logged").inner_text()
    check_page(page, "patient-dose-logged")
    # The same form submitted again (a double tap that reached the server twice) records nothing new.
    again = page.request.post(f"{base}/me/dose/", form=fields, headers={"Referer": f"{base}/me/dose/"})
    assert again.ok and "repeat=1" in again.url and "Already logged" in again.text()
    assert Dose.objects.filter(patient__code="KW-001").count() == before + 1

    page.goto(f"{base}/me/")
    due = page.locator("a[href$='/phq9/']")
    if due.count():
        due.first.click()
    else:
        page.goto(f"{base}/assessments/KW-001/phq9/")
    page.wait_for_load_state()
    names: list[str] = page.eval_on_selector_all(
        "input[type=radio][name^=item_]", "els => [...new Set(els.map(e => e.name))]"
    )
    assert len(names) == 9
    for index, name in enumerate(names):
        page.check(f"input[name='{name}'][value='{1 if index == 8 else 0}']")
    check_page(page, "phq9-form")
    page.click("button.kw-submit")
    page.wait_for_url("**/results/*/")
    assert page.locator("#urgent-notice").is_visible()
    check_page(page, "phq9-result")
    stored = Assessment.objects.filter(patient__code="KW-001", instrument_id="phq9").latest("administered_at")
    assert stored.answers[8] == 1 and "suicidality" in stored.flags

    page.goto(f"{base}/me/side-effect/")
    check_page(page, "patient-side-effect")
    page.fill("#f-term", "Nausea")
    page.check("#grade-1")
    page.click("#ae-submit")
    page.wait_for_url("**/me/side-effect/*/")
    check_page(page, "patient-side-effect-saved")
    page.close()


def _clinician_handles_alert(desktop: Any, base: str, device: Any) -> None:
    """The clinician sees the urgent alert in the clinic queue, acknowledges it, then resolves it with a note."""
    from kratomwatch.alerts.models import Alert

    alert = Alert.objects.get(patient__code="KW-001", rule_id="suicidality", status="open")
    assert alert.severity == "urgent"
    page = desktop.new_page()
    clinician_login(page, base, "clinician", device)
    page.goto(f"{base}{CLINIC_ALERTS}")
    assert "PHQ-9 item 9" in page.content()
    check_page(page, "clinic-alerts")
    ack = f"form[action='/clinic/alerts/{alert.pk}/acknowledge/'] button"
    with page.expect_navigation():
        page.click(ack)
    page.click(f"#alert-{alert.pk} details.resolve summary")
    page.fill(f"#note-{alert.pk}", "Same-day safety assessment done; follow-up booked.")
    with page.expect_navigation():
        page.click(f"form[action='/clinic/alerts/{alert.pk}/resolve/'] button")
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.acknowledged_by is not None and alert.resolved_by is not None
    page.close()


def test_patient_logs_dose_fills_phq9_and_clinician_resolves_alert(
    demo: dict[str, Any], live_server: Any, phone: Any, desktop: Any, require_2fa: Any
) -> None:
    _patient_logs_dose_and_phq9(phone, live_server.url)
    _clinician_handles_alert(desktop, live_server.url, demo["devices"]["clinician"])


def test_withdrawing_research_consent_hides_patient_from_research(
    demo: dict[str, Any], live_server: Any, phone: Any
) -> None:
    from kratomwatch.consent.status import has_active, with_active_scope
    from kratomwatch.records.models import Patient

    patients = Patient.objects.filter(code="KW-001")
    assert with_active_scope(patients, "research").exists()
    page = phone.new_page()
    login(page, live_server.url, "patient")
    page.goto(f"{live_server.url}/me/")
    page.click("a[href='/consent/KW-001/']")
    page.wait_for_load_state()
    check_page(page, "consent")
    page.select_option("#withdraw", "research")
    with page.expect_navigation():
        page.click("main form[method=get] button[type=submit]")
    with page.expect_navigation():
        page.click("#confirm-withdraw")
    assert not with_active_scope(patients, "research").exists()
    assert has_active(demo["patient"], "care")
    page.goto(f"{live_server.url}/me/")
    assert "Research: not given" in page.locator("#consent-h + ul").inner_text()
    page.close()


def test_foreign_program_clinician_gets_404(
    demo: dict[str, Any], live_server: Any, desktop: Any, require_2fa: Any
) -> None:
    page = desktop.new_page()
    clinician_login(page, live_server.url, "otherclinician", demo["devices"]["otherclinician"])
    for path in (
        "/me/p/KW-001/",
        "/assessments/KW-001/",
        "/consent/KW-001/",
        "/assessments/KW-001/phq9/",
        "/clinic/patients/KW-001/",
        "/clinic/patients/KW-001/care-plan/",
        "/clinic/patients/KW-001/summary.pdf",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 404, path
    page.close()


def test_patient_pages_raise_no_csp_violation(demo: dict[str, Any], live_server: Any, browser: Any) -> None:
    """With CSP enforced (no bypass), the patient pages load their CSS and trigger no CSP report."""
    context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    login(page, live_server.url, "patient")
    for path in ("/me/", "/me/dose/", "/me/side-effect/"):
        page.goto(f"{live_server.url}{path}")
        heights = page.eval_on_selector_all(".pt-button", "els => els.map(e => e.getBoundingClientRect().height)")
        assert heights and min(heights) >= 48, f"{path}: touch targets {heights}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways ({width} px)"
    assert not [m for m in messages if "Content Security Policy" in m], messages
    context.close()
