"""Read-side helpers shared by the API and the web pages: trajectories of stored assessments through the
core's change analysis, definition payloads and the urgent notice shown for PHQ-9 item 9.

Nothing here recommends a dose, or any treatment: it measures, compares with published thresholds and
cites them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from kratomwatch.assessments.actions import CLINICIAN_ADMINISTERED
from kratomwatch.assessments.models import Assessment
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.instruments.change import IMMPACT_PAIN_CITATION
from kratomwatch.records.models import Patient

#: 0-10 pain-intensity items inside multi-item pain instruments. The core applies IMMPACT percent-reduction
#: categories (Dworkin 2008) to 0-10 pain-intensity ratings; the PEG's first item (average pain, past week)
#: and the BPI's average-pain item are such ratings, so the category is reported for that item, labelled
#: as such. The PEG score itself has no confirmed MCID and gets no responder status from the core.
PAIN_INTENSITY_ITEMS: dict[str, str] = {"peg": "peg_pain", "bpi_sf": "bpi_average"}

#: Flags that trigger the urgent notice.
URGENT_FLAGS = frozenset({"suicidality"})

CRISIS_LINES: dict[str, tuple[str, str]] = {
    "US": ("call or text 988 (988 Suicide & Crisis Lifeline), or call 911", "https://988lifeline.org/"),
    "GB": ("call Samaritans free on 116 123, or call 999", "https://www.samaritans.org/"),
}


def urgent_notice(flags: Iterable[str], jurisdiction: str) -> dict[str, str] | None:
    """The crisis notice for a PHQ-9 item 9 answer above 0, or None. Never gives dose advice."""
    if not URGENT_FLAGS.intersection(flags):
        return None
    country = (jurisdiction or "").split("-", 1)[0].upper()
    line, url = CRISIS_LINES.get(country, ("call your local emergency number or a crisis line", ""))
    return {
        "title": "Please talk to your clinician now",
        "message": (
            "You answered that you have had thoughts that you would be better off dead or of hurting yourself. "
            "Please talk to your clinician or care team today. If you are in danger or might act on these "
            f"thoughts, {line} now."
        ),
        "crisis_line": line,
        "url": url,
    }


def flag_label(definition: ins.InstrumentDefinition, flag_id: str) -> str:
    for rule in definition.flag_rules:
        if flag_id == rule.id:
            return rule.label
        if flag_id == f"{rule.id}_unassessed":
            return f"{rule.label}: item left blank"
    return flag_id


def flags_out(assessment: Assessment) -> list[dict[str, str]]:
    try:
        definition = ins.get(assessment.instrument_id)
    except ins.UnknownInstrument:
        return [{"id": f, "label": f} for f in assessment.flags]
    return [{"id": f, "label": flag_label(definition, f)} for f in assessment.flags]


def citation_out(c: ins.Citation) -> dict[str, Any]:
    return {"label": c.label, "supports": c.supports, "as_of": c.as_of, "pmid": c.pmid, "doi": c.doi, "url": c.url}


def definition_out(d: ins.InstrumentDefinition) -> dict[str, Any]:
    """The definition as plain data for the API (item text only where the licence lets it ship)."""
    primary = d.primary_scale
    return {
        "id": d.id,
        "version": d.version,
        "title": d.title,
        "recall_period": d.recall_period,
        "clinician_administered": d.id in CLINICIAN_ADMINISTERED,
        "ships_item_text": d.ships_item_text,
        "items": [
            {
                "id": item.id,
                "position": position,
                "label": item.label,
                "text": item.text,
                "options": [{"value": o.value, "label": o.label} for o in item.options],
                "loinc": item.loinc,
            }
            for position, item in enumerate(d.items, start=1)
        ],
        "primary_scale_id": d.primary_scale_id,
        "scales": [
            {
                "id": s.id,
                "label": s.label,
                "aggregation": s.aggregation.value,
                "item_ids": list(s.item_ids),
                "score_min": d.score_range(s.id)[0],
                "score_max": d.score_range(s.id)[1],
                "excluded_when_supervised": list(s.excluded_when_supervised),
                "bands": [
                    {"id": b.id, "label": b.label, "low": b.low, "high": b.high, "basis": b.basis.value, "note": b.note}
                    for b in s.bands
                ],
                "important_change": (
                    {
                        "points": s.important_change.points,
                        "basis": s.important_change.basis.value,
                        "note": s.important_change.note,
                        "citation": citation_out(s.important_change.citation),
                    }
                    if s.important_change is not None
                    else None
                ),
                "immpact_pain_intensity": s.immpact_pain_intensity,
                "loinc": s.loinc,
                "note": s.note,
            }
            for s in d.scales
        ],
        "mcid": primary.important_change.points if primary.important_change is not None else None,
        "flags": [
            {
                "id": f.id,
                "label": f.label,
                "kind": f.kind.value,
                "target_id": f.target_id,
                "at_or_above": f.at_or_above,
                "basis": f.basis.value,
                "note": f.note,
            }
            for f in d.flag_rules
        ],
        "default_missing_policy": d.default_missing_policy.value,
        "supported_missing_policies": [p.value for p in d.supported_missing_policies],
        "missing_policy_note": d.missing_policy_note,
        "loinc_panel": d.loinc_panel,
        "licence": d.licence,
        "sources": [citation_out(c) for c in d.citations],
        "notes": list(d.notes),
        "not_confirmed": list(d.not_confirmed),
    }


def rescore(assessment: Assessment, definition: ins.InstrumentDefinition) -> ins.ScoreResult:
    """Score stored answers with the current definition (pure and cheap), so that one trajectory never
    mixes definition versions."""
    return ins.score(definition, assessment.answers, supervised=assessment.supervised)


def _point(p: ins.TrajectoryPoint | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"at": p.at, "value": p.value, "valid": p.valid, "band_id": p.band_id}


def trajectory_of(definition: ins.InstrumentDefinition, assessments: list[Assessment]) -> dict[str, Any]:
    """Baseline (first valid), latest (last valid), change and responder status on the primary scale."""
    ordered = sorted(assessments, key=lambda a: (a.administered_at, a.pk))
    results = [(a.administered_at, rescore(a, definition)) for a in ordered]
    traj = ins.trajectory(definition, results)
    rule = definition.primary_scale
    change = traj.change
    change_out: dict[str, Any] | None = None
    if change is not None:
        change_out = {
            "absolute_change": change.absolute_change,
            "percent_change": change.percent_change,
            "improved": change.improved,
            "worsened": change.worsened,
            "important_change_points": change.important_change_points,
            "important_improvement": change.important_improvement,
            "important_worsening": change.important_worsening,
            "responder": change.responder,
            "responder_rule": change.responder_rule,
            "immpact_category": change.pain_category.value if change.pain_category is not None else None,
            "citations": [citation_out(c) for c in change.citations],
        }
    pain_out: dict[str, Any] | None = None
    item_id = PAIN_INTENSITY_ITEMS.get(definition.id)
    valid = [(a, r) for a, (_, r) in zip(ordered, results, strict=True) if r.primary.valid]
    if item_id is not None and len(valid) >= 2:
        position = definition.position_of(item_id) - 1
        first, last = valid[0][0].answers[position], valid[-1][0].answers[position]
        if first is not None and last is not None:
            category = ins.immpact_pain_category(first, last)
            pain_out = {
                "item_id": item_id,
                "label": definition.item(item_id).label,
                "baseline": first,
                "latest": last,
                "percent_change": ins.percent_change(first, last),
                "immpact_category": category.value if category is not None else None,
                "citation": citation_out(IMMPACT_PAIN_CITATION),
            }
    return {
        "instrument": definition.id,
        "title": definition.title,
        "scale_id": rule.id,
        "scale_label": rule.label,
        "valid_points": traj.valid_points,
        "baseline": _point(traj.baseline),
        "latest": _point(traj.latest),
        "change": change_out,
        "responder": traj.responder,
        "pain_intensity": pain_out,
        "points": [_point(p) for p in traj.points],
    }


def trajectories_for(patient: Patient, instrument_id: str | None = None) -> list[dict[str, Any]]:
    """One trajectory per instrument the patient has assessments of (sorted by instrument id)."""
    qs = Assessment.objects.filter(patient=patient).order_by("administered_at", "id")
    if instrument_id is not None:
        qs = qs.filter(instrument_id=instrument_id)
    grouped: dict[str, list[Assessment]] = defaultdict(list)
    for a in qs:
        grouped[a.instrument_id].append(a)
    out = []
    for key in sorted(grouped):
        try:
            definition = ins.get(key)
        except ins.UnknownInstrument:  # a retired instrument: its stored rows stay, without analysis
            continue
        out.append(trajectory_of(definition, grouped[key]))
    return out


def local_time(at: dt.datetime, patient: Patient) -> dt.datetime:
    return at.astimezone(exposure.zone(patient.time_zone))
