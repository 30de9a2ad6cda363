"""The alert rules: pure functions ``(snapshot, config) -> list[Finding]``.

Boundary semantics follow the rule text exactly: ``>=`` fires at the threshold, ``>`` only strictly above
it. Ratios and fractions are compared with a relative tolerance of 1e-9 so that a value that is the
threshold in decimal (e.g. 45/30 = 1.5) is not missed through binary rounding.

The rules flag and cite. Their text asks for review; none recommends a dose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TypedDict

from kratomwatch.core import instruments, units
from kratomwatch.core.instruments import Band, FlagRule
from kratomwatch.core.rules import sources as src
from kratomwatch.core.rules.config import RuleConfig
from kratomwatch.core.rules.findings import SEVERITY_RANK, Finding, Severity
from kratomwatch.core.rules.liver import liver_rule
from kratomwatch.core.rules.numbers import at_least, num
from kratomwatch.core.rules.snapshot import Assessment, DoseSummary, PatientSnapshot, ProductSevenOh
from kratomwatch.core.screening.types import OPIOID_RESCUE_CLASS, InteractionFinding, ScreeningResult

Rule = Callable[[PatientSnapshot, RuleConfig], list[Finding]]


INTERACTION_SEVERITY: dict[str, Severity] = {"major": "high", "moderate": "moderate", "minor": "info"}
OPIOID_AGONIST_CLASSES = frozenset({"full_opioid_agonists", "moud"})
BENZODIAZEPINE_CLASSES = frozenset({"benzodiazepines_z_drugs"})
GABAPENTINOID_CLASSES = frozenset({"gabapentinoids"})
ALCOHOL_CLASSES = frozenset({"alcohol"})
CNS_DEPRESSANT_CLASSES = frozenset(
    {
        *OPIOID_AGONIST_CLASSES,
        *BENZODIAZEPINE_CLASSES,
        *GABAPENTINOID_CLASSES,
        *ALCOHOL_CLASSES,
        "other_cns_depressants",
        "sedating_antihistamines",
        "mixed_agonist_antagonists",
    }
)
"""Screening classes of CNS depressants (FDA 2016: opioids, benzodiazepines, other CNS depressants, alcohol;
FDA 2019: gabapentinoids)."""
CNS_DEPRESSANT_COUNT = 3
"""Three or more CNS depressants at once (7-OH exposure counts as one): a program setting (no published count)."""
NALOXONE_INGREDIENTS = frozenset({"naloxone", "nalmefene"})
OPIOID_RESCUE_CLASSES = frozenset({OPIOID_RESCUE_CLASS})
HISTORY_FLAGS = ("liver_disease", "seizure_disorder", "cardiac_qt", "respiratory_disease")
"""History flags judged by ``history_rule`` (pregnancy and breastfeeding by ``pregnancy_rule``)."""
HISTORY_LABELS = {
    "liver_disease": "liver disease",
    "seizure_disorder": "a seizure disorder",
    "cardiac_qt": "QT prolongation or cardiac history",
    "respiratory_disease": "respiratory disease",
}
CONTRAINDICATION_SEVERITY: dict[str, Severity] = {"major": "high", "moderate": "moderate", "minor": "info"}
PAIN_INTENSITY_INSTRUMENTS = frozenset({"pain_nrs"})
"""Pain-intensity ratings, to which the IMMPACT reduction categories apply (Dworkin 2008)."""
SEIZURE_TERMS = ("seizure", "convulsion", "epilep")


def _band(instrument_id: str, band_id: str) -> Band:
    """A severity band of the instrument's primary scale: the instrument definition is the one source of its bounds."""
    for band in instruments.get(instrument_id).primary_scale.bands:
        if band.id == band_id:
            return band
    raise KeyError(f"{instrument_id} has no band {band_id!r}")


def _flag_rule(instrument_id: str, flag_id: str) -> FlagRule:
    for rule in instruments.get(instrument_id).flag_rules:
        if rule.id == flag_id:
            return rule
    raise KeyError(f"{instrument_id} has no flag rule {flag_id!r}")


# Instrument thresholds are the instrument definitions' own bands and flag rules (core.instruments), never copies;
# the comments cite what the definitions encode.
COWS_MODERATE = _band("cows", "moderate")  # Wesson & Ling 2003: 13-24 moderate
COWS_MODERATELY_SEVERE = _band("cows", "moderately_severe")  # 25-36 moderately severe, > 36 severe
PHQ9_SEVERE = _band("phq9", "severe")  # Kroenke 2001: 20-27 severe
GAD7_SEVERE = _band("gad7", "severe")  # Spitzer 2006: 15-21 severe
DSM5_MODERATE = _band("dsm5_sud", "moderate")  # 4-5 moderate
DSM5_SEVERE = _band("dsm5_sud", "severe")  # 6 or more severe
PHQ9_SUICIDALITY = _flag_rule("phq9", "suicidality")  # Simon 2013: item 9 above 'not at all', whatever the total
PHQ9_SUICIDALITY_INDEX = instruments.get("phq9").position_of(PHQ9_SUICIDALITY.target_id) - 1
"""Index of the flagged item (item 9) in the answers."""
QTC_MAX_MS = 500.0  # QTc > 500 ms
QTC_RISE_MS = 60.0  # or a rise > 60 ms from baseline


