"""Synthetic demo program: deterministic, idempotent, written through the actions like any other data.

All data is synthetic. Dose amounts are plausible self-reported amounts for a monitoring demo, not
guidance of any kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction
from django.utils import timezone

from kratomwatch.accounts import actions as account_actions
from kratomwatch.accounts.actions import create_user
from kratomwatch.accounts.models import Program
from kratomwatch.assessments.demo import load_demo_assessments
from kratomwatch.audit.log import Actor
from kratomwatch.records import actions
from kratomwatch.records.models import Dose, Patient

DEMO_SLUG = "demo"
OTHER_SLUG = "other-clinic"
DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - synthetic demo only; printed by `make run`
DEMO_LOGINS = [
    ("admin", DEMO_PASSWORD, "staff administrator"),
    ("clinician", DEMO_PASSWORD, "clinician, demo program"),
    ("programadmin", DEMO_PASSWORD, "program admin, demo program"),
    ("researcher", DEMO_PASSWORD, "researcher, demo program"),
    ("patient", DEMO_PASSWORD, "patient KW-001"),
    ("otherclinician", DEMO_PASSWORD, "clinician, other clinic (sees none of the demo patients)"),
]

PLACES = [
    ("America/Chicago", "US-TX"),
    ("America/New_York", "US-FL"),
    ("America/Denver", "US-CO"),
    ("America/Chicago", "US-OK"),
    ("America/Los_Angeles", "US-CA"),
    ("America/New_York", "US-NY"),
    ("America/New_York", "US-WV"),
    ("Europe/London", "GB"),
    ("Asia/Bangkok", "TH"),
    ("America/Chicago", "US-IL"),
]
CONDITION_SETS = [
    ["chronic_pain"],
    ["chronic_pain", "depression"],
    ["neuropathic_pain"],
    ["opioid_use_disorder"],
    ["opioid_use_disorder", "anxiety"],
    ["adhd"],
    ["chronic_pain", "anxiety"],
    ["kratom_use_disorder"],
    ["neuropathic_pain", "depression"],
    ["adhd", "anxiety"],
]
MEDICATIONS = [
    ("Suboxone", "8 mg/2 mg SL daily"),
    ("gabapentin", "300 mg TID"),
    ("Xanax", "0.5 mg PRN"),
    ("sertraline", "50 mg daily"),
    ("Adderall XR", "20 mg daily"),
    ("methadone", "60 mg daily"),
    ("ibuprofen", "400 mg PRN"),
    ("quetiapine", "50 mg at night"),
    ("naltrexone", "50 mg daily"),
    ("duloxetine", "60 mg daily"),
    ("atorvastatin", "20 mg daily"),
    ("oxycodone", "5 mg PRN"),
]
AES = [
    ("Constipation", 1, [], "recovering"),
    ("Nausea", 1, [], "recovered"),
    ("Insomnia", 2, [], "not_recovered"),
    ("Seizure", 3, ["hospitalization"], "recovered"),
    ("Anorexia", 1, [], "recovering"),
    ("Hepatitis cholestatic", 3, ["hospitalization", "medically_important"], "recovering"),
    ("Tachycardia", 2, [], "recovered"),
    ("Pruritus", 1, [], "recovered"),
]


def _products(actor: Actor, program: Program) -> list[tuple[Any, float, str]]:
    """(lot, typical amount, unit) per demo product."""
    cert = actions.CertificateIn
    spec = [
        (
            "Leafline",
            "Green Maeng Da powder",
            "leaf_powder",
            "GMD-2411",
            cert(
                "mg/g",
                16.0,
                0.1,
                {"paynantheine": 4.1, "speciogynine": 3.0},
                "Demo Analytical Lab",
                dt.date(2026, 6, 1),
            ),
            None,
            1.6,
            3.0,
            "g",
        ),
        ("Leafline", "Red Bali powder", "leaf_powder", "RB-0925", None, None, None, 2.0, "teaspoon"),
        (
            "Capsa",
            "Kratom capsules 500 mg",
            "capsule",
            "CAP-77",
            cert("mg/unit", 8.0, 0.05, {}, "Demo Analytical Lab", dt.date(2026, 5, 2)),
            500.0,
            None,
            4.0,
            "capsule",
        ),
        ("ShotCo", "Extra strength shot", "liquid_extract", "SHOT-5", None, None, None, 15.0, "mL"),
        (
            "Hydroxy Labs",
            "7-OH tablets",
            "seven_oh_product",
            "7T-12",
            cert("mg/unit", 1.0, 15.0, {}, "Demo Analytical Lab", dt.date(2026, 7, 15)),
            250.0,
            None,
            1.0,
            "tablet",
        ),
        (
            "Leafline",
            "Crushed leaf tea cut",
            "crushed_leaf",
            "CL-33",
            cert("mg/g", 14.0, 0.08, {}, "Demo Analytical Lab", dt.date(2026, 4, 20)),
            None,
            1.2,
            4.0,
            "g",
        ),
    ]
    out = []
    for vendor, name, form, lot_code, certificate, unit_mass, gpt, amount, unit in spec:
        product = actions.create_product(actor=actor, program=program, vendor=vendor, name=name, form=form)
        lot = actions.create_lot(
            actor=actor,
            product=product,
            lot_code=lot_code,
            certificate=certificate,
            unit_mass_mg=unit_mass,
            grams_per_teaspoon=gpt,
        )
        out.append((lot, amount, unit))
    return out


def load_demo(
    *,
    patients: int = 36,
    days: int = 90,
    seed: int = 20261121,
    step: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Create the demo program once. A second call finds it and changes nothing."""
    existing = Program.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return {
            "program": existing.name,
            "status": "already loaded",
            "patients": Patient.objects.filter(program=existing).count(),
            "doses": Dose.objects.filter(patient__program=existing).count(),
        }
    with transaction.atomic():
        return _load(
            patients=patients,
            days=days,
            seed=seed,
            step=step or (lambda n, t: None),
            now=now or timezone.now(),
        )


