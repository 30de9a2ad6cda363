"""The clinic's day from menus and links only (no typed URL after login): the clinician enrols a patient, records a
documented consent override, a lab, a medication, an adverse event and an observed dose, finds the patient again from
the dashboard, corrects the dose with a reason, and opens the printable visit summary, which starts with what needs
attention. The patient page is checked with axe-core (any impact) at 1366 and 390 px.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import clinician_login, look_at_both_widths

pytestmark = [pytest.mark.browser]


def _submit(page: Any, selector: str = "main form button[type=submit]") -> None:
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state()


def test_enrol_record_find_correct_and_print_without_a_url(
    demo: dict[str, Any], live_server: Any, desktop: Any, require_2fa: Any
) -> None:
    from kratomwatch.records.models import AdverseEvent, Dose, LabResult, Medication

    base = live_server.url
    page = desktop.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    clinician_login(page, base, "clinician", demo["devices"]["clinician"])
    assert page.url == f"{base}/clinic/"

    page.click("header nav a:text-is('Enrol patient')")
    page.wait_for_load_state()
    page.fill("#f-code", "KW-950")
    page.fill("#f-birth_year", "1979")
    page.select_option("#f-sex", "male")
    page.select_option("#f-time_zone", "Europe/Berlin")
    page.select_option("#f-jurisdiction", "DE")
    page.check("#c-chronic_pain")
    _submit(page, "#enrol-submit")
    assert page.url == f"{base}/clinic/patients/KW-950/"
    assert "conditions: Chronic pain" in page.inner_text("main")

    # No consent yet: the first entry form says so and offers the documented override.
    page.click("main a:text-is('Add lab')")
    page.wait_for_load_state()
    page.click("text=Record without consent (documented override)")
    page.wait_for_load_state()
    page.check("input[name=grounds][value=awaiting_signature]")
    page.fill("textarea[name=reason]", "Enrolled at today's visit; the patient signs the consent at home.")
    _submit(page)
    page.select_option("select[name=test]", "alt")
    page.fill("input[name=value]", "80")
    page.select_option("select[name=unit]", "U/L")
    page.fill("input[name=uln]", "40")
    _submit(page)
    assert "Lab saved: ALT 80 U/L H" in page.inner_text("main")

    page.click("main a:text-is('Add medication')")
    page.wait_for_load_state()
    page.fill("#f-name", "sertraline")
    _submit(page, "#med-save")
    page.click("main a:text-is('Add adverse event')")
    page.wait_for_load_state()
    page.fill("input[name=term]", "Nausea")
    onset = dt.datetime.now(ZoneInfo("Europe/Berlin")).date() - dt.timedelta(days=2)
    page.fill("input[name=onset]", onset.isoformat())
    page.check("input[name=grade][value='2']")
    _submit(page)
    page.click("main a:text-is('Record observed dose')")
    page.wait_for_load_state()
    page.select_option("select[name=lot]", label=page.locator("select[name=lot] option").nth(1).inner_text())
    page.fill("input[name=amount]", "30")
    page.select_option("select[name=unit]", "g")
    _submit(page)
    assert "Observed dose saved: 30 g" in page.inner_text("main") and "CET" in page.inner_text("main")
    assert Medication.objects.filter(patient__code="KW-950").count() == 1
    assert LabResult.objects.filter(patient__code="KW-950").count() == 1
    assert AdverseEvent.objects.filter(patient__code="KW-950").count() == 1

    # Later: back to the dashboard from the menu, and the patient found by code.
    page.click("header nav a:text-is('Dashboard')")
    page.wait_for_load_state()
    page.fill("#find", "kw-950")
    _submit(page, "form[role=search] button")
    assert page.url == f"{base}/clinic/patients/KW-950/"

    # The 30 g was a typing mistake: corrected with a reason; both versions stay in the record.
    page.click("#entries-dose summary")
    page.click("#entries-dose a:text-is('Correct')")
    page.wait_for_load_state()
    page.fill("#f-amount", "3")
    page.fill("#f-reason", "Typed 30 g; the patient took 3 g.")
    _submit(page, "#submit-change")
    (original,) = Dose.objects.filter(patient__code="KW-950", voided_at__isnull=False)
    assert Dose.objects.get(corrects=original).amount == 3
    assert "Typed 30 g; the patient took 3 g." in page.inner_text("#entries")
    look_at_both_widths(page, "clinic-day-patient")

    # The printable visit summary, from its link: what needs attention comes first.
    href = page.get_attribute("main a:text-is('Printable visit summary (PDF)')", "href")
    response = page.request.get(base + href)
    assert response.status == 200 and response.body().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=response.body(), capture_output=True, check=True
        ).stdout.decode()
        assert text.index("Needs attention") < text.index("Nausea") < text.index("Timeline")
        assert "Conditions: Chronic pain." in " ".join(text.split())
    page.close()