def _max_severity(values: Iterable[Severity]) -> Severity:
    return max(values, key=lambda s: SEVERITY_RANK[s])


# -------------------------------------------------------------------------------------- interactions


def interaction_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """One finding per screened ingredient (classes merged); opioid agonist or 7-OH + benzodiazepine: high."""
    screening = snapshot.medications
    if screening is None:
        return []
    by_ingredient: dict[str, list[InteractionFinding]] = {}
    for item in screening.findings:
        by_ingredient.setdefault(item.ingredient_id, []).append(item)
    out: list[Finding] = []
    for ingredient_id, items in sorted(by_ingredient.items()):
        severity = _max_severity(INTERACTION_SEVERITY.get(i.severity, "info") for i in items)
        classes = ", ".join(f"{i.class_name} ({i.severity})" for i in items)
        provisional = any(i.match_status != "matched" for i in items)
        entered = items[0].medication
        reason = f"{entered!r} ({items[0].ingredient_name}) belongs to {classes}. {items[0].management}"
        if provisional:
            reason += f" The name {entered!r} was matched approximately: confirm the medication."
        out.append(
            Finding(
                rule_id="interaction",
                severity=severity,
                subject_key=f"interaction:{ingredient_id}",
                title=f"Interaction: kratom with {items[0].ingredient_name}",
                reason=reason,
                sources=tuple(dict.fromkeys(s for i in items for s in i.sources)),
                evidence_as_of=max(i.as_of for i in items),
            )
        )
    benzos = sorted({i.ingredient_name for i in screening.findings if i.class_id in BENZODIAZEPINE_CLASSES})
    opioids = sorted({i.ingredient_name for i in screening.findings if i.class_id in OPIOID_AGONIST_CLASSES})
    seven_oh = _seven_oh_exposure(snapshot, config)
    if benzos and (opioids or seven_oh):
        partners = [*opioids, *seven_oh]
        benzo_sources = [s for i in screening.findings if i.class_id in BENZODIAZEPINE_CLASSES for s in i.sources]
        dates = [i.as_of for i in screening.findings if i.class_id in BENZODIAZEPINE_CLASSES]
        out.append(
            Finding(
                rule_id="interaction",
                severity="high",
                subject_key="interaction:combination:opioid_benzodiazepine",
                title="Opioid-acting combination with a benzodiazepine",
                reason=(
                    f"{', '.join(benzos)} is taken together with {', '.join(partners)} and kratom: opioids "
                    "combined with benzodiazepines carry an FDA boxed warning for serious breathing problems and "
                    "death. Review sedation and breathing risk and naloxone access with the prescriber."
                ),
                sources=tuple(dict.fromkeys([*src.OPIOID_BENZODIAZEPINE, *benzo_sources])),
                evidence_as_of=max([src.EVIDENCE_AS_OF, *dates]),
            )
        )
    out.extend(_combination_findings(screening, opioids, seven_oh))
    return out


def _confirmed(screening: ScreeningResult, classes: frozenset[str]) -> list[InteractionFinding]:
    """Findings of ``classes`` from exact or synonym matches (an approximate match is never counted)."""
    return [i for i in screening.findings if i.class_id in classes and i.match_status == "matched"]


def _names(items: Iterable[InteractionFinding]) -> list[str]:
    return sorted({i.ingredient_name for i in items})


def _combination_findings(screening: ScreeningResult, opioids: list[str], seven_oh: list[str]) -> list[Finding]:
    """Opioid or 7-OH exposure with a gabapentinoid (FDA 2019) or with alcohol (FDA 2016), both high; three or
    more CNS depressants at once (FDA 2016 and 2019; the count is a program setting), high."""
    out: list[Finding] = []
    confirmed_opioids = _names(_confirmed(screening, OPIOID_AGONIST_CLASSES))
    partners = [*confirmed_opioids, *seven_oh]
    gabapentinoids = _confirmed(screening, GABAPENTINOID_CLASSES)
    if gabapentinoids and partners:
        out.append(
            Finding(
                rule_id="interaction",
                severity="high",
                subject_key="interaction:combination:opioid_gabapentinoid",
                title="Opioid-acting combination with a gabapentinoid",
                reason=(
                    f"{', '.join(_names(gabapentinoids))} is taken together with {', '.join(partners)} and kratom: "
                    "FDA warned (Dec 2019) that gabapentin and pregabalin can cause serious breathing difficulties "
                    "when used with opioids or other CNS depressants. Review sedation and breathing risk and naloxone "
                    "access with the prescriber."
                ),
                sources=tuple(
                    dict.fromkeys([*src.OPIOID_GABAPENTINOID, *(s for i in gabapentinoids for s in i.sources)])
                ),
                evidence_as_of=max([src.CHECKED_2026_12_01, *(i.as_of for i in gabapentinoids)]),
            )
        )
    alcohol = _confirmed(screening, ALCOHOL_CLASSES)
    if alcohol and partners:
        out.append(
            Finding(
                rule_id="interaction",
                severity="high",
                subject_key="interaction:combination:opioid_alcohol",
                title="Opioid-acting combination with alcohol",
                reason=(
                    f"Alcohol is recorded together with {', '.join(partners)} and kratom: FDA's 2016 communication on "
                    "opioids with CNS depressants, alcohol included, warns of serious breathing problems and death. "
                    "Review alcohol use, sedation and breathing risk and naloxone access."
                ),
                sources=tuple(dict.fromkeys([*src.OPIOID_CNS_DEPRESSANTS, *(s for i in alcohol for s in i.sources)])),
                evidence_as_of=max([src.CHECKED_2026_12_01, *(i.as_of for i in alcohol)]),
            )
        )
    depressants = _names(_confirmed(screening, CNS_DEPRESSANT_CLASSES))
    counted = [*depressants, *(["7-OH"] if seven_oh else [])]
    if len(counted) >= CNS_DEPRESSANT_COUNT:
        cites = [*src.OPIOID_CNS_DEPRESSANTS, *(src.OPIOID_GABAPENTINOID if gabapentinoids else ())]
        out.append(
            Finding(
                rule_id="interaction",
                severity="high",
                subject_key="interaction:combination:cns_depressants",
                title=f"{len(counted)} CNS depressants at once",
                reason=(
                    f"{', '.join(counted)} are used at the same time as kratom ({len(counted)} CNS depressants; alert "
                    f"at {CNS_DEPRESSANT_COUNT} or more). Combined CNS depressants with opioid-acting substances carry "
                    "an FDA warning for serious breathing problems and death. Review the need for each sedating drug "
                    "with the prescribers, and naloxone access."
                ),
                sources=tuple(dict.fromkeys(cites)),
                evidence_as_of=src.CHECKED_2026_12_01,
                program_settings=("cns_depressant_count",),
            )
        )
    return out


