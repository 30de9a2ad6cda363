"""Stored codes are shown in words: conditions by their label, evidence levels and product forms as people say them,
on the clinician's patient page, in the visit summary and in the dose form's product list."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.web import forms

pytestmark = pytest.mark.django_db


def _pdf_text(pdf: bytes) -> str:
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.DOTALL):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1", "replace"))
    return "".join(re.findall(r"\((.*?)\)\s*Tj", "".join(out)))


def test_codes_in_words() -> None:
    assert forms.words("chronic_pain") == "Chronic pain"
    assert forms.words("opioid_use_disorder") == "Opioid use disorder"
    assert forms.words("case_reports_surveillance") == "case reports and surveillance"
    assert forms.words("seven_oh_product") == "7-OH product"
    assert forms.words("leaf_powder") == "leaf powder"
    assert forms.words_list(["chronic_pain", "depression"]) == "Chronic pain, Depression"


def test_patient_page_and_visit_summary_name_conditions_in_words(world: Any) -> None:
    client = Client()
    client.force_login(world.alice)
    html = client.get("/clinic/patients/P-001/").content.decode()
    assert "conditions: Chronic pain" in html and "chronic_pain" not in html
    text = _pdf_text(client.get("/clinic/patients/P-001/summary.pdf").content)
    assert "Conditions: Chronic pain." in text and "chronic_pain" not in text


def test_a_7_oh_product_is_named_so_in_the_clinic_dose_form(world: Any, system: Any) -> None:
    from kratomwatch.records import actions
    from kratomwatch.web.entry import lot_label

    product = actions.create_product(
        actor=system, program=world.program, vendor="V", name="Seven", form="seven_oh_product"
    )
    lot = actions.create_lot(actor=system, product=product, lot_code="7A")
    assert "(7-OH product:" in lot_label(lot) and "seven oh" not in lot_label(lot)


def test_a_trial_title_ending_in_a_question_mark_gets_no_extra_full_stop() -> None:
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    def card(title: str, kind: str) -> str:
        trial = SimpleNamespace(pk=1, title=title)
        return render_to_string(
            "web/nof1/_home_card.html", {"nof1_cards": [{"kind": kind, "trial": trial, "url": "/t/"}]}
        )

    assert "Which is lower? <a" in card("Which is lower?", "ended") and "?." not in card("Which is lower?", "ended")
    assert "A against B. <a" in card("A against B", "ended")
    assert "Which is lower? Your clinician signed it." in card("Which is lower?", "sign")


def test_an_alert_names_its_kind_in_words_on_the_card_and_in_the_summary(world: Any, system: Any) -> None:
    from django.template.loader import render_to_string

    from kratomwatch.alerts.models import Alert
    from kratomwatch.assessments.actions import record_assessment
    from kratomwatch.web import pages

    record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=[1] * 8 + [2],
        administered_at=timezone.now() - dt.timedelta(minutes=5),
        source="self_report",
    )
    alert = Alert.objects.filter(patient=world.patient, rule_id="suicidality").first()
    assert alert is not None
    kind = forms.rule_words(alert.rule_id)
    html = render_to_string("web/clinician/_alert.html", {"av": pages.alert_views([alert])[0], "next": "/"})
    assert f"kind: {kind}" in html and f"&middot; {alert.rule_id} &middot;" not in html
    client = Client()
    client.force_login(world.alice)
    text = _pdf_text(client.get("/clinic/patients/P-001/summary.pdf").content)
    assert f"(open, kind: {kind}" in text.replace("\\(", "(")


def test_rule_words() -> None:
    assert forms.rule_words("serious_adverse_event") == "Serious adverse event"
    assert forms.rule_words("missed_followup") == "Missed followup"


def test_an_adverse_event_in_the_corrections_list_names_its_outcome(world: Any, system: Any) -> None:
    from kratomwatch.records import actions
    from kratomwatch.web.corrections import describe

    ae = actions.record_adverse_event(
        actor=system, patient=world.patient, term="Nausea", onset=world.patient.local_today(), grade=2
    )
    assert describe("adverse-event", ae, world.patient) == "Nausea, grade 2, outcome unknown"
