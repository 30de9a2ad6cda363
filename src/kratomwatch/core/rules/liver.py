"""The liver rule: Hy's law, aminotransferase > 5x ULN, cholestatic or mixed injury, an isolated bilirubin rise.

The R ratio ``(ALT / ULN of ALT) / (ALP / ULN of ALP)`` names the injury pattern: hepatocellular at R >= 5, mixed
for 2 < R < 5, cholestatic at R <= 2 (ACG clinical guideline 2014, after the CIOMS criteria; the international
DILI expert working group, Aithal 2011). R is computed only from an ALT and an ALP taken on the same day; otherwise
the pattern is unknown. Kratom liver injury is mostly cholestatic or mixed (Schimmel & Dart 2020: median R 3.4),
and a published case had total bilirubin of 28.9 mg/dL with only mild ALT, AST and ALP rises (Fernandes 2019):
the bilirubin finding is what catches it.

The rule flags and cites; it never recommends a dose.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from kratomwatch.core.rules import sources as src
from kratomwatch.core.rules.config import RuleConfig
from kratomwatch.core.rules.findings import Finding
from kratomwatch.core.rules.numbers import above, at_least, num
from kratomwatch.core.rules.snapshot import LabValue, PatientSnapshot

HYS_ALT_TIMES_ULN = 3.0  # FDA DILI guidance 2009: aminotransferase > 3x ULN
HYS_BILIRUBIN_TIMES_ULN = 2.0  # with total bilirubin > 2x ULN
AMINOTRANSFERASE_GRADE3_TIMES_ULN = 5.0  # CTCAE v5 grade 3: > 5.0-20.0 x ULN
ALP_TIMES_ULN = 2.0  # Aithal 2011 case definition: ALP >= 2x ULN
BILIRUBIN_TIMES_ULN = 2.0  # Aithal 2011 severity: bilirubin >= 2x ULN is at least moderate DILI
R_HEPATOCELLULAR = 5.0  # ACG 2014 / CIOMS: R >= 5 hepatocellular
R_CHOLESTATIC = 2.0  # R <= 2 cholestatic; 2 < R < 5 mixed

LIVER_AS_OF = dt.date(2026, 12, 1)
"""Date the sources below were confirmed."""

# Chalasani NP et al. ACG Clinical Guideline: the diagnosis and management of idiosyncratic drug-induced liver
# injury. Am J Gastroenterol 2014;109(7):950-966: R = (ALT/ULN)/(ALP/ULN); R >= 5 hepatocellular, 2 < R < 5 mixed,
# R <= 2 cholestatic.
R_RATIO = ("doi:10.1038/ajg.2014.131",)
# Aithal GP et al. Case definition and phenotype standardization in drug-induced liver injury. Clin Pharmacol Ther
# 2011;89(6):806-815: DILI is ALT >= 5x ULN, or ALP >= 2x ULN, or ALT >= 3x ULN with bilirubin > 2x ULN; severity
# "moderate" when bilirubin >= 2x ULN.
DILI_CASE_DEFINITION = ("PMID:21544079", "doi:10.1038/clpt.2011.58")
# Schimmel J, Dart RC. Kratom (Mitragyna speciosa) liver injury: a comprehensive review. Drugs 2020;80:263-283
# (predominantly cholestatic histology; median R 3.4, range 0.24-10.4; median latency 20.6 days, range 2-49).
KRATOM_LIVER = ("doi:10.1007/s40265-019-01242-6",)
# Fernandes CT et al. Kratom-induced cholestatic liver injury and its conservative management. J Investig Med High
# Impact Case Rep 2019;7:2324709619836138 (total bilirubin peaked at 28.9 mg/dL; mild AST, ALT and ALP rises).
KRATOM_CHOLESTATIC_CASE = ("PMID:30920318", "doi:10.1177/2324709619836138")

Pattern = Literal["hepatocellular", "mixed", "cholestatic"]


def lab_text(name: str, lab: LabValue) -> str:
    """``ALT 130 = 3.25x ULN 40 on 2026-11-20``."""
    return f"{name} {num(lab.value)} = {num(lab.times_uln)}x ULN {num(lab.uln)} on {lab.observed_on.isoformat()}"


def r_ratio(alt: LabValue | None, alp: LabValue | None) -> float | None:
    """(ALT/ULN) / (ALP/ULN) from an ALT and an ALP of the same day; None when either is missing or the days differ."""
    if alt is None or alp is None or alt.observed_on != alp.observed_on or alp.value <= 0:
        return None
    return alt.times_uln / alp.times_uln


def injury_pattern(r: float | None) -> Pattern | None:
    """Hepatocellular (R >= 5), mixed (2 < R < 5) or cholestatic (R <= 2); None when R is unknown."""
    if r is None:
        return None
    if at_least(r, R_HEPATOCELLULAR):
        return "hepatocellular"
    if above(r, R_CHOLESTATIC):
        return "mixed"
    return "cholestatic"


def _pattern_text(r: float | None, alt: LabValue | None) -> str:
    if r is None:
        why = "no ALT result" if alt is None else "ALT and ALP were not taken on the same day"
        return f"The injury pattern (R ratio) is unknown: {why}."
    return (
        f"R = (ALT/ULN)/(ALP/ULN) = {num(r)}: {injury_pattern(r)} pattern "
        "(R >= 5 hepatocellular, 2 < R < 5 mixed, R <= 2 cholestatic)."
    )


def liver_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Hy's law: urgent; ALT or AST > 5x ULN, ALP >= 2x ULN (pattern by R) and isolated bilirubin >= 2x ULN: high."""
    labs = snapshot.labs
    out: list[Finding] = []
    transaminases = [(name, lab) for name, lab in (("ALT", labs.alt), ("AST", labs.ast)) if lab is not None]
    bili = labs.bilirubin
    alp = labs.alp
    r = r_ratio(labs.alt, alp)
    hys = [(n, lab) for n, lab in transaminases if above(lab.times_uln, HYS_ALT_TIMES_ULN)]
    hys_law = bool(hys) and bili is not None and above(bili.times_uln, HYS_BILIRUBIN_TIMES_ULN)
    if hys_law and bili is not None:
        parts = "; ".join(lab_text(n, lab) for n, lab in hys)
        out.append(
            Finding(
                rule_id="liver",
                severity="urgent",
                subject_key="lab:hys_law",
                title="Possible Hy's law case (liver injury)",
                reason=(
                    f"{parts}; total bilirubin {lab_text('bilirubin', bili)}. Aminotransferase > 3x ULN with "
                    "bilirubin > 2x ULN signals possible severe drug-induced liver injury: urgent clinical review "
                    "(rule out other causes, check ALP and INR)."
                ),
                sources=src.FDA_DILI_2009,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        )
    for name, lab in transaminases:
        if above(lab.times_uln, AMINOTRANSFERASE_GRADE3_TIMES_ULN):
            out.append(
                Finding(
                    rule_id="liver",
                    severity="high",
                    subject_key=f"lab:{name.lower()}",
                    title=f"{name} above 5x the upper limit of normal",
                    reason=f"{lab_text(name, lab)} (CTCAE grade 3 or higher). Clinical review of liver injury.",
                    sources=src.ALT_GRADE3,
                    evidence_as_of=src.EVIDENCE_AS_OF,
                )
            )
    if alp is not None and at_least(alp.times_uln, ALP_TIMES_ULN):
        pattern = injury_pattern(r)
        key = {"cholestatic": "lab:cholestatic", "mixed": "lab:mixed"}.get(pattern or "", "lab:alp")
        title = {
            "cholestatic": "Cholestatic liver injury pattern (ALP at least 2x ULN, R <= 2)",
            "mixed": "Mixed liver injury pattern (ALP at least 2x ULN, 2 < R < 5)",
        }.get(pattern or "", "ALP at least 2x the upper limit of normal")
        out.append(
            Finding(
                rule_id="liver",
                severity="high",
                subject_key=key,
                title=title,
                reason=(
                    f"{lab_text('ALP', alp)}"
                    + ("" if labs.alt is None else f"; {lab_text('ALT', labs.alt)}")
                    + ". ALP >= 2x ULN meets the case definition of drug-induced liver injury. "
                    + f"{_pattern_text(r, labs.alt)} "
                    "Kratom liver injury is mostly cholestatic or mixed. Clinical review of liver injury "
                    "(rule out biliary obstruction and bone sources of ALP)."
                ),
                sources=tuple(dict.fromkeys([*DILI_CASE_DEFINITION, *R_RATIO, *KRATOM_LIVER])),
                evidence_as_of=LIVER_AS_OF,
            )
        )
    if bili is not None and not hys_law and at_least(bili.times_uln, BILIRUBIN_TIMES_ULN):
        enzymes = "; ".join(lab_text(n, lab) for n, lab in [*transaminases, *([("ALP", alp)] if alp else [])])
        out.append(
            Finding(
                rule_id="liver",
                severity="high",
                subject_key="lab:bilirubin",
                title="Total bilirubin at least 2x the upper limit of normal",
                reason=(
                    f"{lab_text('Total bilirubin', bili)}"
                    + (f"; {enzymes}" if enzymes else "; no ALT, AST or ALP result")
                    + ". Bilirubin >= 2x ULN marks at least moderate liver injury even when the enzymes are only "
                    "mildly raised, as in published kratom cases of cholestatic injury. Clinical review of liver "
                    "injury (check ALP, INR and the cause of jaundice)."
                ),
                sources=tuple(dict.fromkeys([*DILI_CASE_DEFINITION, *KRATOM_CHOLESTATIC_CASE, *KRATOM_LIVER])),
                evidence_as_of=LIVER_AS_OF,
            )
        )
    return out