# ------------------------------------------------------------------------------------------ naloxone


def naloxone_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Kratom with an opioid, a 7-OH product or a benzodiazepine, and no naloxone or nalmefene on the medication
    list: moderate. Naloxone on file (an exact or synonym match of a single-ingredient naloxone or nalmefene
    product): no finding."""
    if not snapshot.uses_kratom:
        return []
    screening = snapshot.medications
    opioids: list[str] = []
    benzos: list[str] = []
    if screening is not None:
        opioids = _names(_confirmed(screening, OPIOID_AGONIST_CLASSES))
        benzos = _names(_confirmed(screening, BENZODIAZEPINE_CLASSES))
    seven_oh = _seven_oh_exposure(snapshot, config)
    partners = [*opioids, *seven_oh, *benzos]
    if not partners or naloxone_on_file(screening):
        return []
    return [
        Finding(
            rule_id="naloxone",
            severity="moderate",
            subject_key="naloxone:not_on_file",
            title="No naloxone on the medication list",
            reason=(
                f"Kratom is used together with {', '.join(partners)}, and neither naloxone nor nalmefene is on the "
                "medication list. California's health department advises people who use kratom or 7-OH to carry "
                "naloxone, and the CDC 2022 opioid guideline advises offering naloxone when overdose risk is "
                "increased, including with benzodiazepines. Confirm naloxone access and record it."
            ),
            sources=src.NALOXONE_ACCESS,
            evidence_as_of=src.CHECKED_2026_12_01,
        )
    ]


def naloxone_on_file(screening: ScreeningResult | None) -> tuple[str, ...]:
    """Entries of the medication list that are naloxone or nalmefene (exact or synonym matches only).

    A combination product whose naloxone is only an abuse deterrent (buprenorphine/naloxone) does not count:
    its naloxone is not screened, and its match names other ingredients too."""
    if screening is None:
        return ()
    found = [
        i.medication
        for i in (*screening.findings, *screening.positives)
        if i.match_status == "matched"
        and (i.ingredient_id in NALOXONE_INGREDIENTS or i.class_id in OPIOID_RESCUE_CLASSES)
    ]
    found.extend(
        m.entered
        for m in screening.matches
        if m.status == "matched"
        and (
            bool(OPIOID_RESCUE_CLASSES & set(m.class_ids))
            or (bool(m.ingredient_ids) and set(m.ingredient_ids) <= NALOXONE_INGREDIENTS)
        )
    )
    return tuple(dict.fromkeys(found))


def _seven_oh_exposure(snapshot: PatientSnapshot, config: RuleConfig) -> list[str]:
    """Descriptions of 7-OH concentrate exposure in the window (enhanced products, 7-OH forms, over cap)."""
    doses = snapshot.doses
    found = [f"enhanced product {p.product!r}" for p in _enhanced_products(doses, config)]
    if "seven_oh_product" in doses.forms_used:
        found.append("a 7-OH product")
    if doses.max_seven_oh is not None and doses.max_seven_oh.percent > config.seven_oh_cap_percent:
        found.append(f"lot {doses.max_seven_oh.lot!r} with 7-OH {num(doses.max_seven_oh.percent)}% of alkaloids")
    return found


def _enhanced_products(doses: DoseSummary, config: RuleConfig) -> list[ProductSevenOh]:
    """Products whose certified 7-OH share is above the program's cap (``core.units.exceeds_seven_oh_cap``)."""
    above = [p for p in doses.product_seven_oh if units.exceeds_seven_oh_cap(p.percent, config.seven_oh_cap_percent)]
    return sorted(above, key=lambda p: p.product)


# ---------------------------------------------------------------------------------------- escalation


