"""Synthetic FAERS quarterly ASCII extracts, in the published layout, for tests and benchmarks (real quarters cannot
be downloaded here). No real report is reproduced. Deterministic for a given seed.

Two generators:

- :func:`quarter`: a small quarter (DEMO, DRUG, REAC) as zip bytes, one Python loop per report, for unit tests:
  kratom leans towards withdrawal, dependence and seizure.
- :func:`write_quarter` / :func:`write_quarters`: FAERS-sized data, vectorised (numpy draws, polars strings, no Python
  loop per row). All seven files (DEMO, DRUG, REAC, OUTC, RPSR, THER, INDI), ``$``-separated with a header and no
  quoting, with the columns of the FDA's ASC_NTS as listed in the reference notes (current FAERS layout since
  2012Q4; the ISR-based legacy AERS layout up to 2012Q3), the deleted-case list, follow-up versions (caseversion + 1,
  primaryid = caseid followed by the version), malformed lines (wrong number of fields) in DRUG and REAC, and a few
  Latin-1 drug names in some quarters. About 4 drug rows and 3 reactions per report, as in FAERS (18.2 M reports and
  74.1 M drug entries 2004 to 2022, DiAna dictionary preprint, medRxiv 2023.06.07.23291076). Product names are
  Zipf-skewed over 20,000 names with verbatim variants (lower case, a strength appended); events over 8,000 PTs.
  Each product has a few events it is reported with more often, at a relative rate from a two-gamma mixture, on top
  of class-specific event profiles, so the Gamma-Poisson Shrinker's two-gamma prior (DuMouchel 1999, Am Stat
  53:177-190) has something to fit; kratom (several spellings) and 7-OH products come with elevated withdrawal,
  dependence, seizure, death, toxicity and liver events and more deaths and hospitalisations among outcomes.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Literal

import numpy as np
import polars as pl

from kratomwatch.surveillance.layouts import FAERS_COLUMNS, LAERS_COLUMNS

__all__ = [
    "DEMO_COLUMNS",
    "DRUG_COLUMNS",
    "FAERS_COLUMNS",
    "LAERS_COLUMNS",
    "REAC_COLUMNS",
    "QuarterFiles",
    "SyntheticQuarter",
    "Vocabulary",
    "quarter",
    "vocabulary",
    "write_quarter",
    "write_quarters",
]

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


# ---------------------------------------------------------------------------------------------------------------
# Full-scale generator: every file of a quarter, vectorised (numpy draws, polars strings), no Python loop per row.
# ---------------------------------------------------------------------------------------------------------------

LAERS_LAST = (2012, 3)  # the last quarter published in the legacy layout; FAERS from 2012Q4

# Common products first (drugname as a valid trade name or generic, prod_ai its active ingredient), in a rough order
# of how often FAERS names them; then synthetic names up to the vocabulary size.
COMMON_PRODUCTS: tuple[tuple[str, str], ...] = (
    ("HUMIRA", "ADALIMUMAB"), ("REVLIMID", "LENALIDOMIDE"), ("ENBREL", "ETANERCEPT"), ("XARELTO", "RIVAROXABAN"),
    ("ACETAMINOPHEN", "ACETAMINOPHEN"), ("ASPIRIN", "ASPIRIN"), ("PREDNISONE", "PREDNISONE"),
    ("METHOTREXATE", "METHOTREXATE"), ("OTEZLA", "APREMILAST"), ("DUPIXENT", "DUPILUMAB"), ("ELIQUIS", "APIXABAN"),
    ("OMEPRAZOLE", "OMEPRAZOLE"), ("METFORMIN", "METFORMIN HYDROCHLORIDE"), ("LISINOPRIL", "LISINOPRIL"),
    ("ATORVASTATIN", "ATORVASTATIN CALCIUM"), ("OXYCODONE", "OXYCODONE HYDROCHLORIDE"), ("IBUPROFEN", "IBUPROFEN"),
    ("GABAPENTIN", "GABAPENTIN"), ("LEVOTHYROXINE", "LEVOTHYROXINE SODIUM"), ("AMLODIPINE", "AMLODIPINE BESYLATE"),
    ("FUROSEMIDE", "FUROSEMIDE"), ("KEYTRUDA", "PEMBROLIZUMAB"), ("OZEMPIC", "SEMAGLUTIDE"), ("LYRICA", "PREGABALIN"),
    ("SERTRALINE", "SERTRALINE HYDROCHLORIDE"), ("ALPRAZOLAM", "ALPRAZOLAM"), ("TRAMADOL", "TRAMADOL HYDROCHLORIDE"),
    ("FENTANYL", "FENTANYL"), ("METHADONE", "METHADONE HYDROCHLORIDE"), ("BUPRENORPHINE", "BUPRENORPHINE"),
    ("SUBOXONE", "BUPRENORPHINE\\NALOXONE"), ("NALOXONE", "NALOXONE HYDROCHLORIDE"), ("HYDROCODONE", "HYDROCODONE"),
    ("MORPHINE", "MORPHINE SULFATE"), ("HEROIN", "DIACETYLMORPHINE"), ("COCAINE", "COCAINE"),
    ("ETHANOL", "ALCOHOL"), ("CLONAZEPAM", "CLONAZEPAM"), ("QUETIAPINE", "QUETIAPINE FUMARATE"),
    ("ESCITALOPRAM", "ESCITALOPRAM OXALATE"), ("FLUOXETINE", "FLUOXETINE HYDROCHLORIDE"),
    ("BUPROPION", "BUPROPION HYDROCHLORIDE"), ("TRAZODONE", "TRAZODONE HYDROCHLORIDE"), ("ZOLPIDEM", "ZOLPIDEM"),
    ("WARFARIN", "WARFARIN SODIUM"), ("CLOPIDOGREL", "CLOPIDOGREL BISULFATE"), ("INSULIN GLARGINE", "INSULIN GLARGINE"),
    ("TRULICITY", "DULAGLUTIDE"), ("JARDIANCE", "EMPAGLIFLOZIN"), ("ENTRESTO", "SACUBITRIL\\VALSARTAN"),
    ("STELARA", "USTEKINUMAB"), ("REMICADE", "INFLIXIMAB"), ("COSENTYX", "SECUKINUMAB"), ("XELJANZ", "TOFACITINIB"),
    ("RINVOQ", "UPADACITINIB"), ("OPDIVO", "NIVOLUMAB"), ("IBRANCE", "PALBOCICLIB"), ("IMBRUVICA", "IBRUTINIB"),
    ("VELCADE", "BORTEZOMIB"), ("DEXAMETHASONE", "DEXAMETHASONE"), ("CYCLOPHOSPHAMIDE", "CYCLOPHOSPHAMIDE"),
    ("CISPLATIN", "CISPLATIN"), ("CARBOPLATIN", "CARBOPLATIN"), ("PACLITAXEL", "PACLITAXEL"),
    ("RITUXAN", "RITUXIMAB"), ("HERCEPTIN", "TRASTUZUMAB"), ("AVASTIN", "BEVACIZUMAB"), ("PROLIA", "DENOSUMAB"),
    ("XOLAIR", "OMALIZUMAB"), ("NUCALA", "MEPOLIZUMAB"), ("SINGULAIR", "MONTELUKAST SODIUM"),
    ("ALBUTEROL", "ALBUTEROL SULFATE"), ("SYMBICORT", "BUDESONIDE\\FORMOTEROL"), ("ADVAIR", "FLUTICASONE\\SALMETEROL"),
    ("CHANTIX", "VARENICLINE TARTRATE"), ("ADDERALL", "AMPHETAMINE ASPARTATE\\AMPHETAMINE SULFATE"),
    ("METHYLPHENIDATE", "METHYLPHENIDATE HYDROCHLORIDE"), ("LAMOTRIGINE", "LAMOTRIGINE"),
    ("LEVETIRACETAM", "LEVETIRACETAM"), ("VALPROIC ACID", "VALPROIC ACID"), ("LITHIUM", "LITHIUM CARBONATE"),
    ("ARIPIPRAZOLE", "ARIPIPRAZOLE"), ("OLANZAPINE", "OLANZAPINE"), ("RISPERIDONE", "RISPERIDONE"),
    ("DIPHENHYDRAMINE", "DIPHENHYDRAMINE HYDROCHLORIDE"), ("LORAZEPAM", "LORAZEPAM"), ("DIAZEPAM", "DIAZEPAM"),
    ("CYCLOBENZAPRINE", "CYCLOBENZAPRINE HYDROCHLORIDE"), ("PANTOPRAZOLE", "PANTOPRAZOLE SODIUM"),
    ("SIMVASTATIN", "SIMVASTATIN"), ("ROSUVASTATIN", "ROSUVASTATIN CALCIUM"), ("METOPROLOL", "METOPROLOL TARTRATE"),
    ("CARVEDILOL", "CARVEDILOL"), ("LOSARTAN", "LOSARTAN POTASSIUM"), ("HYDROCHLOROTHIAZIDE", "HYDROCHLOROTHIAZIDE"),
    ("SPIRONOLACTONE", "SPIRONOLACTONE"), ("POTASSIUM CHLORIDE", "POTASSIUM CHLORIDE"),
    ("VITAMIN D3", "CHOLECALCIFEROL"), ("FOLIC ACID", "FOLIC ACID"), ("MAGNESIUM", "MAGNESIUM"),
    ("CBD OIL", "CANNABIDIOL"), ("CANNABIS", "CANNABIS SATIVA"),
    ("METHAMPHETAMINE", "METHAMPHETAMINE"), ("NICOTINE", "NICOTINE"), ("CAFFEINE", "CAFFEINE"),
    ("LOPERAMIDE", "LOPERAMIDE HYDROCHLORIDE"), ("ONDANSETRON", "ONDANSETRON"), ("AMOXICILLIN", "AMOXICILLIN"),
    ("CIPROFLOXACIN", "CIPROFLOXACIN"), ("LEVOFLOXACIN", "LEVOFLOXACIN"), ("AZITHROMYCIN", "AZITHROMYCIN"),
    ("DOXYCYCLINE", "DOXYCYCLINE"), ("VANCOMYCIN", "VANCOMYCIN"), ("PAXLOVID", "NIRMATRELVIR\\RITONAVIR"),
    ("BIKTARVY", "BICTEGRAVIR\\EMTRICITABINE\\TENOFOVIR ALAFENAMIDE"), ("HARVONI", "LEDIPASVIR\\SOFOSBUVIR"),
    ("ISOTRETINOIN", "ISOTRETINOIN"), ("FINASTERIDE", "FINASTERIDE"), ("TAMSULOSIN", "TAMSULOSIN HYDROCHLORIDE"),
    ("SILDENAFIL", "SILDENAFIL CITRATE"), ("ESTRADIOL", "ESTRADIOL"), ("MIRENA", "LEVONORGESTREL"),
    ("NEXPLANON", "ETONOGESTREL"), ("ALENDRONATE", "ALENDRONATE SODIUM"), ("ALLOPURINOL", "ALLOPURINOL"),
    ("COLCHICINE", "COLCHICINE"), ("HYDROXYCHLOROQUINE", "HYDROXYCHLOROQUINE SULFATE"), ("TACROLIMUS", "TACROLIMUS"),
    ("MYCOPHENOLATE MOFETIL", "MYCOPHENOLATE MOFETIL"), ("CYCLOSPORINE", "CYCLOSPORINE"), ("HEPARIN", "HEPARIN SODIUM"),
    ("ENOXAPARIN", "ENOXAPARIN SODIUM"), ("AMIODARONE", "AMIODARONE HYDROCHLORIDE"), ("DIGOXIN", "DIGOXIN"),
)  # fmt: skip
# Preferred Terms (MedDRA PT text as FAERS prints it), commonest first; then synthetic terms up to the vocabulary size.
COMMON_EVENTS: tuple[str, ...] = (
    "DRUG INEFFECTIVE", "OFF LABEL USE", "FATIGUE", "NAUSEA", "DEATH", "HEADACHE", "DIARRHOEA", "PAIN",
    "PRODUCT USE IN UNAPPROVED INDICATION", "DYSPNOEA", "DIZZINESS", "VOMITING", "MALAISE", "ARTHRALGIA", "RASH",
    "PRURITUS", "INAPPROPRIATE SCHEDULE OF PRODUCT ADMINISTRATION", "PYREXIA", "ASTHENIA", "FALL",
    "PNEUMONIA", "TOXICITY TO VARIOUS AGENTS", "ANXIETY", "INSOMNIA", "WEIGHT DECREASED", "PAIN IN EXTREMITY",
    "COVID-19", "CONDITION AGGRAVATED", "HYPERTENSION", "COUGH", "OVERDOSE", "DEPRESSION", "BACK PAIN",
    "ABDOMINAL PAIN", "HYPOTENSION", "SOMNOLENCE", "CONFUSIONAL STATE", "ALOPECIA", "DRUG INTERACTION",
    "PRODUCT DOSE OMISSION ISSUE", "CHEST PAIN", "DEHYDRATION", "INFECTION", "ANAEMIA", "TREMOR",
    "ACUTE KIDNEY INJURY", "SEPSIS", "OEDEMA PERIPHERAL", "DECREASED APPETITE", "MUSCLE SPASMS", "SEIZURE",
    "HEPATOTOXICITY", "CARDIAC ARREST", "RESPIRATORY FAILURE", "LOSS OF CONSCIOUSNESS", "TACHYCARDIA", "SYNCOPE",
    "URINARY TRACT INFECTION", "THROMBOCYTOPENIA", "NEUTROPENIA", "HAEMORRHAGE", "ATRIAL FIBRILLATION",
    "MYOCARDIAL INFARCTION", "CEREBROVASCULAR ACCIDENT", "PULMONARY EMBOLISM", "DEEP VEIN THROMBOSIS",
    "WITHDRAWAL SYNDROME", "DRUG DEPENDENCE", "DRUG ABUSE", "SUICIDAL IDEATION", "COMPLETED SUICIDE",
    "AGITATION", "HALLUCINATION", "SEROTONIN SYNDROME", "RESPIRATORY DEPRESSION", "COMA",
    "DRUG WITHDRAWAL SYNDROME", "DRUG LEVEL INCREASED", "LIVER INJURY", "DRUG-INDUCED LIVER INJURY",
    "HEPATIC ENZYME INCREASED", "JAUNDICE", "ALANINE AMINOTRANSFERASE INCREASED", "CONSTIPATION",
    "HYPERSENSITIVITY", "URTICARIA", "ANAPHYLACTIC REACTION", "INJECTION SITE PAIN", "INJECTION SITE ERYTHEMA",
    "VISION BLURRED", "PARAESTHESIA", "HYPOAESTHESIA", "NEUROPATHY PERIPHERAL", "MEMORY IMPAIRMENT",
    "GAIT DISTURBANCE", "BLOOD GLUCOSE INCREASED", "HYPOGLYCAEMIA", "WEIGHT INCREASED", "NASOPHARYNGITIS",
    "INFLUENZA", "ERYTHEMA", "PSORIASIS", "RHEUMATOID ARTHRITIS", "CROHN'S DISEASE", "COLITIS ULCERATIVE",
    "MUSCULOSKELETAL STIFFNESS", "JOINT SWELLING", "MYALGIA", "HYPERHIDROSIS", "FEELING ABNORMAL", "PALPITATIONS",
    "QT PROLONGATION", "RHABDOMYOLYSIS", "PANCREATITIS", "ABORTION SPONTANEOUS", "PREMATURE BABY",
    "FOETAL EXPOSURE DURING PREGNANCY", "NEONATAL WITHDRAWAL SYNDROME", "ACCIDENTAL OVERDOSE",
    "INTENTIONAL OVERDOSE", "INTENTIONAL PRODUCT MISUSE", "PRODUCT QUALITY ISSUE",
)  # fmt: skip
INDICATIONS: tuple[str, ...] = (
    "PRODUCT USED FOR UNKNOWN INDICATION", "RHEUMATOID ARTHRITIS", "PAIN", "HYPERTENSION", "DEPRESSION",
    "TYPE 2 DIABETES MELLITUS", "PSORIASIS", "PLASMA CELL MYELOMA", "ATRIAL FIBRILLATION", "ASTHMA", "ANXIETY",
    "OPIOID WITHDRAWAL SYNDROME", "BACK PAIN", "CROHN'S DISEASE", "BREAST CANCER", "HIV INFECTION", "INSOMNIA",
    "EPILEPSY", "SCHIZOPHRENIA", "OSTEOPOROSIS", "CONTRACEPTION", "SMOKING CESSATION THERAPY", "ENERGY INCREASED",
)  # fmt: skip
# Watched products: the spellings are those of the reference notes (NaPDI verbatim variants, FDA 7-OH actions).
KRATOM_SPELLINGS = ("KRATOM", "Kratom powder", "MITRAGYNA SPECIOSA", "MAENG DA KRATOM", "O.P.M.S. LIQUID KRATOM")
SEVEN_OH_SPELLINGS = ("7-HYDROXYMITRAGYNINE", "7-OH TABLETS", "ROXYTABS")
WATCHED_EVENTS = (
    "WITHDRAWAL SYNDROME", "DRUG DEPENDENCE", "SEIZURE", "DEATH", "TOXICITY TO VARIOUS AGENTS", "HEPATOTOXICITY",
)  # fmt: skip
OUTCOMES = ("DE", "LT", "HO", "DS", "CA", "RI", "OT")
LATIN1_NAMES = ("CAFÉ VERT", "ÉCHINACÉE POURPRE", "AÇAÍ BERRY", "GINSENG CORÉEN", "TISANE À LA CAMOMILLE")
DRUGS_VOCABULARY = 20_000
EVENTS_VOCABULARY = 8_000
CLASSES = 40  # therapeutic classes: each has its own event profile (confounding by indication, as in FAERS)
AFFINITIES = 6  # at most this many events per product are reported more often with it than with others
STRENGTHS = ("10MG", "20 MG", "5MG", "100MG", "40MG", "0.5 MG")
VARIANTS = 3 + len(STRENGTHS)  # as published, lower case, title case, then "NAME <strength>"
SEVEN_OH = DRUGS_VOCABULARY + 1
KRATOM = DRUGS_VOCABULARY


@dataclass(frozen=True)
class Vocabulary:
    """Names and the disproportionality the reports are drawn from (fixed, seed 0: every quarter shares it).

    - ``drug_p``, ``event_p``: Zipf-like frequencies over the product and event vocabularies;
    - ``event_cdf``: per therapeutic class, the cumulative event distribution = global frequency x a class
      multiplier from a two-gamma mixture (99 %: Gamma(2, 1/2), mean 1; 1 %: Gamma(2, 5), mean 10), so every
      (product, event) pair has a relative reporting rate spread around 1 with a heavier upper tail, as the
      Gamma-Poisson Shrinker assumes (DuMouchel 1999, Am Stat 53:177); the fitted prior comes out close in shape to
      DuMouchel's FDA estimate (alpha1 0.2, beta1 0.06, alpha2 1.4, beta2 1.8, P 0.1);
    - ``affinity`` (2 to 5 events per product, 6 for the watched ones): extra probability per reaction slot of
      (r - 1) x frequency, r the pair's relative rate from a two-gamma mixture (90 %: Gamma(3, 1/3), mean 1;
      10 %: Gamma(2, 10), mean 20), so the pair is reported about r times as often as its background.
    """

    drug_names: pl.Series  # (products + 2) x VARIANTS verbatim names, product-major
    prod_ai: pl.Series  # per product
    drug_p: np.ndarray
    drug_class: np.ndarray
    events: pl.Series
    event_p: np.ndarray
    event_cdf: np.ndarray  # CLASSES x events, each row offset by its class index (one searchsorted for all)
    affinity: np.ndarray  # (products + 2) x AFFINITIES event indices
    affinity_cdf: np.ndarray  # (products + 2) x AFFINITIES, cumulative within the row
    affinity_p: np.ndarray  # per product: probability that a reaction slot is drawn from its affinities
    watched_events: np.ndarray


def _zipf_p(size: int, exponent: float, offset: float) -> np.ndarray:
    weights: np.ndarray = 1.0 / (np.arange(1, size + 1) + offset) ** exponent
    out: np.ndarray = weights / weights.sum()
    return out


@cache
def vocabulary() -> Vocabulary:
    rng = np.random.default_rng(15)
    synthetic = DRUGS_VOCABULARY - len(COMMON_PRODUCTS)
    bases = [name for name, _ in COMMON_PRODUCTS] + [f"DRUG {i:05d}" for i in range(1, synthetic + 1)]
    ai = [a for _, a in COMMON_PRODUCTS] + [f"DRUG {i:05d}" for i in range(1, synthetic + 1)]
    variants: list[str] = []
    for base in bases:
        variants.extend([base, base.lower(), base.title(), *(f"{base} {s}" for s in STRENGTHS)])
    for spellings in (KRATOM_SPELLINGS, SEVEN_OH_SPELLINGS):
        variants.extend(spellings[i % len(spellings)] for i in range(VARIANTS))
    ai += ["MITRAGYNA SPECIOSA LEAF", "7-HYDROXYMITRAGYNINE"]
    events = list(COMMON_EVENTS) + [
        f"SYNTHETIC EVENT {i:04d}" for i in range(1, EVENTS_VOCABULARY - len(COMMON_EVENTS) + 1)
    ]
    assert not any("$" in s for s in [*variants, *ai, *events, *INDICATIONS, *LATIN1_NAMES])
    drug_p = _zipf_p(DRUGS_VOCABULARY, 1.1, 5.0)
    event_p = _zipf_p(EVENTS_VOCABULARY, 1.05, 3.0)
    products = DRUGS_VOCABULARY + 2
    drug_class = rng.integers(0, CLASSES, products)
    cells = (CLASSES, EVENTS_VOCABULARY)
    hot = rng.random(cells) < 0.01
    profile = event_p[None, :] * np.where(hot, rng.gamma(2.0, 5.0, cells), rng.gamma(2.0, 0.5, cells))
    profile /= profile.sum(axis=1, keepdims=True)
    event_cdf = np.cumsum(profile, axis=1)
    event_cdf[:, -1] = 1.0
    event_cdf += np.arange(CLASSES)[:, None]
    # Affinity events: drawn from a flattened event distribution (rare events get elevated pairs too).
    flat = event_p**0.5 / (event_p**0.5).sum()
    affinity = rng.choice(EVENTS_VOCABULARY, (products, AFFINITIES), p=flat)
    elevated = rng.random((products, AFFINITIES)) < 0.10
    rate = np.where(elevated, rng.gamma(2.0, 10.0, elevated.shape), rng.gamma(3.0, 1 / 3, elevated.shape))
    used = np.arange(AFFINITIES)[None, :] < rng.integers(2, 6, products)[:, None]
    weight = np.where(used, np.maximum(rate - 1.0, 0.0) * event_p[affinity], 0.0)
    # Watched products: their events named in the reference notes, a large share of their reaction slots.
    watched = np.asarray([events.index(e) for e in WATCHED_EVENTS])
    for product in (KRATOM, SEVEN_OH):
        affinity[product] = watched
        weight[product] = 1.0
    affinity_p = np.minimum(weight.sum(axis=1), 0.6)
    affinity_p[[KRATOM, SEVEN_OH]] = 0.45
    total = weight.sum(axis=1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    affinity_cdf = np.where(total > 0, np.cumsum(weight, axis=1) / safe, np.arange(1, AFFINITIES + 1) / AFFINITIES)
    return Vocabulary(
        drug_names=pl.Series("drugname", variants, dtype=pl.String),
        prod_ai=pl.Series("prod_ai", ai, dtype=pl.String),
        drug_p=drug_p,
        drug_class=drug_class,
        events=pl.Series("pt", events, dtype=pl.String),
        event_p=event_p,
        event_cdf=event_cdf.ravel(),
        affinity=affinity,
        affinity_cdf=affinity_cdf,
        affinity_p=affinity_p,
        watched_events=watched,
    )


@dataclass(frozen=True)
class QuarterFiles:
    """What :func:`write_quarter` wrote: counts to check a reader against."""

    name: str  # "24Q1", as in the file names
    period: str  # "2024Q1"
    path: Path  # the quarter's directory or zip
    layout: str  # "faers" or "laers"
    reports: int  # DEMO rows: new cases and follow-up versions
    new_cases: int
    followups: int
    deleted: tuple[int, ...]  # caseids on this quarter's deleted list
    rows: dict[str, int]  # well-formed data rows per file (DEMO, DRUG, ...)
    malformed: dict[str, int]  # lines with a wrong number of fields, per file
    latin1_rows: int  # DRUG rows whose name is Latin-1 text (the file is then not valid UTF-8)
    kratom_reports: int
    seven_oh_reports: int
    seconds: float

    def to_dict(self) -> dict[str, object]:
        out = dict(self.__dict__)
        out["path"] = str(self.path)
        out["deleted"] = len(self.deleted)
        return out


def _pick(values: tuple[str, ...], rng: np.random.Generator, size: int, p: list[float] | None = None) -> pl.Series:
    idx = rng.choice(len(values), size, p=None if p is None else np.asarray(p) / np.sum(p))
    return pl.Series(values, dtype=pl.String).gather(idx)


def _ints(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String)


def _concat(*parts: pl.Series | str) -> pl.Series:
    return pl.select(pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])).to_series()


def _ymd(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype("datetime64[D]")).dt.strftime("%Y%m%d")


def _blank(series: pl.Series, mask: np.ndarray) -> pl.Series:
    """The series with "" where ``mask`` is true."""
    return pl.select(pl.when(pl.Series(mask)).then(pl.lit("")).otherwise(series)).to_series()


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-report row counts: each row's report index and its 1-based position within the report."""
    report = np.repeat(np.arange(counts.size), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return report, np.arange(report.size) - starts + 1


def _unique_rows(report: np.ndarray, value: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    key = np.unique(report.astype(np.int64) * width + value)
    return key // width, key % width


def _reactions(rng: np.random.Generator, vocab: Vocabulary, driver: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reaction slots (1 + Poisson(2.1) per report, duplicates removed): from the driving product's affinity
    events with its affinity probability, otherwise from the background profile of the product's class."""
    slots = 1 + rng.poisson(2.1, driver.size)
    report, _ = _segments(slots)
    product = driver[report]
    use_affinity = rng.random(report.size) < vocab.affinity_p[product]
    which = (rng.random(report.size)[:, None] > vocab.affinity_cdf[product]).sum(axis=1)
    from_affinity = vocab.affinity[product, np.minimum(which, AFFINITIES - 1)]
    klass = vocab.drug_class[product]
    position = np.searchsorted(vocab.event_cdf, klass + rng.random(report.size), side="right")
    background = np.minimum(position - klass * EVENTS_VOCABULARY, EVENTS_VOCABULARY - 1)
    event = np.where(use_affinity, from_affinity, background)
    return _unique_rows(report, event, EVENTS_VOCABULARY)


def _quarter_tables(
    rng: np.random.Generator,
    year: int,
    q: int,
    caseid: np.ndarray,
    version: np.ndarray,
    *,
    kratom_share: float,
    seven_oh_share: float,
) -> tuple[dict[str, pl.DataFrame], np.ndarray, np.ndarray]:
    """Every table of one quarter with the union of the FAERS and LAERS columns; also each report's watched
    product (0 none, 1 kratom, 2 7-OH) and its number of drug rows."""
    vocab = vocabulary()
    n = caseid.size
    primaryid = _concat(_ints(caseid), _ints(version))
    # Products: the primary suspect from the Zipf vocabulary; kratom or 7-OH in a small share of reports, as the
    # primary suspect in 60 % of those and otherwise as a secondary suspect or concomitant product.
    ps = rng.choice(DRUGS_VOCABULARY, n, p=vocab.drug_p)
    u = rng.random(n)
    watched = np.where(u < kratom_share, 1, np.where(u < kratom_share + seven_oh_share, 2, 0))
    driver = np.where(watched == 1, KRATOM, np.where(watched == 2, SEVEN_OH, ps))
    watched_ps = (watched > 0) & (rng.random(n) < 0.6)
    ps = np.where(watched_ps, driver, ps)
    drug, d_report, per_report = _drug_table(
        rng,
        vocab=vocab,
        primaryid=primaryid,
        caseid=caseid,
        ps=ps,
        watched=watched,
        driver=driver,
        watched_ps=watched_ps,
    )
    reac, outc, rpsr, died = _event_tables(
        rng, vocab=vocab, primaryid=primaryid, caseid=caseid, watched=watched, driver=driver
    )
    demo, fda = _demo_table(rng, year=year, q=q, primaryid=primaryid, caseid=caseid, version=version, died=died)
    ther, indi = _therapy_tables(rng, drug, d_report, fda)
    tables = {"DEMO": demo, "DRUG": drug, "REAC": reac, "OUTC": outc, "RPSR": rpsr, "THER": ther, "INDI": indi}
    return tables, watched, per_report


def _drug_table(
    rng: np.random.Generator,
    *,
    vocab: Vocabulary,
    primaryid: pl.Series,
    caseid: np.ndarray,
    ps: np.ndarray,
    watched: np.ndarray,
    driver: np.ndarray,
    watched_ps: np.ndarray,
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """DRUG rows: the primary suspect first, then 0 or more others (geometric, mean 3: about 4 rows a report);
    names as published or as verbatim variants (lower case, title case, a strength appended)."""
    n = caseid.size
    extras = rng.negative_binomial(1, 0.25, n)
    extras = np.where((watched > 0) & ~watched_ps, np.maximum(extras, 1), extras)
    per_report = 1 + extras
    d_report, seq = _segments(per_report)
    rows = d_report.size
    concept = rng.choice(DRUGS_VOCABULARY, rows, p=vocab.drug_p)
    concept = np.where(seq == 1, ps[d_report], concept)
    second_watched = (seq == 2) & (watched[d_report] > 0) & ~watched_ps[d_report]
    concept = np.where(second_watched, driver[d_report], concept)
    role = np.where(seq == 1, 0, 1 + rng.choice(3, rows, p=[0.2, 0.75, 0.05]))
    role = np.where(second_watched, 1 + rng.choice(2, rows, p=[0.5, 0.5]), role)
    variant_p = [0.8, 0.05, 0.05, *([0.1 / len(STRENGTHS)] * len(STRENGTHS))]
    variant = rng.choice(VARIANTS, rows, p=variant_p)
    variant = np.where(concept >= DRUGS_VOCABULARY, rng.integers(0, VARIANTS, rows), variant)
    dose_filled = rng.random(rows) < 0.6
    amount = _pick(("1", "2.5", "5", "10", "20", "40", "50", "100", "200", "500"), rng, rows)
    unit = _pick(("MG", "MCG", "ML", "G"), rng, rows, [0.8, 0.08, 0.08, 0.04])
    freq = _pick(("QD", "BID", "TID", "QW", "Q12H", "PRN", ""), rng, rows, [0.4, 0.2, 0.08, 0.07, 0.05, 0.05, 0.15])
    dose_vbm = pl.select(
        pl.when(pl.Series(dose_filled))
        .then(
            pl.when(freq == "")
            .then(pl.concat_str([amount, pl.lit(" "), unit]))
            .otherwise(pl.concat_str([amount, pl.lit(" "), unit, pl.lit(", "), freq]))
        )
        .otherwise(pl.lit("UNK"))
    ).to_series()
    nda = _ints(10000 + (concept * 7919) % 200000)
    drug = pl.DataFrame(
        {
            "primaryid": primaryid.gather(d_report),
            "caseid": _ints(caseid[d_report]),
            "drug_seq": _ints(seq),
            "role_cod": pl.Series(("PS", "SS", "C", "I"), dtype=pl.String).gather(role),
            "drugname": vocab.drug_names.gather(concept * VARIANTS + variant),
            "prod_ai": vocab.prod_ai.gather(concept),
            "val_vbm": pl.Series(np.where((variant == 0) & (concept < DRUGS_VOCABULARY), "1", "2")),
            "route": _pick(
                ("ORAL", "INTRAVENOUS", "SUBCUTANEOUS", "TRANSDERMAL", "INTRAMUSCULAR", "UNKNOWN", ""),
                rng, rows, [0.5, 0.1, 0.12, 0.03, 0.03, 0.12, 0.1],
            ),
            "dose_vbm": dose_vbm,
            "cum_dose_chr": pl.Series([""], dtype=pl.String).gather(np.zeros(rows, dtype=np.int64)),
            "cum_dose_unit": pl.Series([""], dtype=pl.String).gather(np.zeros(rows, dtype=np.int64)),
            "dechal": _pick(("D", "N", "U", "Y", ""), rng, rows, [0.1, 0.05, 0.25, 0.05, 0.55]),
            "rechal": _pick(("D", "N", "U", "Y", ""), rng, rows, [0.02, 0.05, 0.3, 0.03, 0.6]),
            "lot_num": _blank(_concat("L", _ints(rng.integers(10000, 99999, rows))), rng.random(rows) > 0.05),
            "exp_dt": pl.Series([""], dtype=pl.String).gather(np.zeros(rows, dtype=np.int64)),
            "nda_num": _blank(nda, rng.random(rows) > 0.35),
            "dose_amt": _blank(amount, ~dose_filled),
            "dose_unit": _blank(unit, ~dose_filled),
            "dose_form": _pick(("TABLET", "CAPSULE", "INJECTION", "SOLUTION", "POWDER", ""), rng, rows),
            "dose_freq": _blank(freq, ~dose_filled),
        }
    )  # fmt: skip
    return drug, d_report, per_report


def _event_tables(
    rng: np.random.Generator,
    *,
    vocab: Vocabulary,
    primaryid: pl.Series,
    caseid: np.ndarray,
    watched: np.ndarray,
    driver: np.ndarray,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, np.ndarray]:
    """REAC, OUTC (0-2 outcomes a report, 1-2 and more often DE or HO for the watched products) and RPSR."""
    n = caseid.size
    # Reactions and outcomes; the watched products' reports are more often fatal or hospitalised.
    r_report, r_event = _reactions(rng, vocab, driver)
    reac = pl.DataFrame(
        {
            "primaryid": primaryid.gather(r_report),
            "caseid": _ints(caseid[r_report]),
            "pt": vocab.events.gather(r_event),
            "drug_rec_act": _blank(vocab.events.gather(r_event), rng.random(r_report.size) > 0.01),
        }
    )
    count = rng.choice(3, n, p=[0.45, 0.4, 0.15])
    count = np.where(watched > 0, 1 + rng.choice(2, n, p=[0.5, 0.5]), count)
    o_report, _ = _segments(count)
    base = rng.choice(len(OUTCOMES), o_report.size, p=[0.1, 0.05, 0.3, 0.05, 0.02, 0.03, 0.45])
    severe = rng.choice(len(OUTCOMES), o_report.size, p=[0.35, 0.1, 0.35, 0.03, 0.0, 0.02, 0.15])
    o_report, o_code = _unique_rows(o_report, np.where(watched[o_report] > 0, severe, base), len(OUTCOMES))
    outc = pl.DataFrame(
        {
            "primaryid": primaryid.gather(o_report),
            "caseid": _ints(caseid[o_report]),
            "outc_cod": pl.Series(OUTCOMES, dtype=pl.String).gather(o_code),
        }
    )
    died = np.zeros(n, dtype=bool)
    died[o_report[o_code == 0]] = True
    s_report = np.flatnonzero(rng.random(n) < 0.2)
    rpsr = pl.DataFrame(
        {
            "primaryid": primaryid.gather(s_report),
            "caseid": _ints(caseid[s_report]),
            "rpsr_cod": _pick(("HP", "CSM", "FGN", "LIT", "SDY", "UF", "CR", "DT"), rng, s_report.size),
        }
    )
    return reac, outc, rpsr, died


def _demo_table(
    rng: np.random.Generator,
    *,
    year: int,
    q: int,
    primaryid: pl.Series,
    caseid: np.ndarray,
    version: np.ndarray,
    died: np.ndarray,
) -> tuple[pl.DataFrame, np.ndarray]:
    """DEMO rows (FAERS and legacy AERS columns) and each report's FDA receipt date."""
    n = caseid.size
    followup = version > 1
    # Dates: FDA receipt within the quarter; the event before it (sometimes partial or missing).
    first = np.datetime64(f"{year}-{3 * q - 2:02d}-01")
    after = np.datetime64(f"{year + (q == 4)}-{(3 * q) % 12 + 1:02d}-01")
    fda = first + rng.integers(0, int((after - first).astype(int)), n).astype("timedelta64[D]")
    event = fda - rng.exponential(60.0, n).astype(int).astype("timedelta64[D]")
    event_dt = _ymd(event)
    precision = rng.choice(4, n, p=[0.7, 0.1, 0.05, 0.15])
    event_dt = pl.select(
        pl.when(pl.Series(precision == 1))
        .then(event_dt.str.slice(0, 6))
        .when(pl.Series(precision == 2))
        .then(event_dt.str.slice(0, 4))
        .when(pl.Series(precision == 3))
        .then(pl.lit(""))
        .otherwise(event_dt)
    ).to_series()
    init = np.where(followup, fda - rng.integers(30, 900, n).astype("timedelta64[D]"), fda)
    rept_cod = rng.choice(4, n, p=[0.65, 0.2, 0.13, 0.02])
    direct = rept_cod == 2
    sender = _pick(
        ("PFIZER", "NOVARTIS", "ABBVIE", "AMGEN", "TEVA", "JANSSEN", "MERCK", "SANOFI", "GSK", "BMS"), rng, n
    )
    country = _pick(
        ("US", "GB", "DE", "FR", "JP", "CA", "IT", "ES", "BR", "CN"), rng, n,
        [0.65, 0.06, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02],
    )  # fmt: skip
    years = np.clip(rng.normal(52.0, 20.0, n), 0, 99).astype(int)
    age_cod = rng.choice(3, n, p=[0.94, 0.03, 0.03])  # YR, DEC, MON
    age_value = np.where(age_cod == 1, years // 10, np.where(age_cod == 2, rng.integers(1, 24, n), years))
    years = np.where(age_cod == 2, 0, years)
    no_age = rng.random(n) < 0.25
    group = np.select(
        [years < 1, years < 2, years < 12, years < 18, years < 65], ["N", "I", "C", "T", "A"], "E"
    ).astype(object)
    weight = np.clip(rng.normal(78.0, 20.0, n), 3, 250).round(1)
    weighed = rng.random(n) < 0.3
    mfr_dt = fda - rng.integers(0, 15, n).astype("timedelta64[D]")
    demo = pl.DataFrame(
        {
            "primaryid": primaryid,
            "caseid": _ints(caseid),
            "caseversion": _ints(version),
            "i_f_code": pl.Series(np.where(followup, "F", "I")),
            "event_dt": event_dt,
            "mfr_dt": _blank(_ymd(mfr_dt), direct),
            "init_fda_dt": _ymd(init),
            "fda_dt": _ymd(fda),
            "rept_cod": pl.Series(("EXP", "PER", "DIR", "5DAY"), dtype=pl.String).gather(rept_cod),
            "auth_num": pl.Series([""] * n, dtype=pl.String),
            "mfr_num": _blank(
                _concat(country, "-", sender, f"-{year}", _ints(caseid % 1_000_000)),
                direct,
            ),
            "mfr_sndr": pl.select(pl.when(pl.Series(direct)).then(pl.lit("FDA-CTU")).otherwise(sender)).to_series(),
            "lit_ref": _blank(
                _pick(("SMITH J. CASE REPORT. J MED TOXICOL. 2019;15:12-15", "LEE K ET AL. CLIN TOXICOL 2021"), rng, n),
                rng.random(n) > 0.01,
            ),
            "age": _blank(_ints(age_value), no_age),
            "age_cod": _blank(pl.Series(("YR", "DEC", "MON"), dtype=pl.String).gather(age_cod), no_age),
            "age_grp": _blank(pl.Series(group, dtype=pl.String), no_age | (rng.random(n) < 0.7)),
            "sex": _pick(("F", "M", "UNK", ""), rng, n, [0.55, 0.38, 0.02, 0.05]),
            "e_sub": pl.Series(np.where(rng.random(n) < 0.85, "Y", "N")),
            "wt": _blank(pl.Series(weight).cast(pl.String), ~weighed),
            "wt_cod": _blank(pl.Series(np.where(rng.random(n) < 0.9, "KG", "LBS")), ~weighed),
            "rept_dt": _ymd(fda - rng.integers(0, 10, n).astype("timedelta64[D]")),
            "to_mfr": pl.Series(np.where(direct, "N", "")),
            "occp_cod": _pick(("MD", "CN", "HP", "PH", "OT", "LW"), rng, n, [0.3, 0.4, 0.1, 0.08, 0.1, 0.02]),
            "reporter_country": country,
            "occr_country": country,
            # Legacy AERS only
            "foll_seq": _blank(_ints(version - 1), ~followup),
            "image": _concat(primaryid, "-", _ints(rng.integers(0, 10, n))),
            "death_dt": _blank(event_dt, ~died),
            "confid": pl.Series([""] * n, dtype=pl.String),
        }
    )
    return demo, fda


def _therapy_tables(
    rng: np.random.Generator, drug: pl.DataFrame, d_report: np.ndarray, fda: np.ndarray
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = drug.height
    # Therapy dates for 40 % of drug rows, indications for 50 %.
    t_rows = np.flatnonzero(rng.random(rows) < 0.4)
    t_start = fda[d_report[t_rows]] - rng.integers(1, 720, t_rows.size).astype("timedelta64[D]")
    length = rng.integers(1, 365, t_rows.size)
    ended = rng.random(t_rows.size) < 0.5
    ther = pl.DataFrame(
        {
            "primaryid": drug["primaryid"].gather(t_rows),
            "caseid": drug["caseid"].gather(t_rows),
            "dsg_drug_seq": drug["drug_seq"].gather(t_rows),
            "start_dt": _ymd(t_start),
            "end_dt": _blank(_ymd(t_start + length.astype("timedelta64[D]")), ~ended),
            "dur": _blank(_ints(length), ~ended),
            "dur_cod": _blank(pl.Series(["DAY"] * t_rows.size, dtype=pl.String), ~ended),
        }
    )
    i_rows = np.flatnonzero(rng.random(rows) < 0.5)
    indi = pl.DataFrame(
        {
            "primaryid": drug["primaryid"].gather(i_rows),
            "caseid": drug["caseid"].gather(i_rows),
            "indi_drug_seq": drug["drug_seq"].gather(i_rows),
            "indi_pt": _pick(INDICATIONS, rng, i_rows.size, list(_zipf_p(len(INDICATIONS), 1.0, 0.5))),
        }
    )
    return ther, indi


def _malformed_lines(rng: np.random.Generator, demo: pl.DataFrame, count: int, fields: int) -> list[bytes]:
    """``count`` lines with a wrong number of fields: cut short, or with two extra fields (never ending in "$",
    which readers may take for a line terminator)."""
    lines = []
    for k in range(count):  # a handful per file
        row = int(rng.integers(0, demo.height))
        primaryid, caseid = str(demo["primaryid"][row]), str(demo["caseid"][row])
        if k % 2 == 0:
            lines.append(f"{primaryid}${caseid}$BROKEN LINE".encode())
        else:
            lines.append("$".join([primaryid, caseid, *(["X"] * (fields - 2)), "EXTRA", "FIELD"]).encode())
    return lines


def _latin1_lines(
    rng: np.random.Generator, demo: pl.DataFrame, per_report: np.ndarray, count: int, layout: str
) -> list[bytes]:
    """Extra concomitant DRUG rows whose names are Latin-1 text (as in older extracts), numbered after the
    report's last drug."""
    lines = []
    reports = rng.choice(demo.height, size=min(count, demo.height), replace=False)
    for k, row in enumerate(sorted(reports.tolist())):  # a handful per quarter
        primaryid, caseid = str(demo["primaryid"][row]), str(demo["caseid"][row])
        name = LATIN1_NAMES[k % len(LATIN1_NAMES)]
        seq = int(per_report[row]) + 1
        if layout == "faers":
            fields = [primaryid, caseid, str(seq), "C", name, "", "2", "ORAL", "UNK", *([""] * 11)]
        else:
            fields = [primaryid, str(seq), "C", name, "2", "ORAL", "UNK", "", "", "", "", ""]
        lines.append("$".join(fields).encode("latin-1"))
    return lines


def _write_table(handle: IO[bytes], frame: pl.DataFrame, inserted: list[bytes]) -> None:
    """Header and rows as the FDA publishes them ("$"-separated, no quoting); ``inserted`` raw lines go in the
    middle of the file."""
    middle = frame.height // 2
    frame.slice(0, middle).write_csv(handle, separator="$", quote_style="never", include_header=True)
    for line in inserted:
        handle.write(line + b"\n")
    frame.slice(middle).write_csv(handle, separator="$", quote_style="never", include_header=False)


def _check_no_separator(label: str, frame: pl.DataFrame) -> None:
    strings = [c for c, t in frame.schema.items() if t == pl.String]
    if strings and frame.select(pl.any_horizontal(pl.col(strings).str.contains("$", literal=True)).any()).item():
        raise ValueError(f"{label}: a field contains the separator '$'")


def write_quarter(
    directory: Path,
    year: int,
    q: int,
    *,
    cases: int,
    first_caseid: int,
    followups_of: np.ndarray | None = None,
    deleted: np.ndarray | None = None,
    malformed: int = 0,
    seed: int = 0,
    layout: Literal["faers", "laers"] = "faers",
    zip: bool = False,
    kratom_share: float = 0.0005,
    seven_oh_share: float = 0.0001,
    latin1: int = 0,
) -> QuarterFiles:
    """Write one quarter under ``directory``: ``faers_ascii_<yyyy>Q<q>/`` (``aers_ascii_...`` for the legacy layout)
    with the seven files under ``ascii/`` and the deleted-case list under ``deleted/``, or the same as a ``.zip``.

    ``cases`` new cases numbered from ``first_caseid`` (version 1); ``followups_of``: caseids getting version 2, or
    an (n, 2) array of caseid and new version (follow-ups of earlier quarters: a new primaryid = caseid followed by
    the version); ``deleted``: caseids on the quarter's deleted list; ``malformed`` lines with a wrong number of
    fields in each of DRUG and REAC; ``latin1`` extra DRUG rows with Latin-1 names. A follow-up version is drawn
    afresh (its products and events are not those of the earlier version). Deterministic for a seed."""
    started = time.perf_counter()
    if layout not in {"faers", "laers"}:
        raise ValueError("layout is 'faers' or 'laers'")
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, q]))
    follow = np.zeros((0, 2), dtype=np.int64) if followups_of is None else np.asarray(followups_of, dtype=np.int64)
    if follow.ndim == 1:
        follow = np.column_stack([follow, np.full(follow.size, 2, dtype=np.int64)])
    caseid = np.concatenate([first_caseid + np.arange(cases, dtype=np.int64), follow[:, 0]])
    version = np.concatenate([np.ones(cases, dtype=np.int64), follow[:, 1]])
    tables, watched, per_report = _quarter_tables(
        rng, year, q, caseid, version, kratom_share=kratom_share, seven_oh_share=seven_oh_share
    )
    name = f"{year % 100:02d}Q{q}"
    period = f"{year}Q{q}"
    extension = "txt" if layout == "faers" else "TXT"
    if layout == "faers":
        out = {k: tables[k].select(FAERS_COLUMNS[k]) for k in FAERS_COLUMNS}
    else:
        out = {k: tables[k].select([pl.col(a).alias(b) for a, b in LAERS_COLUMNS[k]]) for k in LAERS_COLUMNS}
    inserted: dict[str, list[bytes]] = {k: [] for k in out}
    for kind in ("DRUG", "REAC"):
        inserted[kind] += _malformed_lines(rng, tables["DEMO"], malformed, out[kind].width)
    inserted["DRUG"] += _latin1_lines(rng, tables["DEMO"], per_report, latin1, layout)
    for kind, frame in out.items():
        _check_no_separator(kind, frame)
    gone = np.zeros(0, dtype=np.int64) if deleted is None else np.asarray(deleted, dtype=np.int64)
    stem = f"{'faers' if layout == 'faers' else 'aers'}_ascii_{period}"
    members = {f"ascii/{kind}{name}.{extension}": kind for kind in out}
    deleted_member = f"deleted/DELETE{name}.{extension}"
    deleted_text = "".join(f"{c}\n" for c in gone.tolist()).encode()
    directory.mkdir(parents=True, exist_ok=True)
    if zip:
        path = directory / f"{stem}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for member, kind in members.items():
                with archive.open(member, "w", force_zip64=True) as handle:
                    _write_table(handle, out[kind], inserted[kind])
            if gone.size:
                archive.writestr(deleted_member, deleted_text)
    else:
        path = directory / stem
        (path / "ascii").mkdir(parents=True, exist_ok=True)
        for member, kind in members.items():
            with (path / member).open("wb") as file:
                _write_table(file, out[kind], inserted[kind])
        if gone.size:
            (path / "deleted").mkdir(exist_ok=True)
            (path / deleted_member).write_bytes(deleted_text)
    rows = {kind: frame.height for kind, frame in out.items()}
    rows["DRUG"] += min(latin1, caseid.size)
    return QuarterFiles(
        name=name,
        period=period,
        path=path,
        layout=layout,
        reports=int(caseid.size),
        new_cases=cases,
        followups=int(follow.shape[0]),
        deleted=tuple(int(c) for c in gone.tolist()),
        rows=rows,
        malformed={"DRUG": malformed, "REAC": malformed},
        latin1_rows=min(latin1, caseid.size),
        kratom_reports=int((watched == 1).sum()),
        seven_oh_reports=int((watched == 2).sum()),
        seconds=round(time.perf_counter() - started, 3),
    )


def write_quarters(
    root: Path,
    *,
    reports: int,
    quarters: int,
    start: tuple[int, int] = (2013, 1),
    seed: int = 0,
    followup_share: float = 0.08,
    deleted_share: float = 0.001,
    malformed_per_quarter: int = 5,
    kratom_share: float = 0.0005,
    seven_oh_share: float = 0.0001,
    latin1_every: int = 4,
    first_caseid: int = 10_000_000,
    zip: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[QuarterFiles]:
    """``reports`` DEMO rows spread over ``quarters`` consecutive quarters from ``start``, one directory (or zip)
    each under ``root``: from the second quarter on, ``followup_share`` of a quarter's reports are follow-up
    versions of earlier cases (version + 1) and ``deleted_share`` of its reports' worth of earlier cases go on its
    deleted list; ``malformed_per_quarter`` broken lines in DRUG and REAC; every ``latin1_every``-th quarter has a
    few Latin-1 drug names. Quarters up to 2012Q3 use the legacy AERS layout. One quarter in memory at a time."""
    if reports < quarters or quarters < 1:
        raise ValueError("need at least one report per quarter")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2004]))
    per = np.full(quarters, reports // quarters, dtype=np.int64)
    per[: reports % quarters] += 1
    versions = np.zeros(reports, dtype=np.int16)  # current version of each caseid (index = caseid - first_caseid)
    issued = 0
    written: list[QuarterFiles] = []
    year, q = start
    for k in range(quarters):
        total = int(per[k])
        follow_n = 0 if issued == 0 else min(round(followup_share * total), issued)
        chosen = rng.choice(issued, follow_n, replace=False) if follow_n else np.zeros(0, dtype=np.int64)
        versions[chosen] += 1
        followups = np.column_stack([first_caseid + chosen, versions[chosen].astype(np.int64)])
        new = total - follow_n
        versions[issued : issued + new] = 1
        deleted_n = 0 if issued == 0 else min(round(deleted_share * total), issued)
        gone = first_caseid + np.sort(rng.choice(issued, deleted_n, replace=False)) if deleted_n else None
        layout: Literal["faers", "laers"] = "laers" if (year, q) <= LAERS_LAST else "faers"
        written.append(
            write_quarter(
                root,
                year,
                q,
                cases=new,
                first_caseid=first_caseid + issued,
                followups_of=followups,
                deleted=gone,
                malformed=malformed_per_quarter,
                seed=seed,
                layout=layout,
                zip=zip,
                kratom_share=kratom_share,
                seven_oh_share=seven_oh_share,
                latin1=5 if latin1_every and k % latin1_every == latin1_every - 1 else 0,
            )
        )
        issued += new
        if progress is not None:
            progress("generate", k + 1, quarters)
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return written


def zip_bytes(files: dict[str, str]) -> bytes:
    """A quarter zip from file name -> text."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
