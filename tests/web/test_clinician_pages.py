"""Clinician pages: dashboard ranking, alert queue lifecycle, patient page, care-plan form, visit-summary PDF.

All data is created through the actions modules (records, assessments, careplans); the pages read it back
through kratomwatch.access. Two-factor enforcement is switched off here (it has its own tests in tests/security).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.assessments.actions import record_assessment, set_schedule
from kratomwatch.assessments.models import Schedule
from kratomwatch.audit.models import AuditEvent
from kratomwatch.careplans.actions import save_care_plan
from kratomwatch.careplans.models import CarePlan
from kratomwatch.core import exposure
from kratomwatch.records import actions
from kratomwatch.web import pages
from tests.helpers import add_patient

pytestmark = pytest.mark.django_db

P001 = "/clinic/patients/P-001/"


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_doses(w: Any, patient: Any, grams_by_days_ago: dict[int, float]) -> None:
    tz = exposure.zone(patient.time_zone)
    today = patient.local_today()
    for k, grams in grams_by_days_ago.items():
        taken = dt.datetime.combine(today - dt.timedelta(days=k), dt.time(8), tz)
        if taken > timezone.now():  # today before 08:00 local: halfway between midnight and now
            midnight = dt.datetime.combine(today, dt.time(0), tz)
            taken = midnight + (timezone.now() - midnight) / 2
        actions.record_dose(
            actor=w.system,
            patient=patient,
            dose=actions.DoseIn(
                patient_code=patient.code,
                lot_id=w.leaf_cert_lot.pk,
                taken_at=taken,
                amount=grams,
                unit="g",
                idempotency_key=f"{patient.code}-{k}",
            ),
        )


def phq9(w: Any, patient: Any, *, item9: int, days_ago: int = 1, rest: int = 1) -> None:
    record_assessment(
        actor=w.system,
        patient=patient,
        instrument_id="phq9",
        answers=[rest] * 8 + [item9],
        administered_at=timezone.now() - dt.timedelta(days=days_ago),
        source="self_report",
    )


@pytest.fixture
def clinic(world: Any, system: Any) -> Any:
    """P-001 with doses, scores, a care plan with a taper, medications, a lab and an adverse event; P-002 in the
    same program with an urgent alert (PHQ-9 item 9 endorsed)."""
    w = world
    w.system = system
    p = w.patient
    add_doses(w, p, {0: 4.0, 1: 4.0, 2: 5.0, 5: 6.0, 20: 8.0})
    phq9(w, p, item9=0, days_ago=10, rest=2)  # total 16: moderately severe, no urgent flag
    record_assessment(
        actor=system,
        patient=p,
        instrument_id="gad7",
        answers=[2, 2, 1, 1, 1, 1, 1],
        administered_at=timezone.now() - dt.timedelta(days=3),
        source="self_report",
    )
    record_assessment(
        actor=system,
        patient=p,
        instrument_id="peg",
        answers=[6, 5, 4],
        administered_at=timezone.now() - dt.timedelta(days=2),
        source="self_report",
    )
    today = p.local_today()
    save_care_plan(
        actor=system,
        patient=p,
        goals="Reduce daily use; return to work",
        modalities=["cbt", "physiotherapy"],
        taper=[(today - dt.timedelta(days=30), 80.0), (today - dt.timedelta(days=7), 60.0)],
    )
    set_schedule(actor=system, patient=p, instrument_id="phq9", every_days=14, start=today)
    actions.record_medication(actor=system, patient=p, name="tramadol 50 mg", dose_text="50 mg twice daily")
    actions.record_medication(actor=system, patient=p, name="zzqx-unknown-remedy")
    actions.record_lab(
        actor=system,
        patient=p,
        test="alt",
        value=80.0,
        unit="U/L",
        upper_limit_normal=40.0,
        taken_at=timezone.now() - dt.timedelta(days=4),
    )
    actions.record_adverse_event(
        actor=system, patient=p, term="Constipation", onset=today - dt.timedelta(days=6), grade=1
    )
    w.p2 = add_patient(w, "P-002", birth_year=1990, sex="male", conditions=["depression"])
    phq9(w, w.p2, item9=2)
    return w


def urgent_alert(w: Any) -> Alert:
    alert = Alert.objects.get(patient=w.p2, severity="urgent")
    assert alert.status == AlertStatus.OPEN
    return alert


def assert_csp_clean(html: str) -> None:
    assert "<script" not in html
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert "<style" not in html


# --- access ----------------------------------------------------------------------------------------------------


PAGES = ["/clinic/", "/clinic/alerts/", P001, P001 + "care-plan/", P001 + "summary.pdf"]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_login(world: Any, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", PAGES)
def test_a_patient_cannot_open_clinician_pages(world: Any, url: str) -> None:
    assert login(world.carol).get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES[2:])
def test_other_program_clinician_gets_404_on_p001(clinic: Any, url: str) -> None:
    bob = login(clinic.bob)
    assert bob.get(url).status_code == 404
    assert bob.post(P001 + "care-plan/", {"form": "plan", "goals": "x"}).status_code == 404
    assert not CarePlan.objects.filter(patient=clinic.patient, goals="x").exists()


def test_other_program_clinician_cannot_see_or_act_on_foreign_alerts(clinic: Any) -> None:
    bob = login(clinic.bob)
    alert = urgent_alert(clinic)
    page = bob.get("/clinic/alerts/").content.decode()
    assert "P-002" not in page and "P-001" not in page
    assert bob.post(f"/clinic/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert bob.post(f"/clinic/alerts/{alert.pk}/resolve/", {"note": "not mine"}).status_code == 404
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    dashboard = bob.get("/clinic/").content.decode()
    assert "P-001" not in dashboard and "P-002" not in dashboard


# --- dashboard -----------------------------------------------------------------------------------------------------


def test_dashboard_puts_the_urgent_patient_first_with_sparkline_scores_and_counts(clinic: Any) -> None:
    response = login(clinic.alice).get("/clinic/")
    assert response.status_code == 200
    html = response.content.decode()
    codes = re.findall(r'data-code="([^"]+)"', html)
    assert codes[:2] == ["P-002", "P-001"], codes  # P-002 sorts after P-001 by code but has the urgent alert
    assert "Q-001" not in codes
    row_p1 = html.split('data-code="P-001"')[1].split("</tr>")[0]
    assert "<polyline" in row_p1  # the 28-day sparkline has recorded doses
    assert ">16<" in row_p1  # latest PHQ-9 total
    row_p2 = html.split('data-code="P-002"')[1].split("</tr>")[0]
    assert 'class="num sev-urgent">1<' in row_p2
    assert_csp_clean(html)


def test_ranked_patients_orders_by_severity_then_count_then_recency(clinic: Any) -> None:
    p3 = add_patient(clinic, "P-000", birth_year=1970, time_zone="UTC", jurisdiction="GB")
    # P-000 sorts first by code; a raised ALT gives it alerts below urgent.
    actions.record_lab(
        actor=clinic.system,
        patient=p3,
        test="alt",
        value=400.0,
        unit="U/L",
        upper_limit_normal=40.0,
        taken_at=timezone.now() - dt.timedelta(days=1),
    )
    ranked = pages.ranked_patients(clinic.alice)
    ranks = {p.code: (getattr(p, "top_rank"), getattr(p, "open_count")) for p in ranked}  # noqa: B009 - annotations
    order = [p.code for p in ranked]
    assert set(order) == {"P-000", "P-001", "P-002"}
    assert order[0] == "P-002"
    assert ranks["P-002"][0] == 4
    # Everyone after is in non-increasing (rank, count) order.
    keys = [ranks[c] for c in order]
    assert keys == sorted(keys, reverse=True)


def test_dashboard_query_count_does_not_grow_with_patients(clinic: Any) -> None:
    alice = login(clinic.alice)
    alice.get("/clinic/")  # warm caches (knowledge, content types)
    with CaptureQueriesContext(connection) as before:
        assert alice.get("/clinic/").status_code == 200
    for i in range(5):
        extra = add_patient(clinic, f"P-1{i:02d}")
        add_doses(clinic, extra, {0: 1.0})
        phq9(clinic, extra, item9=0)
    with CaptureQueriesContext(connection) as after:
        html = alice.get("/clinic/").content.decode()
    assert html.count('class="patient-row"') == 7
    assert len(after.captured_queries) == len(before.captured_queries)


# --- alert queue ------------------------------------------------------------------------------------------------


def test_alert_queue_lists_filters_and_links_sources(clinic: Any) -> None:
    alice = login(clinic.alice)
    alert = urgent_alert(clinic)
    html = alice.get("/clinic/alerts/").content.decode()
    assert f'id="alert-{alert.pk}"' in html
    assert alert.reason[:40] in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/11556941/"' in html  # PMID source rendered as a link
    assert_csp_clean(html)
    only_info = alice.get("/clinic/alerts/", {"severity": "info"}).content.decode()
    assert f'id="alert-{alert.pk}"' not in only_info
    by_rule = alice.get("/clinic/alerts/", {"rule": alert.rule_id}).content.decode()
    assert f'id="alert-{alert.pk}"' in by_rule
    other_program = alice.get("/clinic/alerts/", {"program": str(clinic.other_program.pk)}).content.decode()
    assert f'id="alert-{alert.pk}"' in other_program  # a program alice is not in is ignored, not a leak


def test_alert_partial_labels_program_settings(clinic: Any) -> None:
    from django.template.loader import render_to_string

    alert = urgent_alert(clinic)
    view = pages.AlertView(alert, pages.source_links(alert.sources), ["first_dose_earlier_minutes"])
    html = render_to_string("web/clinician/_alert.html", {"av": view, "next": "/clinic/alerts/"})
    assert '<span class="label-setting">program setting</span> <code>first_dose_earlier_minutes</code>' in html
    assert "not published evidence" in html
    plain = render_to_string(
        "web/clinician/_alert.html", {"av": pages.alert_views([alert])[0], "next": "/clinic/alerts/"}
    )
    assert "label-setting" not in plain  # the urgent PHQ-9 alert rests on published sources only


def test_acknowledge_then_resolve_requires_a_note(clinic: Any) -> None:
    alice = login(clinic.alice)
    alert = urgent_alert(clinic)
    response = alice.post(f"/clinic/alerts/{alert.pk}/acknowledge/", {"next": "/clinic/alerts/"})
    assert response.status_code == 302 and response["Location"] == f"/clinic/alerts/#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == clinic.alice

    again = alice.post(f"/clinic/alerts/{alert.pk}/acknowledge/")
    assert again.status_code == 400  # only an open alert can be acknowledged

    blank = alice.post(f"/clinic/alerts/{alert.pk}/resolve/", {"note": "   "})
    assert blank.status_code == 400 and "Write a resolution note" in blank.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED

    done = alice.post(f"/clinic/alerts/{alert.pk}/resolve/", {"note": "Called patient; safety plan in place"})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolution_note == "Called patient; safety plan in place"
    assert AuditEvent.objects.filter(action="alert.resolve", object_id=str(alert.pk)).exists()


def test_alert_actions_need_post_and_csrf(clinic: Any) -> None:
    alert = urgent_alert(clinic)
    alice = login(clinic.alice)
    assert alice.get(f"/clinic/alerts/{alert.pk}/acknowledge/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(clinic.alice)
    assert strict.post(f"/clinic/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_next_parameter_cannot_redirect_off_site(clinic: Any) -> None:
    alert = urgent_alert(clinic)
    response = login(clinic.alice).post(f"/clinic/alerts/{alert.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == f"/clinic/alerts/#alert-{alert.pk}"


# --- patient page --------------------------------------------------------------------------------------------------


def test_patient_page_shows_timeline_screening_legal_evidence_consent_and_plan(clinic: Any) -> None:
    response = login(clinic.alice).get(P001)
    assert response.status_code == 200
    html = response.content.decode()
    assert_csp_clean(html)
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "Daily mitragynine" in svg and "Daily 7-hydroxymitragynine" in svg
    assert 'stroke-dasharray="6 4"' in svg  # the clinician's taper target, dashed
    assert "PHQ-9" in svg and "GAD-7" in svg and "PEG" in svg
    assert "10: PHQ-9 total &gt;= 10" in svg  # threshold labelled from the instrument definition
    assert "AE: Constipation" in svg and "Lab: ALT 80 U/L" in svg
    assert "COWS" not in svg  # no COWS scores, no COWS panel
    # thresholds with their sources
    assert "Kroenke" in html and "severe band starts at 20" in html and "Spitzer" in html
    # evidence grade for chronic pain next to the outcome charts
    assert "Kratom relieves chronic pain" in html and "very low" in html
    # medications: finding with severity, mechanism, management and sources; the unmatched entry
    meds = html.split('id="h-meds"', 1)[1].split("</section>", 1)[0]
    assert "tramadol 50 mg" in meds and "Mechanism:" in meds and "Management:" in meds
    assert "unmatched, review" in meds and "zzqx-unknown-remedy" in meds
    # legal status with sources and the disclaimer
    legal = html.split('id="h-legal"', 1)[1].split("</section>", 1)[0]
    assert "US-TX" in legal and "not legal advice" in legal and "<a href=" in legal
    assert "Reduce daily use; return to work" in html and "from " in html and "60 mg/day" in html
    assert 'href="/clinic/patients/P-001/summary.pdf"' in html
    assert 'href="/assessments/P-001/"' in html  # the questionnaire list is one click from the patient page
    assert AuditEvent.objects.filter(action="patient.read.clinician_page", patient_code="P-001").exists()


def test_patient_page_without_data_renders(world: Any) -> None:
    html = login(world.alice).get(P001).content.decode()
    assert "No care plan yet." in html and "No current medications recorded." in html
    assert 'stroke-dasharray="6 4"' not in html  # no taper, no dashed target


def test_staff_and_program_admin_can_open_the_patient_page(clinic: Any) -> None:
    assert login(clinic.staff).get(P001).status_code == 200
    assert login(clinic.admin).get(P001).status_code == 200


# --- care plan ------------------------------------------------------------------------------------------------------


def test_care_plan_form_saves_goals_modalities_and_taper(clinic: Any) -> None:
    alice = login(clinic.alice)
    page = alice.get(P001 + "care-plan/").content.decode()
    assert "kratomwatch does not propose doses" in page
    assert 'value="cbt" checked' in page
    assert_csp_clean(page)
    response = alice.post(
        P001 + "care-plan/",
        {
            "form": "plan",
            "goals": "Walk daily",
            "modalities": ["counselling", "moud"],
            "taper_start_0": "2026-12-01",
            "taper_mg_0": "50",
            "taper_start_1": "2026-12-15",
            "taper_mg_1": "40.5",
            "taper_start_2": "",
            "taper_mg_2": "",
        },
    )
    assert response.status_code == 302
    plan = CarePlan.objects.get(patient=clinic.patient)
    assert plan.goals == "Walk daily" and plan.modalities == ["counselling", "moud"]
    assert [(s.start.isoformat(), s.target_mg) for s in plan.taper_steps.all()] == [
        ("2026-12-01", 50.0),
        ("2026-12-15", 40.5),
    ]
    assert plan.updated_by == clinic.alice


def test_care_plan_bad_taper_row_is_rejected_and_nothing_changes(clinic: Any) -> None:
    alice = login(clinic.alice)
    before = list(CarePlan.objects.get(patient=clinic.patient).taper_steps.values_list("start", "target_mg"))
    bad = alice.post(
        P001 + "care-plan/", {"form": "plan", "goals": "x", "taper_start_0": "2026-12-01", "taper_mg_0": "lots"}
    )
    assert bad.status_code == 400 and "is not a number" in bad.content.decode()
    missing = alice.post(P001 + "care-plan/", {"form": "plan", "goals": "x", "taper_start_0": "2026-12-01"})
    assert missing.status_code == 400
    negative = alice.post(
        P001 + "care-plan/", {"form": "plan", "goals": "x", "taper_start_0": "2026-12-01", "taper_mg_0": "-5"}
    )
    assert negative.status_code == 400
    plan = CarePlan.objects.get(patient=clinic.patient)
    assert plan.goals == "Reduce daily use; return to work"
    assert list(plan.taper_steps.values_list("start", "target_mg")) == before


def test_care_plan_schedules_add_and_stop(clinic: Any) -> None:
    alice = login(clinic.alice)
    response = alice.post(
        P001 + "care-plan/", {"form": "schedule", "instrument_id": "gad7", "every_days": "28", "start": "2026-12-01"}
    )
    assert response.status_code == 302
    schedule = Schedule.objects.get(patient=clinic.patient, instrument_id="gad7")
    assert schedule.every_days == 28 and schedule.active
    bad = alice.post(
        P001 + "care-plan/", {"form": "schedule", "instrument_id": "nope", "every_days": "7", "start": "2026-12-01"}
    )
    assert bad.status_code == 400
    assert (
        alice.post(P001 + "care-plan/", {"form": "deactivate", "instrument_id": "gad7", "confirm": "yes"}).status_code
        == 302
    )
    schedule.refresh_from_db()
    assert not schedule.active
    assert "gad7" in alice.get(P001 + "care-plan/").content.decode()


# --- visit summary ---------------------------------------------------------------------------------------------


def test_visit_summary_pdf_is_a_pdf_with_the_code_and_is_audited(clinic: Any) -> None:
    response = login(clinic.alice).get(P001 + "summary.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = response.content
    assert body.startswith(b"%PDF")
    assert b"P-001" in body
    assert "P-001" in response["Content-Disposition"]
    assert len(body) > 5000  # chart, tables and sections, not an empty page
    assert AuditEvent.objects.filter(action="patient.read.visit_summary", patient_code="P-001").exists()


def test_visit_summary_falls_back_to_drawn_chart_when_svg_fails(clinic: Any) -> None:
    from kratomwatch.web.visit_pdf import render_visit_summary

    data = pages.load_patient_data(clinic.patient, user=clinic.alice)
    pdf = render_visit_summary(data, timeline_svg="<not-svg", stance=pages.STANCE, legal_note=pages.LEGAL_NOTE)
    assert pdf.startswith(b"%PDF") and b"P-001" in pdf


def test_source_links() -> None:
    assert pages.source_link("PMID:123").url == "https://pubmed.ncbi.nlm.nih.gov/123/"
    assert pages.source_link("doi:10.1/x").url == "https://doi.org/10.1/x"
    assert pages.source_link("PMC7423016").url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC7423016/"
    assert pages.source_link("https://a.example/b").url == "https://a.example/b"
    assert pages.source_link("javascript:alert(1)").url is None


def test_naloxone_on_file_is_a_positive_and_an_approximate_name_is_a_question(world: Any, system: Any) -> None:
    p = world.patient
    actions.record_medication(actor=system, patient=p, name="Narcan nasal spray")
    actions.record_medication(actor=system, patient=p, name="xanex")
    html = login(world.alice).get(f"/clinic/patients/{p.code}/").content.decode()
    meds = html[html.index('id="h-meds"') : html.index('id="h-legal"')]
    assert "on file" in meds and "Opioid-overdose rescue" in meds
    assert "sev-major" not in meds, "the rescue drug is never an adverse interaction"
    assert "Confirm these medications" in meds and "xanex" in meds and "xanax" in meds
