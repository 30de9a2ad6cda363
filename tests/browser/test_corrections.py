"""Corrections in a real browser: the patient's repeated dose form is recognised and the patient is asked, and
they undo a dose; the clinician corrects a dose with a reason and sees both versions. Pages checked with axe-core.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import check_page, clinician_login, login

pytestmark = [pytest.mark.browser]


def test_patient_resubmits_a_dose_form_is_asked_and_undoes_a_dose(
    demo: dict[str, Any], live_server: Any, phone: Any
) -> None:
    from kratomwatch.records.models import Dose

    base = live_server.url
    page = phone.new_page()
    login(page, base, "patient")
    before = Dose.objects.filter(patient__code="KW-001").count()
    page.goto(f"{base}/me/dose/")
    page.click("#log-now")
    page.wait_for_url("**/me/dose/*/")
    assert page.locator("#dose-logged h1").inner_text() == "Dose logged"
    # Back button, then the same form submitted again: recognised, nothing new, and the patient is asked.
    page.go_back()
    page.wait_for_load_state()
    page.click("#log-now")
    page.wait_for_url("**/me/dose/*/?repeat=1")
    assert Dose.objects.filter(patient__code="KW-001").count() == before + 1
    offer = page.locator("#repeat-offer").inner_text()
    assert "This dose was already saved at" in offer and "Log it again as a new dose" in offer
    check_page(page, "patient-dose-repeat")
    page.click("#log-again")
    page.wait_for_url("**/me/dose/*/")
    assert Dose.objects.filter(patient__code="KW-001").count() == before + 2, "asked, confirmed: a second dose"
    assert page.locator("#dose-logged h1").inner_text() == "Dose logged"

    newest = Dose.objects.filter(patient__code="KW-001").latest("id")
    page.click("#undo-dose")
    page.wait_for_url(f"**/me/dose/{newest.pk}/undo/")
    check_page(page, "patient-dose-undo")
    page.click("#undo-confirm")  # no reason chosen
    assert "Give a reason" in page.locator("main").inner_text()
    page.check("#r-2")
    with page.expect_navigation():
        page.click("#undo-confirm")
    newest.refresh_from_db()
    assert newest.voided_at is not None and newest.void_reason == "I logged it twice"
    assert "Undone, not counted" in page.locator("main").inner_text()
    check_page(page, "patient-home-undone")
    page.close()


def test_clinician_corrects_a_dose_with_a_reason_and_sees_both_versions(
    demo: dict[str, Any], live_server: Any, desktop: Any, require_2fa: Any
) -> None:
    from kratomwatch.audit.models import AuditEvent
    from kratomwatch.records.models import Dose

    base = live_server.url
    page = desktop.new_page()
    clinician_login(page, base, "clinician", demo["devices"]["clinician"])
    page.goto(f"{base}/clinic/patients/KW-001/")
    page.click("#entries-dose summary")  # the doses list is folded under its count
    link = page.locator("#entries a:text-is('Correct')").first
    href = link.get_attribute("href")
    assert href and "/dose/" in href
    pk = int(href.rstrip("/").split("/")[-2])
    link.click()
    page.wait_for_url(f"**{href}")
    assert "America/Chicago" in page.locator("main").inner_text()
    check_page(page, "clinic-correct-dose")
    page.fill("#f-amount", "1.5")
    page.click("#submit-change")
    assert "Give a reason for the correction" in page.locator("#e-reason").inner_text()
    page.fill("#f-reason", "Patient confirmed 1.5 g at the visit")
    with page.expect_navigation():
        page.click("#submit-change")
    original = Dose.objects.get(pk=pk)
    fixed = Dose.objects.get(corrects=original)
    assert original.voided_at is not None and fixed.amount == 1.5
    old_row = page.locator(f"#entry-dose-{pk}").inner_text()
    assert "by clinician: Patient confirmed 1.5 g at the visit" in old_row
    assert page.locator(f"#entry-dose-{pk} del").count() == 1
    assert "corrects entry of" in page.locator(f"#entry-dose-{fixed.pk}").inner_text()
    assert "Patient confirmed 1.5 g at the visit" in page.locator("#entries").inner_text()
    assert AuditEvent.objects.filter(action="dose.correct", object_id=str(pk)).exists()
    check_page(page, "clinic-patient-corrected")
    page.close()
