"""N-of-1 trial in a real browser (Debian Chromium): the clinician opens the patient's page, follows "N-of-1
trials", designs a trial (a washout as long as the period first: the error is shown next to the field in words,
nothing saved), signs; the patient signs on their phone from the card on their home page; the clinician starts
it and the patient sees today's period on their home page. A trial run in the past then shows the results: the
clinician's page with the chart and adherence, the patient's card on the phone. Each page is screenshotted at
1366 and 390 px, checked with axe-core, and does not scroll sideways on the phone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import NARROW, SCREENSHOTS, WIDE, clinician_login, login, look_at_both_widths

pytestmark = [pytest.mark.browser]


def look(page: Any, name: str) -> None:
    look_at_both_widths(page, f"nof1-{name}")


def context(browser: Any, size: dict[str, int], **options: Any) -> Any:
    """A browser context at ``size``; CSP is bypassed only so axe-core can be injected."""
    made = browser.new_context(viewport=size, bypass_csp=True, **options)
    made.set_default_timeout(15_000)
    return made


def run_in_past(trial: Any) -> Any:
    """Start ``trial`` so that it ended yesterday (patient's zone), with one pain rating and one dose a day."""
    from kratomwatch.assessments import actions as assessment_actions
    from kratomwatch.audit.log import Actor
    from kratomwatch.nof1 import actions, queries
    from kratomwatch.records import actions as record_actions
    from kratomwatch.records import writes
    from kratomwatch.records.models import Lot

    actor = Actor.system("browser-test")
    patient = trial.patient
    tz = ZoneInfo(patient.time_zone)
    total = queries.design_of(trial).total_days
    start = patient.local_today() - dt.timedelta(days=total)
    trial = actions.start_trial(actor=actor, trial=trial, user=trial.created_by, start_date=start)
    by_day = {p.start + dt.timedelta(days=i): p for p in queries.periods_of(trial) for i in range(trial.period_days)}
    lot = Lot.objects.filter(product__program=patient.program, cert_content_unit="mg/g", recalled=False).first()
    assert lot is not None
    with writes.batch():
        for i in range(total):
            day = start + dt.timedelta(days=i)
            code = by_day[day].condition.code if day in by_day else "A"
            if i % 9 != 5:  # a few days unmeasured
                assessment_actions.record_assessment(
                    actor=actor,
                    patient=patient,
                    instrument_id="pain_nrs",
                    answers=[6 - (2 if code == "B" else 0) + (1 if i % 4 == 0 else 0)],
                    administered_at=dt.datetime.combine(day, dt.time(12), tzinfo=tz),
                    source="self_report",
                )
            record_actions.record_dose(
                actor=actor,
                patient=patient,
                dose=record_actions.DoseIn(
                    patient.code,
                    lot.pk,
                    dt.datetime.combine(day, dt.time(9), tzinfo=tz),
                    2.0 if code == "A" else 1.0,
                    "g",
                    idempotency_key=f"nof1-browser-{i}",
                ),
            )
    return trial


def test_the_clinician_designs_a_trial_and_the_patient_signs_and_follows_it(
    demo: dict[str, Any], live_server: Any, browser: Any, require_2fa: Any
) -> None:
    from kratomwatch.nof1.models import Trial, TrialStatus

    base = live_server.url
    desk = context(browser, WIDE)
    page = desk.new_page()
    clinician_login(page, base, "clinician", demo["devices"]["clinician"])
    page.goto(f"{base}/clinic/patients/KW-001/")
    page.click("#nof1-link")
    page.wait_for_url("**/clinic/patients/KW-001/nof1/")
    page.click("#new-trial")
    page.wait_for_url("**/nof1/new/")
    look(page, "design")
    page.set_viewport_size(WIDE)
    page.fill("#f-title", "Usual routine against a reduced one")
    page.fill("#f-question", "Is my pain different on the reduced routine?")
    page.fill("#c0-label", "Usual routine")
    page.fill("#c0-description", "Your usual capsules, as now")
    page.fill("#c1-label", "Reduced routine")
    page.fill("#c1-description", "Half your usual capsules, as agreed with your clinician")
    page.check("#c0-ref")
    page.select_option("#f-primary", "pain_nrs")
    page.fill("#f-mcid", "1")
    page.check("#f-mcid-choice")
    page.fill("#f-period", "4")
    page.fill("#f-blocks", "2")
    page.fill("#f-washout", "4")
    page.fill("#f-runin", "2")
    page.fill("#f-stopping", "Pain 9 or more on three days in a row")
    page.click("#save-design")
    page.wait_for_load_state()
    assert "must be shorter than the period" in page.inner_text("#f-washout-error")
    assert "Washout" in page.inner_text(".error-summary") and "washout_days" not in page.inner_text("main")
    assert page.input_value("#c1-label") == "Reduced routine"
    assert not Trial.objects.exists()
    look(page, "design-errors")
    page.set_viewport_size(WIDE)
    page.fill("#f-washout", "1")
    page.click("#save-design")
    page.wait_for_url("**/nof1/*/?saved=design")
    trial = Trial.objects.get()
    assert trial.title == "Usual routine against a reduced one" and trial.washout_days == 1
    page.click("#sign-clinician")
    page.wait_for_url("**?saved=sign")
    assert "Waiting for the patient's signature" in page.inner_text("#awaiting-patient")
    look(page, "trial-draft")

    phone = context(browser, NARROW, has_touch=True, is_mobile=True)
    pp = phone.new_page()
    login(pp, base, "patient")
    assert "ready to sign" in pp.inner_text(f"#nof1-card-{trial.pk}")
    look(pp, "patient-home-sign")
    pp.set_viewport_size(NARROW)
    pp.click("#nof1-sign-link")
    pp.wait_for_url(f"**/me/nof1/{trial.pk}/")
    look(pp, "patient-sign")
    pp.set_viewport_size(NARROW)
    pp.check("#agree")
    pp.fill("#signed-name", "Demo Patient")
    pp.click("#sign-patient")
    pp.wait_for_url("**?done=sign")
    trial.refresh_from_db()
    assert trial.status == TrialStatus.SIGNED

    page.reload()
    page.click("#start-trial")
    page.wait_for_url("**?saved=start")
    assert "Run-in" in page.inner_text("#now")
    look(page, "trial-active")
    pp.goto(f"{base}/me/")
    assert "Getting started (run-in)" in pp.inner_text(f"#nof1-card-{trial.pk}")
    look(pp, "patient-home-running")

    # The same trial, run in the past: the results.
    trial.refresh_from_db()
    from kratomwatch.audit.log import Actor
    from kratomwatch.nof1 import actions

    system = Actor.system("browser-test")
    actions.stop_trial(actor=system, trial=trial, user=trial.created_by, reason="Replaced by the next")
    done = actions.create_trial(
        actor=system,
        patient=trial.patient,
        user=trial.created_by,
        design=actions.TrialIn(
            title="Usual routine against a reduced one (finished)",
            conditions=[
                actions.ConditionIn("A", "Usual routine", "Your usual capsules", True, 30.0, None),
                actions.ConditionIn("B", "Reduced routine", "Half your usual capsules", False, 15.0, None),
            ],
            primary_instrument="pain_nrs",
            period_days=6,
            blocks=3,
            washout_days=1,
            run_in_days=2,
            mcid=1.0,
            mcid_program_choice=True,
            seed=7,
        ),
    )
    done = actions.sign_as_clinician(actor=system, trial=done, user=trial.created_by)
    done = actions.sign_as_patient(actor=system, trial=done, signed_name="Demo Patient")
    run_in_past(done)
    page.goto(f"{base}/clinic/patients/KW-001/nof1/{done.pk}/")
    assert "Completed" in page.inner_text("#trial-status")
    assert page.locator("#estimates").count() == 1 and page.locator("#adherence").count() == 1
    look(page, "trial-completed")
    page.set_viewport_size(WIDE)
    with page.expect_download() as download:
        page.click("#letter-pdf")
    letter = download.value.path()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "nof1-letter.pdf").write_bytes(letter.read_bytes())
    pp.goto(f"{base}/me/")
    pp.click("#nof1-result-link")
    pp.wait_for_url(f"**/me/nof1/{done.pk}/result/")
    assert "What this does not mean" in pp.inner_text("main")
    look(pp, "patient-card")
    desk.close()
    phone.close()
