"""Care-team data entry in a real browser (Debian Chromium): the clinician enrols a patient and invites them;
the patient accepts the invitation in a fresh browser, sets their password and lands on their own home; the
clinician adds a medication, checks it and sees the interaction finding. Every page is checked with axe-core
(no violation of any impact) at desktop and phone width, and nothing scrolls sideways on the phone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, axe_path, check_page, clinician_login

pytestmark = [pytest.mark.browser]

PASSWORD = "a-long-river-stone-7"


def no_violations(page: Any, name: str) -> None:
    """The shared check (screenshot; no serious or critical violation), then: no violation of any impact, and
    the page does not scroll sideways."""
    check_page(page, name)
    page.add_script_tag(path=str(axe_path()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}" for v in result["violations"]]
    assert not bad, f"axe violations on {name}:\n" + "\n".join(bad)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (name, width)


def test_enrol_invite_accept_and_add_a_medication(
    demo: dict[str, Any], live_server: Any, desktop: Any, phone: Any, require_2fa: Any
) -> None:
    from kratomwatch.records.models import Medication, Patient

    base = live_server.url
    page = desktop.new_page()
    clinician_login(page, base, "clinician", demo["devices"]["clinician"])

    # Enrol: a bad code first (inline error, nothing saved), then the right one.
    page.goto(f"{base}/clinic/patients/new/")
    no_violations(page, "entry-enrol")
    page.fill("#f-code", "KW 900!")
    page.fill("#f-birth_year", "1988")
    page.select_option("#f-sex", "female")
    page.select_option("#f-time_zone", "America/Denver")
    page.select_option("#f-jurisdiction", "US-CO")
    page.check("#c-chronic_pain")
    page.click("#enrol-submit")
    page.wait_for_load_state()
    assert "letters, digits" in page.inner_text("#e-code")
    assert not Patient.objects.filter(code__startswith="KW 900").exists()
    no_violations(page, "entry-enrol-errors")
    page.fill("#f-code", "KW-900")
    page.click("#enrol-submit")
    page.wait_for_url("**/clinic/patients/KW-900/")
    assert "Patient KW-900 enrolled" in page.inner_text("main")
    patient = Patient.objects.get(code="KW-900")
    assert patient.time_zone == "America/Denver" and patient.jurisdiction == "US-CO"

    # Invite: the link is shown once.
    page.click("text=Invite patient")
    page.wait_for_load_state()
    page.click("#invite-create")
    page.wait_for_load_state()
    link = page.get_attribute("#invite-link", "href")
    assert link and re.search(r"/invite/[0-9A-Z]{28}/$", link)
    no_violations(page, "entry-invite")

    # The patient, in a fresh browser: chooses a username and password, logs in, lands on their own home.
    patient_page = phone.new_page()
    patient_page.goto(link)
    no_violations(patient_page, "entry-invite-accept")
    patient_page.fill("#f-username", "kw900")
    patient_page.fill("#f-password", PASSWORD)
    patient_page.fill("#f-password2", PASSWORD)
    patient_page.click("#invite-accept")
    patient_page.wait_for_load_state()
    assert "Your login is ready" in patient_page.inner_text("h1")
    no_violations(patient_page, "entry-invite-done")
    patient_page.click("#invite-login")
    patient_page.wait_for_url("**/login/**")
    patient_page.fill("#id_username", "kw900")
    patient_page.fill("#id_password", PASSWORD)
    with patient_page.expect_navigation():
        patient_page.click("main button[type=submit]")
    patient_page.wait_for_load_state()
    assert patient_page.url.rstrip("/").endswith("/me"), patient_page.url
    assert "KW-001" not in patient_page.content()
    patient.refresh_from_db()
    assert patient.user is not None and patient.user.username == "kw900"
    # The link works once.
    patient_page.goto(link)
    assert "already been used" in patient_page.inner_text("main")

    # A medication for KW-001 (consent signed in the demo fixture): check, see the finding, save.
    page.goto(f"{base}/clinic/patients/KW-001/")
    page.click("text=Add medication")
    page.wait_for_load_state()
    page.fill("#f-name", "tramadol")
    page.fill("#f-dose_text", "50 mg twice daily")
    page.click("#med-check")
    page.wait_for_load_state()
    result = page.inner_text("#med-check-result")
    assert "Full opioid agonists" in result and "Management:" in result
    assert not Medication.objects.filter(patient__code="KW-001", name="tramadol").exists()
    no_violations(page, "entry-medication-check")
    page.click("#med-save")
    page.wait_for_url("**/clinic/patients/KW-001/")
    assert "Medication tramadol saved" in page.inner_text("main")
    assert Medication.objects.filter(patient__code="KW-001", name="tramadol").count() == 1

    # The same forms on a phone: nothing scrolls sideways.
    phone_clinician = page  # the same session (a second TOTP login within 30 s would be refused as a replay)
    phone_clinician.set_viewport_size({"width": 390, "height": 844})
    for path, name in (
        ("/clinic/patients/new/", "entry-enrol-phone"),
        ("/clinic/patients/KW-001/labs/new/", "entry-lab-phone"),
        ("/clinic/patients/KW-001/adverse-events/new/", "entry-ae-phone"),
        ("/clinic/patients/KW-001/doses/new/", "entry-dose-phone"),
    ):
        phone_clinician.goto(base + path)
        no_violations(phone_clinician, name)
    assert (SCREENSHOTS / "entry-enrol.png").exists()
