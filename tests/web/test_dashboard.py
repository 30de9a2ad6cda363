"""The dashboard numbers (finding 5), the visit summary PDF (finding 12) and the care plan page (finding 18)."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.assessments.actions import record_assessment, set_schedule
from kratomwatch.assessments.models import Schedule
from kratomwatch.careplans.models import TaperStep
from kratomwatch.core import exposure
from kratomwatch.records import actions
from kratomwatch.records.models import Patient
from kratomwatch.web import pages
from tests.helpers import add_patient


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def _backdate(patient: Any, days: int) -> None:
    """Enrol the patient ``days`` ago so that past doses are plausible."""
    Patient.objects.filter(pk=patient.pk).update(created_at=timezone.now() - dt.timedelta(days=days))
    patient.refresh_from_db()


def _dose(w: Any, patient: Any, lot: Any, days_ago: int, amount: float, unit: str = "g") -> None:
    tz = exposure.zone(patient.time_zone)
    taken = dt.datetime.combine(patient.local_today() - dt.timedelta(days=days_ago), dt.time(8), tz)
    actions.record_dose(
        actor=w.system,
        patient=patient,
        dose=actions.DoseIn(
            patient_code=patient.code,
            lot_id=lot.pk,
            taken_at=taken,
            amount=amount,
            unit=unit,
            idempotency_key=f"{patient.code}-{days_ago}-{amount}",
        ),
    )


@pytest.fixture
def board(world: Any, system: Any) -> Any:
    w = world
    w.system = system
    w.seven = actions.create_product(actor=system, program=w.program, vendor="V", name="7-OH tablets", form="tablet")
    w.seven_lot = actions.create_lot(
        actor=system,
        product=w.seven,
        lot_code="T1",
        unit_mass_mg=100.0,
        certificate=actions.CertificateIn("mg/unit", 1.0, 15.0),
    )
    w.heavy = add_patient(w, "P-100")
    w.zero = add_patient(w, "P-200")
    w.oh = add_patient(w, "P-300")
    for p in (w.heavy, w.zero, w.oh):
        _backdate(p, 60)
    for k in range(1, 8):
        _dose(w, w.heavy, w.leaf_cert_lot, k, 20.0)  # 20 g x 15 mg/g = 300 mg a day
        _dose(w, w.oh, w.seven_lot, k, 2, unit="tablet")  # 2 mg mitragynine + 30 mg 7-OH a day
    return w


def test_dashboard_rows_print_means_shared_scale_and_the_7oh_marker(board: Any) -> None:
    w = board
    result = pages.dashboard(w.alice)
    rows = {r.patient.code: r for r in result.rows}
    assert result.scale_max == 500.0  # one scale for every row: 0 to the nice top above 300 mg
    heavy, zero, oh = rows["P-100"], rows["P-200"], rows["P-300"]
    assert heavy.mean_mg == pytest.approx(300.0) and zero.mean_mg == 0.0
    assert oh.seven_oh_mean == pytest.approx(30.0) and oh.mean_mg == pytest.approx(2.0)
    assert oh.over_cap and not heavy.over_cap and oh.seven_oh_share == pytest.approx(93.75)
    assert ">500<" in heavy.sparkline and ">500<" in oh.sparkline  # the same printed scale on every row
    html = Client()
    html.force_login(w.alice)
    page = html.get("/clinic/").content.decode()
    assert "7-OH mg/day" in page and "30.0" in page and "94% 7-OH" in page
    assert page.count(w.program.name) == 1  # the program is named once, not on every row


def _pdf_text(pdf: bytes) -> str:
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.DOTALL):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1", "replace"))
    return "".join(re.findall(r"\((.*?)\)\s*Tj", "".join(out)))


def test_visit_summary_starts_with_needs_attention_and_rounds_as_published(board: Any) -> None:
    w = board
    p = w.oh
    for answers, days_ago in (([7, 7, 6], 3), ([8, 7, 7], 10)):
        record_assessment(
            actor=w.system,
            patient=p,
            instrument_id="peg",
            answers=answers,
            administered_at=timezone.now() - dt.timedelta(days=days_ago),
            source="self_report",
        )
    actions.record_lab(
        actor=w.system,
        patient=p,
        test="alt",
        value=80.0,
        unit="U/L",
        upper_limit_normal=40.0,
        taken_at=timezone.now() - dt.timedelta(days=4),
    )
    actions.record_adverse_event(
        actor=w.system, patient=p, term="Nausea", onset=p.local_today() - dt.timedelta(days=5), grade=2
    )
    client = Client()
    client.force_login(w.alice)
    response = client.get(f"/clinic/patients/{p.code}/summary.pdf")
    assert response.status_code == 200
    text = _pdf_text(response.content)
    assert text.index("Needs attention") < text.index("Timeline") < text.index("Outcome scores")
    assert text.index("Nausea") < text.index("Timeline")  # a new adverse event is on page 1
    assert "6.7" in text and "6.66667" not in text and "7.3" in text
    assert "author_defined" not in text
    assert "Generated " in text and f"by {w.alice.get_username()}" in text and "page 1 of" in text
    assert "Upper limit" in text and "Lower limit" in text


def test_care_plan_save_confirms_warns_on_rising_targets_and_stop_needs_confirmation(board: Any) -> None:
    w = board
    p = w.patient  # P-001 has care consent
    client = Client()
    client.force_login(w.alice)
    url = f"/clinic/patients/{p.code}/care-plan/"
    today = p.local_today()
    form = {
        "form": "plan",
        "goals": "Less daily use",
        "taper_start_0": (today - dt.timedelta(days=7)).isoformat(),
        "taper_mg_0": "200",
        "taper_start_1": today.isoformat(),
        "taper_mg_1": "100",
        "taper_start_2": (today + dt.timedelta(days=7)).isoformat(),
        "taper_mg_2": "400",
    }
    response = client.post(url, form, follow=True)
    page = response.content.decode()
    assert response.status_code == 200, re.findall(r'role="alert">[^<]*', page)
    assert "Care plan saved." in page, re.findall(r"<main.{0,600}", page, flags=re.DOTALL)
    assert "Step 3 (400 mg" in page and "is higher than step 2 (100 mg)" in page
    assert TaperStep.objects.filter(plan__patient=p).count() == 3  # saved anyway: the clinician's plan
    set_schedule(actor=w.system, patient=p, instrument_id="phq9", every_days=14, start=today)
    page = client.get(url).content.decode()
    assert "Patient Health Questionnaire-9" in page and "<td>phq9</td>" not in page
    # one POST without the confirm step stops nothing
    assert client.post(url, {"form": "deactivate", "instrument_id": "phq9"}).status_code == 400
    assert Schedule.objects.get(patient=p, instrument_id="phq9").active
    confirm = client.get(url + "?stop=phq9").content.decode()
    assert "Stop the Patient Health Questionnaire-9" in confirm and 'name="confirm" value="yes"' in confirm
    done = client.post(url, {"form": "deactivate", "instrument_id": "phq9", "confirm": "yes"}, follow=True)
    assert "Questionnaire schedule stopped." in done.content.decode()
    assert not Schedule.objects.get(patient=p, instrument_id="phq9").active


def test_estimated_teaspoon_doses_show_their_range(board: Any) -> None:
    w = board
    p = w.zero
    for k in (1, 2):
        _dose(w, p, w.leaf_plain_lot, k, 2, unit="teaspoon")  # no certificate, uncalibrated spoon: a range
    row = next(r for r in pages.dashboard(w.alice).rows if r.patient.code == p.code)
    assert row.mean_range is not None
    low, high = row.mean_range
    assert low < row.mean_mg < high
    client = Client()
    client.force_login(w.alice)
    dashboard = client.get("/clinic/").content.decode()
    assert f"est. {low:.0f}&ndash;{high:.0f}" in dashboard
    page = client.get(f"/clinic/patients/{p.code}/").content.decode()
    assert "est. " in page


def test_demo_kw011_on_a_7oh_product_shows_30_mg_7oh_above_the_cap(db: Any) -> None:
    from django.contrib.auth import get_user_model

    from kratomwatch.demo import load_demo

    load_demo(patients=12, days=90, research_cohort=False)  # the research cohort is not on this page
    clinician = get_user_model().objects.get(username="clinician")
    rows = {r.patient.code: r for r in pages.dashboard(clinician).rows}
    kw011 = rows["KW-011"]
    assert kw011.seven_oh_mean == pytest.approx(30.0, abs=0.5)
    assert kw011.mean_mg == pytest.approx(2.0, abs=0.5)
    assert kw011.over_cap and kw011.seven_oh_cap == 2.0
    assert not rows["KW-002"].over_cap
    client = Client()
    client.force_login(clinician)
    page = client.get("/clinic/").content.decode()
    row = re.search(r'data-code="KW-011">(.*?)</tr>', page, flags=re.DOTALL)
    assert row is not None
    assert "30.0" in row.group(1) and "94% 7-OH" in row.group(1)
