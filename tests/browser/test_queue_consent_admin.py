"""Browser journeys: the clinician works the paginated alert queue (page, filter, bulk acknowledge, resolve with
an inline error then a note, staying on the card); the patient withdraws care consent after a confirmation and
sees the banner; the program admin changes a setting. axe-core finds no violation of any impact on these pages;
screenshots at 1366 and 390 px go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.conftest import SCREENSHOTS, axe_path, clinician_login, login

pytestmark = [pytest.mark.browser]


def axe_clean(page: Any, name: str) -> None:
    """Screenshot at 1366 and 390 px, and no axe-core violation of any impact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
    page.set_viewport_size(size)
    page.add_script_tag(path=str(axe_path()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}" for v in result["violations"]]
    assert not bad, f"axe violations on {name} ({page.url}):\n" + "\n".join(bad)


def _many_alerts(count: int) -> None:
    """``count`` more patients in the demo program, each with an urgent or a high alert raised by the rules."""
    from kratomwatch.assessments.actions import record_assessment
    from kratomwatch.audit.log import Actor
    from kratomwatch.records import actions, writes
    from kratomwatch.records.models import Patient

    actor = Actor.system("browser-test")
    program = Patient.objects.get(code="KW-001").program
    with writes.batch():
        for i in range(count):
            p = actions.create_patient(
                actor=actor,
                program=program,
                code=f"Q-{i:03d}",
                birth_year=1980,
                sex="female",
                time_zone="America/Chicago",
                jurisdiction="US-TX",
            )
            if i % 2:
                actions.record_medication(actor=actor, patient=p, name="tramadol 50 mg")
            else:
                record_assessment(
                    actor=actor,
                    patient=p,
                    instrument_id="phq9",
                    answers=[1] * 9,
                    administered_at=timezone.now() - dt.timedelta(days=1),
                    source="self_report",
                )


def test_clinician_pages_filters_bulk_acknowledges_and_resolves_in_place(
    demo: dict[str, Any], live_server: Any, desktop: Any, require_2fa: Any
) -> None:
    from kratomwatch.alerts.models import Alert

    _many_alerts(60)
    total = Alert.objects.exclude(status="resolved").count()
    assert total > 50
    base = live_server.url
    page = desktop.new_page()
    clinician_login(page, base, "clinician", demo["devices"]["clinician"])
    page.goto(f"{base}/clinic/alerts/")
    assert f"Showing 1-25 of {total} alerts" in page.inner_text("#queue-count")
    axe_clean(page, "queue")
    with page.expect_navigation():
        page.click("nav.pager a[rel=next]")
    assert f"Showing 26-50 of {total} alerts" in page.inner_text("#queue-count")

    page.click("details.queue-filters summary")
    page.select_option("#f-severity", "high")
    with page.expect_navigation():
        page.click("details.queue-filters button[type=submit]")
    high = Alert.objects.filter(severity="high").exclude(status="resolved").count()
    assert f"of {high} alert" in page.inner_text("#queue-count") and "severity=high" in page.url

    boxes = page.locator("input[name=ids]")
    ids = [int(boxes.nth(i).get_attribute("value") or 0) for i in range(3)]
    for i in range(3):
        boxes.nth(i).check()
    with page.expect_navigation():
        page.click("#bulk-ack")
    assert "Acknowledged 3 alerts." in page.content() and "severity=high" in page.url
    assert sorted(Alert.objects.filter(status="acknowledged").values_list("pk", flat=True)) == sorted(ids)

    target = ids[0]
    card = f"#alert-{target}"
    page.click(f"{card} details.resolve summary")
    with page.expect_navigation():
        page.click(f"{card} details.resolve button[type=submit]")
    assert page.locator(f"#note-{target}-error").inner_text() == "Write a resolution note before resolving."
    assert page.locator(f"#note-{target}").get_attribute("aria-invalid") == "true"
    assert Alert.objects.get(pk=target).status == "acknowledged"
    page.fill(f"#note-{target}", "Medication reviewed with the prescriber.")
    with page.expect_navigation():
        page.click(f"{card} details.resolve button[type=submit]")
    assert page.url.endswith(f"#alert-{target}") and "severity=high" in page.url
    assert Alert.objects.get(pk=target).status == "resolved"
    page.close()


def test_patient_withdraws_care_consent_after_confirmation(demo: dict[str, Any], live_server: Any, phone: Any) -> None:
    from kratomwatch.consent.status import has_active

    base = live_server.url
    page = phone.new_page()
    login(page, base, "patient")
    page.goto(f"{base}/consent/KW-001/")
    page.select_option("#withdraw", "care")
    with page.expect_navigation():
        page.click("main form[method=get] button[type=submit]")
    assert "care team can no longer record new data" in page.inner_text("#withdraw-effects")
    axe_clean(page, "consent-confirm")
    with page.expect_navigation():
        page.click("#keep-consent")
    assert has_active(demo["patient"], "care")

    page.select_option("#withdraw", "care")
    with page.expect_navigation():
        page.click("main form[method=get] button[type=submit]")
    with page.expect_navigation():
        page.click("#confirm-withdraw")
    assert not has_active(demo["patient"], "care")
    assert page.url.endswith("/me/")
    assert page.locator("#consent-banner").is_visible() and page.locator("#sign-again").is_visible()
    assert page.locator("#log-dose").count() == 0
    axe_clean(page, "patient-home-withdrawn")
    page.goto(f"{base}/me/dose/")
    assert "You withdrew your consent for care on" in page.inner_text("#care-needed")
    page.close()


def test_program_admin_changes_a_setting(demo: dict[str, Any], live_server: Any, desktop: Any) -> None:
    from kratomwatch.accounts import program_settings

    base = live_server.url
    page = desktop.new_page()
    login(page, base, "programadmin")
    page.goto(f"{base}/program/")
    axe_clean(page, "program-home")
    with page.expect_navigation():
        page.click("main a[href*='/program/settings/']")
    axe_clean(page, "program-settings")
    page.fill("#s-missed_followup_grace_days", "5")
    with page.expect_navigation():
        page.click("#save-settings")
    assert "re-evaluated" in page.content()
    program = demo["patient"].program
    assert program_settings.for_program(program.pk).missed_followup_grace_days == 5
    page.goto(f"{base}/program/products/")
    axe_clean(page, "program-products")
    page.goto(f"{base}/program/users/")
    axe_clean(page, "program-users")
    page.close()
