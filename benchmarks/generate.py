"""Synthetic registry for benchmarks and bulk-load tests: N patients x D days of doses, deterministic.

The catalogue (program, products, lots) is created through ``records.actions``, patients through
``records.bulk.load_patients``; doses are returned as NumPy columns for
``records.bulk.load_dose_columns``, built without a Python loop per row. Every patient takes one
regimen (lot + unit) so all four potency bases occur: certificate per g, per unit and per mL (a
7-OH "enhanced" shot), natural-leaf estimate by teaspoon (with a range) and unknown (uncertified shot).

All data is synthetic; amounts are plausible self-reported amounts, not guidance of any kind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from kratomwatch.accounts import actions as account_actions
from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, record
from kratomwatch.consent import actions as consent_actions
from kratomwatch.consent.models import ConsentRecord
from kratomwatch.records import actions, bulk
from kratomwatch.records.models import Lot, Patient

#: (IANA zone, ISO 3166 jurisdiction): DST zones in both hemispheres and zones without DST.
PLACES = [
    ("America/Chicago", "US-TX"),
    ("America/New_York", "US-FL"),
    ("America/Los_Angeles", "US-CA"),
    ("America/Phoenix", "US-AZ"),
    ("Europe/London", "GB"),
    ("Asia/Bangkok", "TH"),
    ("Australia/Sydney", "AU-NSW"),
]

#: lot code -> (product, form, certificate, unit mass mg, dose unit, amount grid).
LOTS: dict[str, tuple[str, str, actions.CertificateIn | None, float | None, str, tuple[float, ...]]] = {
    "LEAF-CERT": ("Leaf", "leaf_powder", actions.CertificateIn("mg/g", 15.0, 0.2), None, "g", (2, 2.5, 3, 4, 5, 6)),
    "LEAF-PLAIN": ("Leaf", "leaf_powder", None, None, "teaspoon", (0.5, 1, 1.5, 2)),
    "CAPS": ("Caps", "capsule", actions.CertificateIn("mg/unit", 8.0, 0.4), 500.0, "capsule", (2, 3, 4, 6, 8)),
    "SHOT-CERT": ("Shot", "liquid_extract", actions.CertificateIn("mg/mL", 10.0, 1.0), None, "mL", (5, 10, 15, 30)),
    "SHOT-PLAIN": ("Shot", "liquid_extract", None, None, "mL", (5, 10, 30)),
}

SEED = 20261121
RESEARCH_CONSENT_SHARE = 0.9
"""Share of the registry's patients given an active research consent (the research export keeps only those)."""


@dataclass
class Registry:
    program: Program
    lots: dict[str, Lot]
    patient_ids: np.ndarray
    patient_zones: list[str]
    columns: dict[str, Any]
    start: dt.date
    days: int

    @property
    def n_doses(self) -> int:
        return len(self.columns["patient_id"])


def create_catalogue(actor: Actor, slug: str) -> tuple[Program, dict[str, Lot]]:
    program = account_actions.create_program(actor=actor, slug=slug, name=f"Benchmark {slug}")
    products: dict[str, Any] = {}
    lots: dict[str, Lot] = {}
    for code, (name, form, cert, unit_mass, _unit, _grid) in LOTS.items():
        if name not in products:
            products[name] = actions.create_product(actor=actor, program=program, vendor="Bench", name=name, form=form)
        lots[code] = actions.create_lot(
            actor=actor, product=products[name], lot_code=code, certificate=cert, unit_mass_mg=unit_mass
        )
    return program, lots


def grant_research_consent(
    *, actor: Actor, program: Program, patient_ids: np.ndarray, share: float, seed: int
) -> np.ndarray:
    """Research consent for about ``share`` of the patients, set-based: one published document of the program
    (``consent.actions.publish_document``) and one ``bulk_create`` of the signatures (a synthetic placeholder in
    place of each signed PDF), audited once. Its own random stream, so the doses do not depend on it. Returns the
    ids that consented."""
    chosen = patient_ids[np.random.default_rng(seed + 1).random(len(patient_ids)) < share]
    doc = consent_actions.publish_document(
        actor=actor,
        program=program,
        title="Benchmark consent (synthetic)",
        body="Synthetic benchmark registry: care and research consent of synthetic patients, no real person.",
        scopes=["care", "research"],
    )
    pdf = b"%PDF-1.4 synthetic benchmark placeholder, not a signed copy"
    digest = hashlib.sha256(pdf).hexdigest()
    when = dt.datetime.now(dt.UTC)
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                patient_id=pk,
                document=doc,
                scope="research",
                signed_name="Synthetic Patient",
                signed_at=when,
                pdf=pdf,
                pdf_sha256=digest,
            )
            for pk in chosen.tolist()
        ],
        batch_size=2000,
    )
    record(
        actor, "consent.bulk_load", object_type="consent_document", program_id=program.pk, detail={"rows": len(chosen)}
    )
    return chosen


