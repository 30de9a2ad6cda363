"""The demo's synthetic research cohort (demo/research_cohort.py): a year of staggered follow-up for about 120 extra
patients, research consent for all but six, valid assessments only, nothing later than now in any patient's zone,
enough signal for the cohort analyses, and a second load that adds nothing. The cohort is loaded once for this
module inside a transaction rolled back at the end; each test runs in its own savepoint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from kratomwatch.alerts.models import Alert
from kratomwatch.assessments.models import Assessment
from kratomwatch.audit.models import AuditEvent
from kratomwatch.careplans.models import TaperStep
from kratomwatch.consent.status import with_active_scope
from kratomwatch.demo.data import RESEARCH_CODE_PREFIX, RESEARCH_COHORT_SIZE
from kratomwatch.records.models import AdverseEvent, Dose, Patient

pytestmark = pytest.mark.django_db

COHORT = {"code__startswith": RESEARCH_CODE_PREFIX}


def _load(program: Any, lots: Any, now: dt.datetime) -> dict[str, int]:
    from kratomwatch.audit.log import Actor
    from kratomwatch.demo.research_cohort import load_research_cohort

    return load_research_cohort(Actor.system("demo"), program, lots, now)


@pytest.fixture(scope="module")
def cohort(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    from kratomwatch.accounts import actions as account_actions
    from kratomwatch.audit.log import Actor
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.demo.catalogue import create_catalogue
    from kratomwatch.demo.data import CONSENT_TEXT, CONSENT_TITLE, DEMO_NAME, DEMO_SLUG

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            actor = Actor.system("demo")
            now = timezone.now()
            program = account_actions.create_program(actor=actor, slug=DEMO_SLUG, name=DEMO_NAME)
            lots = create_catalogue(actor, program)
            consent_actions.publish_document(
                actor=actor,
                program=program,
                title=CONSENT_TITLE,
                body=CONSENT_TEXT,
                scopes=["care", "research"],
                now=now,
            )
            counts = _load(program, lots, now)
            yield {"counts": counts, "now": now, "program": program, "lots": lots}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_about_120_synthetic_patients_over_a_year_most_with_research_consent(cohort: dict[str, Any], db: Any) -> None:
    patients = Patient.objects.filter(**COHORT)
    assert patients.count() == RESEARCH_COHORT_SIZE == cohort["counts"]["patients"] == 120
    assert all(p.code.startswith("KW-R") for p in patients)
    research = with_active_scope(patients, "research").count()
    assert research == cohort["counts"]["research_consent"] == 114  # six sign care consent only
    span = patients.aggregate(first=Min("enrolled_on"), last=Max("enrolled_on"))
    today = cohort["now"].date()
    assert 330 <= (today - span["first"]).days <= 366  # follow-up up to about 12 months ...
    assert 25 <= (today - span["last"]).days <= 40  # ... and at least about one
    ages = {p.enrolled_on.year - p.birth_year for p in patients}
    assert min(ages) >= 25 and max(ages) <= 75 and len(ages) > 10
    assert len({p.jurisdiction for p in patients}) >= 5
    assert len({tuple(p.condition_codes) for p in patients.prefetch_related("conditions")}) >= 5


def test_doses_have_mg_and_follow_stable_escalating_tapering_and_stopping_patterns(
    cohort: dict[str, Any], db: Any
) -> None:
    doses = Dose.objects.filter(patient__code__startswith=RESEARCH_CODE_PREFIX)
    assert doses.count() == cohort["counts"]["doses"] > 20_000
    assert not doses.filter(mitragynine_mg__isnull=True).exists()
    assert not doses.filter(seven_oh_mg__isnull=True).exists()
    # Tapers: care plans with steps down to 0 mg, some completed (no dose for the last two weeks), some not.
    steps = TaperStep.objects.filter(plan__patient__code__startswith=RESEARCH_CODE_PREFIX)
    assert cohort["counts"]["care_plans"] >= 15
    assert steps.filter(target_mg=0).count() == cohort["counts"]["care_plans"]
    recent = cohort["now"] - dt.timedelta(days=14)
    tapered = set(steps.values_list("plan__patient_id", flat=True))
    dosing_now = set(doses.filter(taken_at__gte=recent).values_list("patient_id", flat=True))
    assert len(tapered - dosing_now) >= 3  # completed (or stopped) tapers
    assert len(tapered & dosing_now) >= 3  # stalled or ongoing tapers


def test_every_assessment_is_valid_and_the_instruments_show_change(cohort: dict[str, Any], db: Any) -> None:
    rows = Assessment.objects.filter(patient__code__startswith=RESEARCH_CODE_PREFIX)
    assert rows.count() == cohort["counts"]["assessments"]
    assert not rows.filter(valid=False).exists()
    assert set(rows.values_list("instrument_id", flat=True)) == {"peg", "pain_nrs", "phq9", "gad7", "dsm5_sud", "cows"}
    # A few reach 4 or more DSM-5 criteria after a baseline below 4.
    dsm = rows.filter(instrument_id="dsm5_sud").order_by("administered_at")
    first: dict[int, float] = {}
    later: dict[int, float] = {}
    for a in dsm:
        first.setdefault(a.patient_id, float(a.total or 0))
        later[a.patient_id] = max(later.get(a.patient_id, 0.0), float(a.total or 0))
    assert all(v < 4 for v in first.values())
    assert 2 <= sum(1 for v in later.values() if v >= 4) <= 15
    # IMMPACT: some pain patients reach 30% and 50% reduction in pain NRS by week 12, others do not.
    nrs = rows.filter(instrument_id="pain_nrs").select_related("patient")
    by_patient: dict[int, list[tuple[int, float]]] = {}
    for a in nrs:
        day = (a.administered_at.astimezone(ZoneInfo(a.patient.time_zone)).date() - a.patient.enrolled_on).days
        by_patient.setdefault(a.patient_id, []).append((day, float(a.total or 0)))
    reductions = []
    for points in by_patient.values():
        base = [v for d, v in points if d <= 6]
        week12 = [v for d, v in points if 84 <= d <= 90]
        if base and week12 and base[0] > 0:
            reductions.append((base[0] - week12[0]) / base[0])
    assert len(reductions) >= 30
    assert sum(r >= 0.5 for r in reductions) >= 5
    assert sum(r >= 0.3 for r in reductions) >= 10
    assert sum(r < 0.3 for r in reductions) >= 10
    # No PHQ-9 item 9 answer, no severe band: the cohort is mostly unremarkable in the alert queue.
    assert all(a.answers[8] == 0 for a in rows.filter(instrument_id="phq9"))


def test_adverse_events_at_a_few_percent_per_patient_month_some_serious(cohort: dict[str, Any], db: Any) -> None:
    events = AdverseEvent.objects.filter(patient__code__startswith=RESEARCH_CODE_PREFIX)
    months = sum(
        (cohort["now"].date() - d).days / 30.4
        for d in Patient.objects.filter(**COHORT).values_list("enrolled_on", flat=True)
    )
    assert 0.01 <= events.count() / months <= 0.08
    assert {e.grade for e in events} <= {1, 2, 3}
    assert 3 <= sum(1 for e in events if e.seriousness) <= events.count() // 2


def test_nothing_is_later_than_now_in_the_patients_zone(cohort: dict[str, Any], db: Any) -> None:
    now = cohort["now"]
    for patient in Patient.objects.filter(**COHORT):
        today = patient.local_today(now)
        assert patient.enrolled_on <= today
        latest = Dose.objects.filter(patient=patient).aggregate(at=Max("taken_at"), day=Max("local_date"))
        assert latest["at"] is None or (latest["at"] <= now and latest["day"] <= today)
        assert not Assessment.objects.filter(patient=patient, administered_at__gt=now).exists()
        assert not AdverseEvent.objects.filter(patient=patient, onset__gt=today).exists()
        first = Dose.objects.filter(patient=patient).aggregate(day=Min("local_date"))["day"]
        assert first is None or first >= patient.enrolled_on


def test_the_cohort_raises_few_urgent_or_high_alerts(cohort: dict[str, Any], db: Any) -> None:
    from kratomwatch.alerts.actions import evaluate_patients

    ids = list(Patient.objects.filter(**COHORT).values_list("pk", flat=True))
    evaluate_patients(ids)
    alerts = Alert.objects.filter(patient_id__in=ids, status="open")
    assert alerts.filter(severity__in=["urgent", "high"]).count() <= 6
    assert alerts.values("patient_id").distinct().count() <= 0.7 * len(ids)


def test_a_second_load_adds_nothing(cohort: dict[str, Any], db: Any) -> None:
    def state() -> tuple[int, ...]:
        return (
            Patient.objects.count(),
            Dose.objects.count(),
            Assessment.objects.count(),
            AdverseEvent.objects.count(),
            AuditEvent.objects.count(),
        )

    before = state()
    again = _load(cohort["program"], cohort["lots"], cohort["now"] + dt.timedelta(minutes=5))
    assert set(again.values()) == {0}
    assert state() == before
