"""Synthetic FAERS quarterly ASCII extracts, in the published layout, for tests and benchmarks (real quarters cannot
be downloaded here). Drug and reaction frequencies are skewed (Zipf-like), kratom appears under several of its
spellings, cases get follow-up versions in later quarters, some cases are on a deleted list, and ``malformed``
lines with a wrong number of fields can be mixed in. Deterministic for a given seed. No real report is reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kratomwatch.surveillance.faers import zip_bytes

__all__ = ["DEMO_COLUMNS", "DRUG_COLUMNS", "REAC_COLUMNS", "SyntheticQuarter", "quarter"]

DEMO_COLUMNS = "primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$age$age_cod$sex"
DRUG_COLUMNS = "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$route$dose_vbm"
REAC_COLUMNS = "primaryid$caseid$pt$drug_rec_act"
DRUGS = [
    "ACETAMINOPHEN", "IBUPROFEN", "OXYCODONE", "METHADONE", "BUPRENORPHINE", "GABAPENTIN", "SERTRALINE",
    "ALPRAZOLAM", "HUMIRA", "METFORMIN", "LISINOPRIL", "ATORVASTATIN", "NALOXONE", "TRAMADOL", "FENTANYL",
]  # fmt: skip
DRUGS += [f"DRUG {i:04d}" for i in range(1, 400)]
KRATOM_NAMES = ["KRATOM", "KRATOM POWDER", "MITRAGYNA SPECIOSA", "MAENG DA KRATOM", "O.P.M.S. LIQUID KRATOM"]
EVENTS = [
    "NAUSEA", "VOMITING", "HEADACHE", "DIZZINESS", "FATIGUE", "DRUG INEFFECTIVE", "SEIZURE", "DEATH",
    "WITHDRAWAL SYNDROME", "DRUG DEPENDENCE", "HEPATOTOXICITY", "RASH", "OVERDOSE", "TACHYCARDIA", "INSOMNIA",
]  # fmt: skip

EVENTS += [f"EVENT {i:03d}" for i in range(1, 300)]


@dataclass(frozen=True)
class SyntheticQuarter:
    name: str  # "24Q1"
    zip: bytes
    cases: int
    malformed: int
    deleted: tuple[str, ...]


def _zipf(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** 1.1
    return rng.choice(size, n, p=weights / weights.sum())


def quarter(
    year: int,
    q: int,
    *,
    cases: int = 200,
    first_caseid: int = 1_000_000,
    followups_of: tuple[int, ...] = (),
    deleted: tuple[int, ...] = (),
    malformed: int = 0,
    kratom_share: float = 0.05,
    seed: int = 0,
) -> SyntheticQuarter:
    """One quarter: ``cases`` new cases numbered from ``first_caseid`` (version 1), plus version 2 of each caseid
    in ``followups_of`` (follow-ups of earlier quarters), ``malformed`` broken lines in DRUG, and a deleted-cases
    list with ``deleted``. Kratom cases lean towards withdrawal, dependence and seizure, so a signal exists."""
    rng = np.random.default_rng(seed)
    name = f"{year % 100:02d}Q{q}"
    demo = [DEMO_COLUMNS]
    drug = [DRUG_COLUMNS]
    reac = [REAC_COLUMNS]
    fda_dt = f"{year}{3 * q - 1:02d}15"
    versions = [(first_caseid + i, 1) for i in range(cases)] + [(c, 2) for c in followups_of]
    for caseid, version in versions:
        primaryid = f"{caseid}{version}"
        sex = "FM"[int(rng.integers(2))]
        age = int(rng.integers(18, 90))
        dates = f"${fda_dt}${fda_dt}${fda_dt}"
        demo.append(f"{primaryid}${caseid}${version}${'IF'[version > 1]}${dates}$EXP${age}$YR${sex}")
        is_kratom = rng.random() < kratom_share
        names = [DRUGS[i] for i in set(_zipf(rng, len(DRUGS), int(rng.integers(1, 4))).tolist())]
        if is_kratom:
            names.insert(0, KRATOM_NAMES[int(rng.integers(len(KRATOM_NAMES)))])
        for seq, drugname in enumerate(names, start=1):
            role = "PS" if seq == 1 else ("SS" if seq == 2 else "C")
            drug.append(f'{primaryid}${caseid}${seq}${role}${drugname}${drugname}$ORAL$1 "DOSE"')
        events = {EVENTS[i] for i in _zipf(rng, len(EVENTS), int(rng.integers(1, 4))).tolist()}
        if is_kratom:
            events.add(["WITHDRAWAL SYNDROME", "DRUG DEPENDENCE", "SEIZURE"][int(rng.integers(3))])
        reac.extend(f"{primaryid}${caseid}${pt}$" for pt in sorted(events))
    drug.extend(f"{first_caseid + k}1$BROKEN$LINE" for k in range(malformed))
    files = {
        f"ascii/DEMO{name}.txt": "\n".join(demo) + "\n",
        f"ascii/DRUG{name}.txt": "\n".join(drug) + "\n",
        f"ascii/REAC{name}.txt": "\n".join(reac) + "\n",
    }
    if deleted:
        files[f"deleted/DELETE{name}.txt"] = "\n".join(str(c) for c in deleted) + "\n"
    return SyntheticQuarter(
        name=name, zip=zip_bytes(files), cases=len(versions), malformed=malformed, deleted=tuple(map(str, deleted))
    )