def escalation_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """7-day mean / 28-day baseline >= ratio (baseline >= min); gaps shrinking; first dose earlier."""
    trend = snapshot.trend
    if trend is None:
        return []
    out: list[Finding] = []
    base, recent = trend.baseline_mean_mg, trend.recent_mean_mg
    if base > 0 and at_least(base, config.min_baseline_mg) and at_least(recent / base, config.escalation_ratio):
        out.append(
            Finding(
                rule_id="escalation",
                severity="moderate",
                subject_key="exposure:ratio",
                title="Kratom use is escalating",
                reason=(
                    f"7-day mean {num(recent)} mg/day mitragynine is {num(recent / base)}x the 28-day baseline of "
                    f"{num(base)} mg/day (alert at >= {num(config.escalation_ratio)}x with a baseline of at least "
                    f"{num(config.min_baseline_mg)} mg/day). Review with the patient."
                ),
                program_settings=("escalation_ratio", "min_baseline_mg"),
            )
        )
    base_gap, recent_gap = trend.baseline_mean_gap_hours, trend.recent_mean_gap_hours
    if base_gap is not None and recent_gap is not None and base_gap > 0:
        shrink = (base_gap - recent_gap) / base_gap
        if at_least(shrink, config.gap_shrink_fraction):
            out.append(
                Finding(
                    rule_id="escalation",
                    severity="moderate",
                    subject_key="exposure:gaps",
                    title="Doses are taken closer together",
                    reason=(
                        f"Mean time between doses fell from {num(base_gap)} h (baseline) to {num(recent_gap)} h "
                        f"in the last 7 days, {num(shrink * 100)}% shorter (alert at >= "
                        f"{num(config.gap_shrink_fraction * 100)}%)."
                    ),
                    program_settings=("gap_shrink_fraction",),
                )
            )
    base_first, recent_first = trend.baseline_mean_first_dose_minute, trend.recent_mean_first_dose_minute
    if base_first is not None and recent_first is not None:
        earlier = base_first - recent_first
        if at_least(earlier, config.first_dose_earlier_minutes):
            out.append(
                Finding(
                    rule_id="escalation",
                    severity="info",
                    subject_key="exposure:first_dose",
                    title="First dose of the day is earlier",
                    reason=(
                        f"Mean first dose moved from {_clock(base_first)} (baseline) to {_clock(recent_first)}, "
                        f"{num(earlier)} minutes earlier (alert at >= {num(config.first_dose_earlier_minutes)} min)."
                    ),
                    program_settings=("first_dose_earlier_minutes",),
                )
            )
    return out


def _clock(minute: float) -> str:
    whole = round(minute) % (24 * 60)
    return f"{whole // 60:02d}:{whole % 60:02d}"


# -------------------------------------------------------------------------------------- risky product