def _load(*, patients: int, days: int, seed: int, step: Callable[[int, int], None], now: dt.datetime) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    actor = Actor.system("demo")
    program = account_actions.create_program(actor=actor, slug=DEMO_SLUG, name="Demo pain and addiction program")
    other = account_actions.create_program(actor=actor, slug=OTHER_SLUG, name="Other clinic")
    lots = _products(actor, program)
    today = now.date()
    rows: list[tuple[int, actions.DoseIn]] = []
    for i in range(patients):
        tz, jurisdiction = PLACES[i % len(PLACES)]
        patient = actions.create_patient(
            actor=actor,
            program=program,
            code=f"KW-{i + 1:03d}",
            birth_year=int(rng.integers(1958, 2003)),
            sex=str(rng.choice(["female", "male"])),
            time_zone=tz,
            jurisdiction=jurisdiction,
            conditions=CONDITION_SETS[i % len(CONDITION_SETS)],
            pregnant=i == 11,
            liver_disease=i % 13 == 5,
            seizure_disorder=i % 17 == 3,
            cardiac_qt=i % 11 == 7,
        )
        lot, base_amount, unit = lots[i % len(lots)] if i % 7 else lots[(i // 7) % len(lots)]
        # Trajectories: stable, escalating, tapering, or stopping partway.
        pattern = ["stable", "escalating", "tapering", "stable", "stopping"][i % 5]
        per_day = 1 + int(rng.integers(0, 3))
        for d in range(days):
            day = today - dt.timedelta(days=days - d)
            frac = d / max(days - 1, 1)
            factor = {
                "stable": 1.0,
                # Escalating: steady, then a clear step up over the last week.
                "escalating": 1.0 if d < days - 7 else 1.9,
                "tapering": 1.0 - 0.6 * frac,
                "stopping": 1.0 if frac < 0.7 else 0.0,
            }[pattern]
            if factor == 0.0:
                continue
            n = per_day + (1 if pattern == "escalating" and d >= days - 7 else 0)
            for k in range(n):
                hour = 7 + int(rng.integers(0, 3)) + k * 5 - (2 if pattern == "escalating" and d >= days - 7 else 0)
                minute = int(rng.integers(0, 60))
                local = dt.datetime.combine(day, dt.time(hour % 24, minute))
                taken = local.replace(tzinfo=ZoneInfo(tz))
                amount = max(0.25, round(base_amount * factor * float(rng.uniform(0.8, 1.2)), 2))
                if unit in ("capsule", "tablet"):
                    amount = max(1.0, round(amount))
                rows.append(
                    (
                        len(rows) + 1,
                        actions.DoseIn(
                            patient_code=patient.code,
                            lot_id=lot.pk,
                            taken_at=taken,
                            amount=amount,
                            unit=unit,
                            source="self_report" if k % 2 == 0 else "clinician",
                            idempotency_key=f"demo-{patient.code}-{d}-{k}",
                        ),
                    )
                )
        for j in range(int(rng.integers(0, 4))):
            name, dose_text = MEDICATIONS[(i + 3 * j) % len(MEDICATIONS)]
            actions.record_medication(
                actor=actor,
                patient=patient,
                name=name,
                dose_text=dose_text,
                start=today - dt.timedelta(days=int(rng.integers(30, 400))),
            )
        if i % 3 == 0:
            alt_factor = 6.0 if i == 9 else float(rng.uniform(0.4, 1.3))
            bili_factor = 2.5 if i == 9 else float(rng.uniform(0.3, 0.9))
            when = now - dt.timedelta(days=int(rng.integers(1, 60)))
            actions.record_lab(
                actor=actor,
                patient=patient,
                test="alt",
                value=round(40 * alt_factor, 1),
                unit="U/L",
                upper_limit_normal=40,
                taken_at=when,
                now=now,
            )
            actions.record_lab(
                actor=actor,
                patient=patient,
                test="ast",
                value=round(35 * alt_factor * 0.8, 1),
                unit="U/L",
                upper_limit_normal=35,
                taken_at=when,
                now=now,
            )
            actions.record_lab(
                actor=actor,
                patient=patient,
                test="alp",
                value=round(float(rng.uniform(50, 140)), 1),
                unit="U/L",
                upper_limit_normal=120,
                taken_at=when,
                now=now,
            )
            actions.record_lab(
                actor=actor,
                patient=patient,
                test="total_bilirubin",
                value=round(1.2 * bili_factor, 2),
                unit="mg/dL",
                upper_limit_normal=1.2,
                taken_at=when,
                now=now,
            )
        if i % 4 == 1:
            qtc = 512.0 if i == 13 else float(round(rng.uniform(400, 460)))
            actions.record_lab(
                actor=actor,
                patient=patient,
                test="qtc",
                value=qtc,
                unit="ms",
                upper_limit_normal=None,
                taken_at=now - dt.timedelta(days=int(rng.integers(1, 80))),
                now=now,
            )
        if i % 2 == 0:
            term, grade, serious, outcome = AES[(i // 2) % len(AES)]
            actions.record_adverse_event(
                actor=actor,
                patient=patient,
                term=term,
                onset=today - dt.timedelta(days=int(rng.integers(1, days))),
                grade=grade,
                seriousness=serious,
                outcome=outcome,
                causality="possible",
                action_taken="none",
                today=today,
            )
        step(i + 1, patients)
    other_patient = actions.create_patient(
        actor=actor,
        program=other,
        code="OC-001",
        birth_year=1980,
        sex="male",
        time_zone="America/Chicago",
        jurisdiction="US-TX",
        conditions=["chronic_pain"],
    )
    result = actions.import_doses(actor=actor, rows=rows, now=now)
    if not result.ok:
        line, exc = result.rejected[0]
        raise RuntimeError(f"demo dose {line} rejected: {exc.field}={exc.value!r}: {exc.message}")
    for username, password, _label in DEMO_LOGINS:
        kind = {
            "admin": "staff",
            "clinician": "clinician",
            "programadmin": "program_admin",
            "researcher": "researcher",
            "patient": "patient",
            "otherclinician": "clinician",
        }[username]
        create_user(
            actor=actor,
            username=username,
            password=password,
            role=kind,
            program_slug=OTHER_SLUG if username == "otherclinician" else DEMO_SLUG,
            patient_code="KW-001" if kind == "patient" else None,
            check_password=False,
        )
    load_demo_assessments(program, now, rng)
    _demo_consent(actor, program, other, now)
    from kratomwatch.alerts.actions import sweep

    sweep(actor=actor, program=program, now=now)
    return {
        "program": program.name,
        "status": "created",
        "patients": patients + (1 if other_patient else 0),
        "doses": result.created,
    }


CONSENT_TEXT = (
    "This program records the kratom products you use, your doses, medications, laboratory results, side "
    "effects and questionnaires so that your care team can monitor benefits and harms with you. kratomwatch "
    "never recommends a kratom dose. Research consent lets de-identified data be used in research exports; "
    "you can withdraw any consent at any time. (Synthetic demo text.)"
)


def _demo_consent(actor: Actor, program: Program, other: Program, now: dt.datetime) -> None:
    """Every demo patient signs care consent; most also research consent, and two have withdrawn it."""
    from kratomwatch.consent import actions as consent_actions

    for prog in (program, other):
        doc = consent_actions.publish_document(
            actor=actor,
            program=prog,
            title="Monitoring and research consent",
            body=CONSENT_TEXT,
            scopes=["care", "research"],
            now=now,
        )
        for index, patient in enumerate(Patient.objects.filter(program=prog).order_by("code")):
            scopes = ["care"] if index % 6 == 5 else ["care", "research"]
            consent_actions.sign(
                actor=actor,
                patient=patient,
                document=doc,
                scopes=scopes,
                typed_name=f"Demo patient {patient.code}",
                now=now,
            )
            if index in (3, 8):
                consent_actions.withdraw(actor=actor, patient=patient, scope="research", now=now)