def dose_columns(
    *,
    rng: np.random.Generator,
    patient_ids: np.ndarray,
    patient_zones: list[str],
    lots: dict[str, Lot],
    start: dt.date,
    days: int,
    doses_per_day: tuple[int, int],
) -> dict[str, Any]:
    """Columns for ``bulk.load_dose_columns``: ``low``-``high`` doses per patient-day, in (patient, time) order.

    Dose k of a day falls at 07:00 + 4 h x k + up to 3 h (local standard time), so even a DST
    shift keeps it on the same local day; local day and minute are then derived from the UTC
    instant in the patient's zone, as the write path does.
    """
    n_patients = len(patient_ids)
    low, high = doses_per_day
    counts = rng.integers(low, high + 1, size=n_patients * days) if high > low else np.full(n_patients * days, low)
    n = int(counts.sum())
    cell = np.repeat(np.arange(n_patients * days), counts)
    patient = cell // days
    day = cell % days
    k = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    seconds_local = (420 + 240 * k + rng.integers(0, 181, n)) * 60 + rng.integers(0, 60, n)

    zone_names = sorted(set(patient_zones))
    zone_of_patient = np.array([zone_names.index(z) for z in patient_zones])
    noon = dt.datetime.combine(start, dt.time(12))
    offsets = np.array([ZoneInfo(z).utcoffset(noon).total_seconds() for z in zone_names], dtype=np.int64)
    zone = zone_of_patient[patient]
    epoch_day = (start - dt.date(1970, 1, 1)).days
    taken_us = ((epoch_day + day) * 86_400 + seconds_local - offsets[zone]) * 1_000_000
    local_date = np.empty(n, dtype="datetime64[D]")
    local_minute = np.empty(n, dtype=np.int16)
    for z, name in enumerate(zone_names):
        rows = np.flatnonzero(zone == z)
        local_date[rows], local_minute[rows] = bulk.local_columns(taken_us[rows], name)

    codes = list(lots)
    regimen = rng.permutation(np.arange(n_patients) % len(codes))[patient]  # balanced: every lot in use
    amount = np.empty(n)
    unit = np.empty(n, dtype="<U10")
    mg = {name: np.empty(n) for name in bulk.MG_COLUMNS}
    mg["basis"] = np.empty(n, dtype="<U11")
    lot_id = np.empty(n, dtype=np.int64)
    for r, code in enumerate(codes):
        rows = np.flatnonzero(regimen == r)
        _, _, _, _, dose_unit, grid = LOTS[code]
        amount[rows] = rng.choice(np.asarray(grid, dtype=np.float64), rows.size)
        unit[rows] = dose_unit
        lot_id[rows] = lots[code].pk
        for name, values in bulk.lot_mg_columns(lots[code], amount[rows], dose_unit).items():
            mg[name][rows] = values
    keys = pl.select(
        pl.format("bench-{}-{}", pl.Series(day).cast(pl.String).str.zfill(5), pl.Series(k)).alias("idempotency_key")
    ).to_series()
    return {
        "patient_id": patient_ids[patient],
        "lot_id": lot_id,
        "taken_at": taken_us,
        "local_date": local_date,
        "local_minute": local_minute,
        "amount": amount,
        "unit": unit,
        "source": "import",
        "idempotency_key": keys,
        **mg,
    }