def risky_product_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Unknown-potency extract (moderate); 7-OH above the program's cap on a lot, or on a product (enhanced), and a
    recalled lot (high)."""
    doses = snapshot.doses
    out: list[Finding] = [
        Finding(
            rule_id="risky_product",
            severity="moderate",
            subject_key=f"product:{product}:unknown_potency",
            title="Extract of unknown potency",
            reason=(
                f"{product!r} is an extract-type form with no certificate of analysis on file, so its alkaloid "
                "content cannot be estimated. Ask for the label and a lot certificate."
            ),
            sources=src.UNKNOWN_POTENCY,
            evidence_as_of=src.EVIDENCE_AS_OF,
        )
        for product in sorted(set(doses.unknown_potency_extract_products))
    ]
    share = doses.max_seven_oh
    if share is not None and share.percent > config.seven_oh_cap_percent:
        cap_sources, cap_settings = config.citation("seven_oh_cap_percent")
        out.append(
            Finding(
                rule_id="risky_product",
                severity="high",
                subject_key=f"lot:{share.lot}:seven_oh",
                title="7-OH above the cap",
                reason=(
                    f"Certificate {share.certificate!r} of lot {share.lot!r} shows 7-OH at {num(share.percent)}% of "
                    f"total alkaloids, above the {num(config.seven_oh_cap_percent)}% cap: an enhanced or adulterated "
                    "product. Review opioid exposure."
                ),
                sources=tuple(dict.fromkeys([*cap_sources, *src.ENHANCED_PRODUCT])),
                evidence_as_of=src.CHECKED_2026_12_01,
                program_settings=cap_settings,
            )
        )
    for enhanced in _enhanced_products(doses, config):
        cap_sources, cap_settings = config.citation("seven_oh_cap_percent")
        out.append(
            Finding(
                rule_id="risky_product",
                severity="high",
                subject_key=f"product:{enhanced.product}:enhanced",
                title="Enhanced or adulterated product",
                reason=(
                    f"{enhanced.product!r} is enhanced: its certificate shows 7-OH at {num(enhanced.percent)}% of "
                    f"total alkaloids, above the {num(config.seven_oh_cap_percent)}% cap (7-OH enrichment). 7-OH is "
                    "a more efficacious opioid than leaf mitragynine: review opioid exposure and overdose risk."
                ),
                sources=tuple(dict.fromkeys([*src.ENHANCED_PRODUCT, *cap_sources])),
                evidence_as_of=src.CHECKED_2026_12_01,
                program_settings=cap_settings,
            )
        )
    for recalled in sorted(doses.recalled_lots, key=lambda r: (r.lot, r.product)):
        notice = (recalled.notice,) if recalled.notice else ()
        out.append(
            Finding(
                rule_id="risky_product",
                severity="high",
                subject_key=f"lot:{recalled.lot}:recalled",
                title="Recalled lot in use",
                reason=(
                    f"Lot {recalled.lot!r} of {recalled.product!r} is under recall and was used in the recent window. "
                    "Contact the patient about the recall."
                ),
                sources=notice,
                evidence_as_of=src.EVIDENCE_AS_OF if notice else None,
                program_settings=() if notice else ("recalled_lot_policy",),
            )
        )
    return out


# ---------------------------------------------------------------------------------------- withdrawal


def withdrawal_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """COWS >= 13, the moderate band (>= 25: high); SOWS rise >= configured points from the previous score."""
    out: list[Finding] = []
    cows = snapshot.assessment("cows")
    if cows is not None and cows.total is not None and cows.total >= COWS_MODERATE.low:
        severe = cows.total >= COWS_MODERATELY_SEVERE.low
        band = (
            f"moderately severe or severe (>= {COWS_MODERATELY_SEVERE.low})"
            if severe
            else f"moderate ({_range(COWS_MODERATE)})"
        )
        out.append(
            Finding(
                rule_id="withdrawal",
                severity="high" if severe else "moderate",
                subject_key="withdrawal:cows",
                title="Opioid-type withdrawal (COWS)",
                reason=(
                    f"COWS {num(cows.total)} on {_date(cows)}: {band} withdrawal by the published bands. "
                    "Clinical review of withdrawal management."
                ),
                sources=src.COWS,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        )
    sows = snapshot.assessment("sows")
    if sows is not None and sows.total is not None and sows.previous_total is not None:
        rise = sows.total - sows.previous_total
        if at_least(rise, config.sows_rise_points):
            out.append(
                Finding(
                    rule_id="withdrawal",
                    severity="moderate",
                    subject_key="withdrawal:sows",
                    title="Withdrawal symptoms rising (SOWS)",
                    reason=(
                        f"SOWS rose from {num(sows.previous_total)} to {num(sows.total)} (+{num(rise)}) on "
                        f"{_date(sows)} (alert at a rise of >= {num(config.sows_rise_points)})."
                    ),
                    program_settings=("sows_rise_points",),
                )
            )
    return out


def _date(assessment: Assessment) -> str:
    return assessment.administered_at.date().isoformat()


def _range(band: Band) -> str:
    return f"{band.low}-{band.high}"


# --------------------------------------------------------------------------------------- suicidality


def suicidality_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """PHQ-9 item 9 > 0 whatever the total: urgent. Item 9 left blank: high (a blank cannot rule it out).

    Judged by the PHQ-9 definition's ``suicidality`` flag rule, on the answers and on the flags stored with the
    score (either raises the finding).
    """
    phq9 = snapshot.assessment("phq9")
    if phq9 is None:
        return []
    rule, index = PHQ9_SUICIDALITY, PHQ9_SUICIDALITY_INDEX
    present = len(phq9.answers) > index
    item9 = phq9.answers[index] if present else None
    total = "unknown" if phq9.total is None else num(phq9.total)
    if (item9 is not None and item9 >= rule.at_or_above) or rule.id in phq9.flags:
        shown = "above 0" if item9 is None else str(item9)
        return [
            Finding(
                rule_id="suicidality",
                severity="urgent",
                subject_key="phq9:item9",
                title="PHQ-9 item 9: thoughts of death or self-harm",
                reason=(
                    f"PHQ-9 item 9 answered {shown} on {_date(phq9)} (total {total}). Any answer above 'not at all' "
                    "needs a same-day suicide-risk assessment by a clinician, whatever the total."
                ),
                sources=src.PHQ9_ITEM9,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        ]
    unassessed = present and item9 is None and rule.flag_when_unanswered
    if unassessed or f"{rule.id}_unassessed" in phq9.flags:
        return [
            Finding(
                rule_id="suicidality",
                severity="high",
                subject_key="phq9:item9_unassessed",
                title="PHQ-9 item 9 not answered",
                reason=(
                    f"PHQ-9 item 9 was left blank on {_date(phq9)}; a blank answer cannot rule out thoughts of "
                    "death or self-harm. Ask the question directly."
                ),
                sources=src.PHQ9_ITEM9,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        ]
    return []


# ------------------------------------------------------------------------------------ mood / anxiety


def mood_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """PHQ-9 total >= 20 (severe depression) or GAD-7 total >= 15 (severe anxiety): high."""
    out: list[Finding] = []
    phq9 = snapshot.assessment("phq9")
    if phq9 is not None and phq9.total is not None and phq9.total >= PHQ9_SEVERE.low:
        out.append(
            Finding(
                rule_id="mood",
                severity="high",
                subject_key="phq9:severe",
                title="Severe depression symptoms (PHQ-9)",
                reason=(
                    f"PHQ-9 total {num(phq9.total)} on {_date(phq9)} is in the severe band ({_range(PHQ9_SEVERE)}). "
                    "Review."
                ),
                sources=src.PHQ9,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        )
    gad7 = snapshot.assessment("gad7")
    if gad7 is not None and gad7.total is not None and gad7.total >= GAD7_SEVERE.low:
        out.append(
            Finding(
                rule_id="mood",
                severity="high",
                subject_key="gad7:severe",
                title="Severe anxiety symptoms (GAD-7)",
                reason=(
                    f"GAD-7 total {num(gad7.total)} on {_date(gad7)} is in the severe band ({_range(GAD7_SEVERE)}). "
                    "Review."
                ),
                sources=src.GAD7,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        )
    return out


# ---------------------------------------------------------------------------- serious adverse event


def serious_adverse_event_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """ICH E2A criterion, CTCAE grade >= 4: urgent; grade 3 or a seizure term: high."""
    out: list[Finding] = []
    for event in sorted(snapshot.adverse_events, key=lambda e: (e.onset, e.id)):
        seizure = any(term in event.term.lower() for term in SEIZURE_TERMS)
        grade = event.grade or 0
        if not event.seriousness and grade < 3 and not seizure:
            continue
        why: list[str] = []
        cites: list[str] = []
        if event.seriousness:
            why.append("serious by ICH E2A (" + ", ".join(c.replace("_", " ") for c in event.seriousness) + ")")
            cites.extend(src.ICH_E2A)
        if grade >= 3:
            why.append(f"CTCAE grade {grade}")
            cites.extend(src.CTCAE_V5)
        if seizure:
            why.append("a seizure")
            cites.extend(src.ICH_E2A)
        severity: Severity = "urgent" if event.seriousness or grade >= 4 else "high"
        out.append(
            Finding(
                rule_id="serious_adverse_event",
                severity=severity,
                subject_key=f"ae:{event.id}",
                title=f"Serious adverse event: {event.term}",
                reason=(
                    f"{event.term!r} (onset {event.onset.isoformat()}) is {'; '.join(why)}. "
                    "Clinical review and expedited reporting as the program requires."
                ),
                sources=tuple(dict.fromkeys(cites)),
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        )
    return out


# ------------------------------------------------------------------------------------------- cardiac


def cardiac_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """QTc > 500 ms, or a rise > 60 ms from baseline: high."""
    labs = snapshot.labs
    if labs.qtc_ms is None:
        return []
    why: list[str] = []
    if labs.qtc_ms > QTC_MAX_MS:
        why.append(f"QTc {num(labs.qtc_ms)} ms is above 500 ms")
    if labs.qtc_baseline_ms is not None and labs.qtc_ms - labs.qtc_baseline_ms > QTC_RISE_MS:
        why.append(
            f"QTc rose {num(labs.qtc_ms - labs.qtc_baseline_ms)} ms from the baseline of {num(labs.qtc_baseline_ms)} "
            "ms (more than 60 ms)"
        )
    if not why:
        return []
    when = f" on {labs.qtc_on.isoformat()}" if labs.qtc_on else ""
    return [
        Finding(
            rule_id="cardiac",
            severity="high",
            subject_key="ecg:qtc",
            title="QTc prolongation",
            reason=(
                f"{'; '.join(why)}{when}: high risk of torsade de pointes. Review QT-prolonging drugs, "
                "electrolytes and kratom use with a clinician."
            ),
            sources=src.QTC,
            evidence_as_of=src.EVIDENCE_AS_OF,
        )
    ]


# -------------------------------------------------------------------------------------------- sodium

SODIUM_LOW_MMOL_L = 135.0  # Martin 2022: hyponatremia is serum sodium < 135 mEq/L
SODIUM_SEVERE_MMOL_L = 125.0  # Martin 2022: severe hyponatremia < 125 mEq/L, life-threatening


def sodium_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Latest serum sodium < 135 mmol/L: moderate; < 125 mmol/L (severe): high.

    One case report ties life-threatening hyponatraemia to chronic kratom use (Martin 2022); the finding asks for a
    review of every cause, kratom among them, and never says kratom caused it.
    """
    sodium = snapshot.labs.sodium_mmol_l
    if sodium is None or sodium >= SODIUM_LOW_MMOL_L:
        return []
    severe = sodium < SODIUM_SEVERE_MMOL_L
    when = f" on {snapshot.labs.sodium_on.isoformat()}" if snapshot.labs.sodium_on else ""
    band = "below 125 mmol/L (severe hyponatraemia)" if severe else "below 135 mmol/L (hyponatraemia)"
    return [
        Finding(
            rule_id="sodium",
            severity="high" if severe else "moderate",
            subject_key="lab:sodium",
            title="Severe hyponatraemia" if severe else "Hyponatraemia",
            reason=(
                f"Serum sodium {num(sodium)} mmol/L{when} is {band}. One published case linked life-threatening "
                "hyponatraemia to chronic kratom use; review the causes (medications, fluids, kratom) with a "
                "clinician."
            ),
            sources=src.HYPONATRAEMIA,
            evidence_as_of=src.CHECKED_2026_12_01,
        )
    ]


