"""Page data and form parsing of the server-rendered pages, without a browser.

- chart thresholds and scale maxima come from the instrument definitions (one home for clinical numbers);
- the form parsers return ``(values, errors)`` naming every wrong field, with the messages the pages show.

That the pages query no patient-data model themselves is checked for every adapter in
``tests/security/test_access_path.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict

from kratomwatch.core import instruments as ins
from kratomwatch.web import forms, pages


def post(**fields: str | list[str]) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in fields.items():
        if isinstance(value, list):
            q.setlist(key, value)
        else:
            q[key] = value
    return q


# --- thresholds from the definitions --------------------------------------------------------------------------


@pytest.mark.parametrize("instrument_id", pages.OUTCOME_INSTRUMENTS)
def test_scale_max_is_the_primary_scale_maximum_of_the_definition(instrument_id: str) -> None:
    definition = ins.get(instrument_id)
    assert pages.SCALE_MAX[instrument_id] == definition.score_range(definition.primary_scale_id)[1]


@pytest.mark.parametrize("instrument_id", sorted(pages.CHART_THRESHOLDS))
def test_chart_thresholds_are_band_edges_of_the_definition(instrument_id: str) -> None:
    scale = ins.get(instrument_id).primary_scale
    lows = {b.id: b.low for b in scale.bands}
    assert pages.CHART_THRESHOLDS[instrument_id] == tuple(lows[b] for b in pages.CHART_BANDS[instrument_id])
    # every marked value is labelled from the definition, with a source
    marked = pages.instrument_thresholds(instrument_id)
    assert [t.value for t in marked] == list(pages.CHART_THRESHOLDS[instrument_id])
    assert all(t.label and t.source.text for t in marked)


def test_the_clinical_cut_offs_are_the_published_ones() -> None:
    """Kroenke 2001 (PHQ-9 10 and 20), Spitzer 2006 (GAD-7 10 and 15), Wesson 2003 (COWS 13): a change to a
    definition that moved them would show here."""
    assert pages.CHART_THRESHOLDS == {"phq9": (10.0, 20.0), "gad7": (10.0, 15.0), "cows": (13.0,)}
    assert pages.SCALE_MAX == {"peg": 10.0, "phq9": 27.0, "gad7": 21.0, "cows": 48.0}


# --- care plan and schedules -------------------------------------------------------------------------------------


def test_care_plan_parses_goals_modalities_and_taper_rows_skipping_blank_ones() -> None:
    values, errors = forms.parse_care_plan(
        post(
            goals="Walk daily",
            notes="n",
            modalities=["cbt", "moud"],
            taper_start_0="2026-12-01",
            taper_mg_0="50",
            taper_start_1="",
            taper_mg_1="",
            taper_start_10="2026-12-15",
            taper_mg_10="40.5",
        )
    )
    assert errors == {}
    assert values.goals == "Walk daily" and values.notes == "n" and values.modalities == ["cbt", "moud"]
    assert values.taper == [(dt.date(2026, 12, 1), 50.0), (dt.date(2026, 12, 15), 40.5)]
    assert values.rows == [("2026-12-01", "50"), ("2026-12-15", "40.5")]


def test_care_plan_names_every_bad_taper_row_and_keeps_what_was_typed() -> None:
    values, errors = forms.parse_care_plan(
        post(
            taper_start_0="2026-12-01",
            taper_mg_0="lots",
            taper_mg_1="30",
            taper_start_2="1 Dec",
            taper_mg_2="20",
        )
    )
    assert errors == {
        "taper.0.target_mg": "'lots' is not a number of mg",
        "taper.1": "each taper row needs both a start date and a daily mg target",
        "taper.2.start": "'1 Dec' is not a date (YYYY-MM-DD)",
    }
    assert values.taper == []
    assert values.rows == [("2026-12-01", "lots"), ("", "30"), ("1 Dec", "20")]


def test_schedule_needs_whole_days_and_a_date() -> None:
    values, errors = forms.parse_schedule(post(instrument_id="gad7", every_days="28", start="2026-12-01"))
    assert errors == {} and values == forms.ScheduleValues("gad7", 28, dt.date(2026, 12, 1))
    values, errors = forms.parse_schedule(post(instrument_id="gad7", every_days="2.5", start="soon"))
    assert values is None
    assert errors == {
        "every_days": "enter a whole number of days",
        "start": "'soon' is not a date (YYYY-MM-DD)",
    }


# --- alert queue filter -----------------------------------------------------------------------------------------


def test_queue_filter_falls_back_to_all_for_unknown_values() -> None:
    flt, selected = forms.parse_queue_filter(
        post(severity="catastrophic", status="lost", rule=" suicidality ", program="7", sort="random"), program_ids={3}
    )
    assert selected == {
        "severity": "",
        "status": "all",
        "rule": "suicidality",
        "program": "",
        "patient": "",
        "sort": "severity",
    }
    assert (flt.status, flt.severity, flt.rule, flt.program_id) == ("all", None, "suicidality", None)
    flt, selected = forms.parse_queue_filter(post(severity="urgent", program="3"), program_ids={3})
    assert (flt.status, flt.severity, flt.program_id) == ("active", "urgent", 3)
    assert selected["program"] == "3"


# --- patient side effect ---------------------------------------------------------------------------------------


def test_side_effect_errors_name_each_field_in_plain_words() -> None:
    values, errors = forms.parse_side_effect(
        post(term="", onset="yesterday", grade="5", seriousness=["death"], outcome="x", action_taken="y")
    )
    assert set(errors) == {"term", "onset", "grade", "seriousness", "outcome", "action_taken"}
    assert errors["grade"] == "Choose how bad it is: mild, moderate or severe."
    assert values.onset == "yesterday"  # shown again as typed
    values, errors = forms.parse_side_effect(post(term=" Nausea ", onset="2026-12-01", grade="2"))
    assert errors == {}
    assert (values.term, values.onset_date, values.grade_number) == ("Nausea", dt.date(2026, 12, 1), 2)
    assert (values.outcome, values.action_taken, values.serious) == ("unknown", "unknown", [])


def test_form_fields_are_named_as_the_page_names_them() -> None:
    from kratomwatch.web.forms import field_label

    assert field_label("taper.0.target_mg") == "Taper row 1, daily target (mg)"
    assert field_label("taper.2.start") == "Taper row 3, from date"
    assert field_label("taper.1") == "Taper row 2"
    assert field_label("every_days") == "Every (days)"
    assert field_label("goals") == "Goals"