def make_registry(
    *,
    actor: Actor,
    patients: int,
    days: int,
    doses_per_day: tuple[int, int] = (1, 4),
    seed: int = SEED,
    end: dt.date | None = None,
    slug: str = "bench",
    research_consent: float = 0.0,
) -> Registry:
    """Create the catalogue and patients in the database and return the dose columns (not yet loaded).

    ``end`` is the last local day (default: two days before today, UTC, so that no dose in any zone
    is in the future); the registry covers ``days`` days up to it. ``research_consent``: the share of
    patients given an active research consent (:func:`grant_research_consent`; 0 = none, the default).
    """
    rng = np.random.default_rng(seed)
    end = end or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    start = end - dt.timedelta(days=days - 1)
    program, lots = create_catalogue(actor, slug)
    places = rng.integers(len(PLACES), size=patients)
    zones = [PLACES[i][0] for i in places]
    ids = bulk.load_patients(
        actor=actor,
        program=program,
        codes=[f"{slug.upper()}-{i:06d}" for i in range(patients)],
        birth_years=rng.integers(1950, 2005, size=patients),
        sexes=[("female", "male")[i] for i in rng.integers(2, size=patients)],
        time_zones=zones,
        jurisdictions=[PLACES[i][1] for i in places],
    )
    # Enrolled on the registry's first day, so that the doses fall on study days 0 and later (set-based).
    Patient.objects.filter(pk__in=ids.tolist()).update(enrolled_on=start)
    if research_consent > 0:
        grant_research_consent(actor=actor, program=program, patient_ids=ids, share=research_consent, seed=seed)
    columns = dose_columns(
        rng=rng,
        patient_ids=ids,
        patient_zones=zones,
        lots=lots,
        start=start,
        days=days,
        doses_per_day=doses_per_day,
    )
    return Registry(program, lots, ids, zones, columns, start, days)


#: Weekly questionnaires of the synthetic analysis frames: instrument -> highest total.
WEEKLY_INSTRUMENTS = {"peg": 10.0, "pain_nrs": 10.0, "phq9": 27.0, "gad7": 21.0, "dsm5_sud": 11.0}


def analysis_frames(study_ids: list[str], days: int, seed: int = SEED) -> dict[str, pl.DataFrame]:
    """Synthetic assessments, adverse events and taper steps in the layout of a study-days research export (the
    benchmark registry records doses only), for timing the cohort analyses on a registry-sized snapshot. NumPy and
    Polars, no loop per row. Weekly PEG, pain NRS, PHQ-9, GAD-7 and DSM-5 counts drifting a little over the year,
    about 0.4 adverse events per participant, and a four-step taper for a third of the participants. Synthetic
    numbers, no clinical meaning."""
    rng = np.random.default_rng(seed + 2)
    n, weeks = len(study_ids), max(days // 7, 1)
    ids = np.asarray(study_ids)
    names = list(WEEKLY_INSTRUMENTS)
    person = np.repeat(np.arange(n), weeks * len(names))
    week = np.tile(np.repeat(np.arange(weeks), len(names)), n)
    instrument = np.tile(np.arange(len(names)), n * weeks)
    top = np.array(list(WEEKLY_INSTRUMENTS.values()))[instrument]
    level = rng.uniform(0.3, 0.8, n)[person] - 0.002 * week + rng.normal(0, 0.08, person.size)
    total = np.round(np.clip(level, 0, 1) * top)
    answered = rng.random(person.size) < 0.85  # missed weeks
    assessments = (
        pl.DataFrame(
            {
                "study_id": ids[person[answered]],
                "date_study_day": (week * 7 + rng.integers(0, 7, person.size))[answered].astype(np.int64),
                "instrument_id": np.asarray(names)[instrument[answered]],
                "total": total[answered],
                "valid": np.ones(int(answered.sum()), dtype=np.int8),
            }
        )
        .with_row_index("assessment_no", offset=1)
        .with_columns(pl.col("assessment_no").cast(pl.Int64))
    )
    events = rng.poisson(0.4, n)
    who = np.repeat(np.arange(n), events)
    grade = rng.choice([1, 1, 1, 2, 2, 3], who.size)
    systems = np.array(["Gastrointestinal disorders", "Nervous system disorders", "Psychiatric disorders"])
    adverse_events = pl.DataFrame(
        {
            "study_id": ids[who],
            "onset_study_day": rng.integers(0, days, who.size).astype(np.int64),
            "grade": grade.astype(np.int64),
            "system": systems[rng.integers(0, systems.size, who.size)],
            "seriousness": np.where(grade >= 3, "hospitalization", ""),
            "outcome": "recovered",
            "causality": "possible",
            "action_taken": "none",
        }
    )
    tapering = np.flatnonzero(rng.random(n) < 1 / 3)
    step = np.tile(np.arange(4), tapering.size)
    taper_steps = pl.DataFrame(
        {
            "study_id": ids[np.repeat(tapering, 4)],
            "start_study_day": (30 + 28 * step).astype(np.int64),
            "target_mg": (60.0 - 20.0 * step).astype(np.float64),
        }
    )
    return {"assessments": assessments, "adverse_events": adverse_events, "taper_steps": taper_steps}