# -------------------------------------------------------------------------------- pregnancy / lactation


def pregnancy_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Pregnant or breastfeeding patient with kratom use in the window: high."""
    if not snapshot.uses_kratom:
        return []
    out: list[Finding] = []
    if snapshot.pregnant:
        out.append(
            Finding(
                rule_id="pregnancy",
                severity="high",
                subject_key="pregnancy:pregnant",
                title="Kratom use in pregnancy",
                reason=(
                    "The patient is pregnant and used kratom in the recent window. Neonatal abstinence syndrome after "
                    "maternal kratom use has been reported. Refer for obstetric and addiction-medicine review."
                ),
                sources=src.PREGNANCY,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        )
    if snapshot.breastfeeding:
        out.append(
            Finding(
                rule_id="pregnancy",
                severity="high",
                subject_key="pregnancy:breastfeeding",
                title="Kratom use while breastfeeding",
                reason=(
                    "The patient is breastfeeding and used kratom in the recent window. No human lactation data were "
                    "found; neonatal withdrawal after in-utero exposure shows infants can be affected. Review with the "
                    "infant's clinician."
                ),
                sources=src.BREASTFEEDING,
                evidence_as_of=src.EVIDENCE_AS_OF,
            )
        )
    return out


# --------------------------------------------------------------------------------------- history flags


def history_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Liver disease, a seizure disorder, QT prolongation or cardiac history, respiratory disease, with kratom use
    in the window: one finding per flag, with the curated record's text, severity (major: high) and sources."""
    if not snapshot.uses_kratom:
        return []
    records = {str(record.flag): record for record in snapshot.contraindications}
    out: list[Finding] = []
    for flag in HISTORY_FLAGS:
        record = records.get(flag)
        if flag not in snapshot.history and record is None:
            continue
        label = HISTORY_LABELS[flag]
        title = f"Kratom use with {label}"
        if record is None:
            out.append(
                Finding(
                    rule_id="history",
                    severity="moderate",
                    subject_key=f"history:{flag}",
                    title=title,
                    reason=(
                        f"The patient has {label} on file and used kratom in the recent window. No curated record "
                        "for this history flag was available: clinical review."
                    ),
                    program_settings=("history_flag_without_record",),
                )
            )
            continue
        out.append(
            Finding(
                rule_id="history",
                severity=CONTRAINDICATION_SEVERITY[record.severity],
                subject_key=f"history:{flag}",
                title=title,
                reason=(
                    f"The patient has {label} on file and used kratom in the recent window. {record.summary} "
                    f"{record.management}"
                ),
                sources=record.sources,
                evidence_as_of=record.as_of,
            )
        )
    return out


