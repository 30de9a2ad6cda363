"""Legal status of kratom by jurisdiction and date, and product evaluation against the rules in force. Pure."""

from __future__ import annotations

import datetime as dt

from kratomwatch.core.screening.types import (
    JurisdictionEntry,
    LegalStatusResult,
    ProductEvaluation,
    ScreeningKnowledge,
    StatusRecord,
)


class UnknownJurisdiction(LookupError):
    """The jurisdiction code is not in the curated knowledge."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown jurisdiction code {code!r}: use ISO 3166-1 alpha-2 or ISO 3166-2 (e.g. US-OK)")
        self.code = code


def record_in_force(entry: JurisdictionEntry, on: dt.date) -> StatusRecord | None:
    """The latest record with effective_from <= on (``None`` effective_from = as far back as known)."""
    best: StatusRecord | None = None
    for record in entry.statuses:
        start = record.effective_from or dt.date.min
        if start <= on and (best is None or start >= (best.effective_from or dt.date.min)):
            best = record
    return best


def _entry(code: str, knowledge: ScreeningKnowledge) -> JurisdictionEntry:
    key = code.strip().upper() if isinstance(code, str) else ""
    entry = knowledge.jurisdictions.get(key)
    if entry is None:
        raise UnknownJurisdiction(code)
    return entry


def legal_status(code: str, on: dt.date, knowledge: ScreeningKnowledge) -> LegalStatusResult:
    """Status of kratom in ``code`` on date ``on``.

    A subdivision's own record in force overrides the country level; if the subdivision has no record in
    force on that date, the country's record applies. No record at all in force gives ``unknown``.
    """
    entry = _entry(code, knowledge)
    own = record_in_force(entry, on)
    parent_entry = knowledge.jurisdictions.get(entry.parent) if entry.parent else None
    parent = record_in_force(parent_entry, on) if parent_entry else None
    if own is not None:
        return LegalStatusResult(entry.code, entry.name, on, own.status, entry.code, own, parent)
    if parent is not None and parent_entry is not None:
        return LegalStatusResult(entry.code, entry.name, on, parent.status, parent_entry.code, parent, None)
    return LegalStatusResult(entry.code, entry.name, on, "unknown", entry.code, None, None)


def evaluate_product(
    code: str,
    on: dt.date,
    knowledge: ScreeningKnowledge,
    *,
    seven_oh_share_percent: float | None,
    synthetic: bool = False,
    is_seven_oh_product: bool = False,
) -> ProductEvaluation:
    """Check a product against the rules in force (subdivision and country both apply; the stricter wins).

    ``seven_oh_share_percent`` is 7-OH as a share of total alkaloids (from a certificate), or ``None``.
    Verdicts: ``banned`` (kratom banned, synthetic or 7-OH product banned), ``over_cap`` (7-OH share above the
    cap), ``allowed`` (no rule in force is broken), ``unknown`` (status unknown, or a cap applies but the
    share is unknown). ``allowed`` is a statement about the curated rules only, not legal advice.
    """
    status = legal_status(code, on, knowledge)
    records: list[tuple[str, StatusRecord | None]] = [(status.decided_by, status.record)]
    if status.parent_record is not None:
        records.append((status.code.split("-", 1)[0], status.parent_record))
    applicable = [(who, rec) for who, rec in records if rec is not None]

    for who, rec in applicable:
        if rec.status == "banned":
            return ProductEvaluation("banned", "kratom is banned", who, rec.sources)
    for who, rec in applicable:
        if synthetic and rec.synthetic_alkaloids_banned:
            return ProductEvaluation("banned", "synthetic alkaloids are prohibited", who, rec.sources)
        if is_seven_oh_product and rec.seven_oh_products_banned:
            return ProductEvaluation("banned", "7-OH products are prohibited", who, rec.sources)
    caps = [(rec.seven_oh_cap_percent, who, rec) for who, rec in applicable if rec.seven_oh_cap_percent]
    if caps:
        cap, who, rec = min(caps, key=lambda item: item[0] or 0.0)
        if seven_oh_share_percent is None:
            return ProductEvaluation(
                "unknown", "a 7-OH cap applies but the 7-OH share is unknown", who, rec.sources, cap
            )
        if seven_oh_share_percent > (cap or 0.0):
            return ProductEvaluation(
                "over_cap",
                f"7-OH {seven_oh_share_percent}% of alkaloids exceeds the {cap}% cap",
                who,
                rec.sources,
                cap,
            )
    if not applicable or status.status == "unknown":
        who = status.decided_by
        sources = status.record.sources if status.record else ()
        return ProductEvaluation("unknown", "legal status is unknown", who, sources)
    who, rec = applicable[0]
    cap_value = min((c for c, _, _ in caps), default=None) if caps else None
    return ProductEvaluation("allowed", "no curated rule in force is broken", who, rec.sources, cap_value)