# --------------------------------------------------------------------------------------------- legal


def legal_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Kratom banned where the patient lives (moderate), a product banned or over the cap (moderate);
    unknown status (info). Only for patients using kratom."""
    if not snapshot.uses_kratom and not snapshot.product_legal:
        return []
    out: list[Finding] = []
    status = snapshot.legal_status
    if status is not None:
        record = status.record
        when = f"on {status.on.isoformat()}"
        if status.status == "banned" and record is not None:
            out.append(
                Finding(
                    rule_id="legal",
                    severity="moderate",
                    subject_key=f"legal:kratom:{status.code}",
                    title=f"Kratom is banned in {status.name}",
                    reason=(
                        f"Kratom is banned in {status.name} ({status.code}) {when} (decided by {status.decided_by}). "
                        "Illicit supply raises product-quality risk; not legal advice."
                    ),
                    **_legal_citation(record.sources, record.as_of),
                )
            )
        elif status.status == "unknown" or record is None:
            out.append(
                Finding(
                    rule_id="legal",
                    severity="info",
                    subject_key=f"legal:kratom:{status.code}",
                    title=f"Legal status of kratom unknown in {status.name}",
                    reason=f"No confirmed legal status for kratom in {status.name} ({status.code}) {when}.",
                    **_legal_citation(record.sources if record else (), record.as_of if record else None),
                )
            )
    for item in sorted(snapshot.product_legal, key=lambda p: p.product):
        evaluation = item.evaluation
        if evaluation.verdict == "allowed":
            continue
        if evaluation.verdict == "banned" and status is not None and status.status == "banned":
            continue  # already reported once for the jurisdiction
        severity: Severity = "info" if evaluation.verdict == "unknown" else "moderate"
        as_of = item.evidence_as_of or (status.record.as_of if status and status.record else None)
        verdict = {"banned": "banned", "over_cap": "over the 7-OH cap", "unknown": "of unknown legal status"}[
            evaluation.verdict
        ]
        out.append(
            Finding(
                rule_id="legal",
                severity=severity,
                subject_key=f"legal:product:{item.product}",
                title=f"Product {verdict}: {item.product}",
                reason=(
                    f"{item.product!r} is {verdict} in {snapshot.jurisdiction} on {snapshot.as_of.isoformat()}: "
                    f"{evaluation.reason} (decided by {evaluation.decided_by}). Not legal advice."
                ),
                **_legal_citation(evaluation.sources, as_of),
            )
        )
    return out


class _Citation(TypedDict):
    sources: tuple[str, ...]
    evidence_as_of: dt.date | None
    program_settings: tuple[str, ...]


def _legal_citation(sources: tuple[str, ...], as_of: dt.date | None) -> _Citation:
    """The jurisdiction record's sources; a record without sources or date is labelled with the program's
    policy of showing unconfirmed legal status (``legal_status_unconfirmed_policy``)."""
    if sources and as_of is not None:
        return {"sources": sources, "evidence_as_of": as_of, "program_settings": ()}
    return {"sources": (), "evidence_as_of": None, "program_settings": ("legal_status_unconfirmed_policy",)}


# ---------------------------------------------------------------------------------------- dependence


def dependence_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """DSM-5 criteria count >= 4 (moderate; >= 6 severe: high). A count is not a diagnosis."""
    dsm = snapshot.assessment("dsm5_sud")
    if dsm is None or dsm.total is None or dsm.total < DSM5_MODERATE.low:
        return []
    severe = dsm.total >= DSM5_SEVERE.low
    band = f"severe ({DSM5_SEVERE.low} or more)" if severe else f"moderate ({_range(DSM5_MODERATE)})"
    return [
        Finding(
            rule_id="dependence",
            severity="high" if severe else "moderate",
            subject_key="dsm5:kratom_use_disorder",
            title="Kratom use disorder criteria met",
            reason=(
                f"{num(dsm.total)} of 11 DSM-5 substance use disorder criteria on {_date(dsm)}: the {band} range. "
                "A criteria count is not a diagnosis; clinical assessment."
            ),
            sources=src.DSM5_SUD,
            evidence_as_of=src.EVIDENCE_AS_OF,
        )
    ]


# ---------------------------------------------------------------------------------------- no benefit


def _change_words(improvement: float) -> str:
    """A percent change in pain as a person says it: "improved by 12.5%", "worsened by 16.7%", "no change"."""
    if improvement > 0:
        return f"improved by {improvement:.1f}%"
    if improvement < 0:
        return f"worsened by {-improvement:.1f}%"
    return "no change"


def no_benefit_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """>= N weeks between the pain baseline and the latest value without >= 30% improvement: moderate."""
    pain = snapshot.pain
    if pain is None or pain.baseline_value <= 0:
        return []
    elapsed = (pain.latest_on - pain.baseline_on).days
    if elapsed < config.no_benefit_weeks * 7:
        return []
    improvement = (pain.baseline_value - pain.latest_value) / pain.baseline_value * 100.0
    if at_least(improvement, config.no_benefit_percent):
        return []
    percent_sources, percent_settings = config.citation("no_benefit_percent")
    intensity = pain.instrument_id in PAIN_INTENSITY_INSTRUMENTS
    basis = ""
    if not intensity:
        # IMMPACT's categories are defined for pain-intensity ratings; on the PEG the threshold is the program's.
        percent_sources, percent_settings = (), ("no_benefit_percent",)
        basis = (
            f" The {num(config.no_benefit_percent)}% threshold is a program setting for the {pain.instrument_id}: "
            "the published (IMMPACT) categories are for pain-intensity ratings."
        )
    return [
        Finding(
            rule_id="no_benefit",
            severity="moderate",
            subject_key=f"pain:{pain.instrument_id}",
            title="Review: no meaningful pain improvement",
            reason=(
                f"{pain.instrument_id} pain went from {num(pain.baseline_value)} ({pain.baseline_on.isoformat()}) to "
                f"{num(pain.latest_value)} ({pain.latest_on.isoformat()}), {elapsed // 7} weeks later: "
                f"{_change_words(improvement)}, below the {num(config.no_benefit_percent)}% improvement looked for. "
                "Review the care plan."
                f"{basis}"
            ),
            sources=percent_sources,
            evidence_as_of=src.EVIDENCE_AS_OF if percent_sources else None,
            program_settings=("no_benefit_weeks", *percent_settings),
        )
    ]


# ----------------------------------------------------------------------------------- missed follow-up


def missed_followup_rule(snapshot: PatientSnapshot, config: RuleConfig) -> list[Finding]:
    """Overdue > grace days: info; overdue >= the moderate threshold: moderate."""
    out: list[Finding] = []
    for item in sorted(snapshot.overdue, key=lambda o: o.instrument_id):
        if item.days_overdue <= config.missed_followup_grace_days:
            continue
        moderate = item.days_overdue >= config.missed_followup_moderate_days
        due = f" (due {item.due_on.isoformat()})" if item.due_on else ""
        out.append(
            Finding(
                rule_id="missed_followup",
                severity="moderate" if moderate else "info",
                subject_key=f"schedule:{item.instrument_id}",
                title=f"Missed follow-up: {item.instrument_id}",
                reason=(
                    f"{item.instrument_id} is {item.days_overdue} days overdue{due}; grace is "
                    f"{config.missed_followup_grace_days} days. Contact the patient."
                ),
                program_settings=(
                    ("missed_followup_grace_days", "missed_followup_moderate_days")
                    if moderate
                    else ("missed_followup_grace_days",)
                ),
            )
        )
    return out


RULES: tuple[tuple[str, Rule], ...] = (
    ("interaction", interaction_rule),
    ("naloxone", naloxone_rule),
    ("escalation", escalation_rule),
    ("risky_product", risky_product_rule),
    ("withdrawal", withdrawal_rule),
    ("suicidality", suicidality_rule),
    ("mood", mood_rule),
    ("serious_adverse_event", serious_adverse_event_rule),
    ("liver", liver_rule),
    ("cardiac", cardiac_rule),
    ("sodium", sodium_rule),
    ("pregnancy", pregnancy_rule),
    ("history", history_rule),
    ("legal", legal_rule),
    ("dependence", dependence_rule),
    ("no_benefit", no_benefit_rule),
    ("missed_followup", missed_followup_rule),
)
"""Every rule, by id, in a fixed order."""
