"""Legal status of kratom by jurisdiction and date, and product evaluation against the rules in force. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from kratomwatch.core.screening.types import (
    JurisdictionEntry,
    LegalStatusResult,
    ProductEvaluation,
    ProductRuleKind,
    ScreeningKnowledge,
    StatusRecord,
)

#: The product fact each rule kind needs, as named in the answer when it is missing.
PRODUCT_FACT_NEEDED: dict[str, str] = {
    "seven_oh_percent_of_alkaloids": "7-OH share of total alkaloids (%)",
    "seven_oh_percent_by_weight": "7-OH mg per gram of product",
    "seven_oh_mg_per_g": "7-OH mg per gram of product",
    "seven_oh_ppm": "7-OH mg per gram of product",
    "seven_oh_mg_per_serving": "7-OH mg per serving",
    "seven_oh_products_banned": "whether it is a 7-OH product",
    "synthetic_alkaloids_banned": "whether it contains synthetic or semi-synthetic alkaloids",
    "non_leaf_products_banned": "whether it is pure leaf kratom (dried leaf or leaf powder)",
}


@dataclass(frozen=True)
class ProductRule:
    """One product rule in law. ``limit`` is in the unit of ``kind`` (percent, mg/g, ppm or mg per serving);
    the two ``*_banned`` kinds have no limit."""

    kind: ProductRuleKind
    limit: float | None = None
    note: str | None = None

    def limit_mg_per_g(self) -> float | None:
        """A weight-based limit as mg of 7-OH per gram of product (1% w/w = 10 mg/g; 1 ppm = 0.001 mg/g)."""
        if self.limit is None:
            return None
        if self.kind == "seven_oh_percent_by_weight":
            return self.limit * 10.0
        if self.kind == "seven_oh_ppm":
            return self.limit / 1000.0
        if self.kind == "seven_oh_mg_per_g":
            return self.limit
        return None

    def describe(self) -> str:
        unit = {
            "seven_oh_percent_of_alkaloids": "% of total alkaloids",
            "seven_oh_percent_by_weight": "% by weight",
            "seven_oh_mg_per_g": " mg per gram",
            "seven_oh_ppm": " ppm",
            "seven_oh_mg_per_serving": " mg per serving",
        }
        if self.kind == "seven_oh_products_banned":
            return "7-OH products prohibited"
        if self.kind == "synthetic_alkaloids_banned":
            return "synthetic or semi-synthetic alkaloids prohibited"
        if self.kind == "non_leaf_products_banned":
            return "only pure leaf kratom may be sold (extracts and concentrates prohibited)"
        return f"7-OH at most {self.limit:g}{unit[self.kind]}"


@dataclass(frozen=True)
class RuledStatusRecord(StatusRecord):
    """A status record with its product rules (share, weight, ppm, per serving, 7-OH product or synthetic bans)."""

    product_rules: tuple[ProductRule, ...] = ()


@dataclass(frozen=True)
class ProductCheck(ProductEvaluation):
    """A product verdict that names the product facts still needed (``unknown``) and the record's as-of date."""

    missing: tuple[str, ...] = ()
    rule: str | None = None
    as_of: dt.date | None = None


def product_rules_of(record: StatusRecord) -> tuple[ProductRule, ...]:
    """Every product rule of a record: its explicit ``product_rules`` plus the legacy flags and share cap."""
    rules: list[ProductRule] = list(getattr(record, "product_rules", ()))
    kinds = {(r.kind, r.limit) for r in rules}
    if record.seven_oh_cap_percent and ("seven_oh_percent_of_alkaloids", record.seven_oh_cap_percent) not in kinds:
        rules.append(ProductRule("seven_oh_percent_of_alkaloids", record.seven_oh_cap_percent))
    if record.synthetic_alkaloids_banned and not any(r.kind == "synthetic_alkaloids_banned" for r in rules):
        rules.append(ProductRule("synthetic_alkaloids_banned"))
    if record.seven_oh_products_banned and not any(r.kind == "seven_oh_products_banned" for r in rules):
        rules.append(ProductRule("seven_oh_products_banned"))
    return tuple(rules)


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


def _check_rule(
    rule: ProductRule,
    *,
    share: float | None,
    mg_per_g: float | None,
    mg_per_serving: float | None,
    synthetic: bool | None,
    seven_oh_product: bool | None,
    pure_leaf: bool | None,
) -> tuple[Literal["broken", "kept", "undecided"], str]:
    """Whether a product breaks one rule, keeps it, or cannot be judged from what is known of it."""
    bans = {
        "synthetic_alkaloids_banned": (synthetic, "synthetic alkaloids are prohibited"),
        "seven_oh_products_banned": (seven_oh_product, "7-OH products are prohibited"),
        "non_leaf_products_banned": (None if pure_leaf is None else not pure_leaf, "only pure leaf kratom may be sold"),
    }
    if rule.kind in bans:
        fact, reason = bans[rule.kind]
        if fact is None:
            return "undecided", ""
        return ("broken", reason) if fact else ("kept", "")
    value: float | None
    if rule.kind == "seven_oh_percent_of_alkaloids":
        value, limit, text = share, rule.limit, f"7-OH {share}% of alkaloids exceeds the {rule.limit:g}% cap"
    elif rule.kind == "seven_oh_mg_per_serving":
        value, limit, text = mg_per_serving, rule.limit, f"7-OH {mg_per_serving} mg per serving exceeds the limit"
    else:
        value, limit = mg_per_g, rule.limit_mg_per_g()
        text = f"7-OH {mg_per_g} mg per gram exceeds the limit ({rule.describe()}, {limit} mg/g)"
    if value is None or limit is None:
        return "undecided", ""
    return ("broken", text) if value > limit else ("kept", "")


def evaluate_product(
    code: str,
    on: dt.date,
    knowledge: ScreeningKnowledge,
    *,
    seven_oh_share_percent: float | None,
    synthetic: bool | None = False,
    is_seven_oh_product: bool | None = False,
    seven_oh_mg_per_g: float | None = None,
    seven_oh_mg_per_serving: float | None = None,
    pure_leaf: bool | None = None,
) -> ProductEvaluation:
    """Check a product against the rules in force (subdivision and country both apply; the stricter wins).

    The product is described by ``seven_oh_share_percent`` (7-OH as a share of total alkaloids),
    ``seven_oh_mg_per_g`` (mg 7-OH per gram of product), ``seven_oh_mg_per_serving``, ``is_seven_oh_product``,
    ``synthetic`` and ``pure_leaf`` (``None`` = not known). A rule may be a share of alkaloids, a weight per
    gram (% w/w, mg/g or ppm), a weight per serving, a ban on 7-OH products, on synthetic alkaloids, or on
    anything but pure leaf.

    Verdicts: ``banned`` (kratom banned, or a synthetic or 7-OH product banned), ``over_cap`` (a 7-OH limit
    exceeded), ``unknown`` (status unknown, or a rule applies that the known facts cannot decide: ``missing``
    names the facts needed), ``allowed`` (every rule in force decided and kept). ``allowed`` is a statement about
    the curated rules only, not legal advice. The result is a :class:`ProductCheck`.
    """
    status = legal_status(code, on, knowledge)
    records: list[tuple[str, StatusRecord | None]] = [(status.decided_by, status.record)]
    if status.parent_record is not None:
        records.append((status.code.split("-", 1)[0], status.parent_record))
    applicable = [(who, rec) for who, rec in records if rec is not None]
    facts = {
        "share": seven_oh_share_percent,
        "mg_per_g": seven_oh_mg_per_g,
        "mg_per_serving": seven_oh_mg_per_serving,
        "synthetic": synthetic,
        "seven_oh_product": is_seven_oh_product,
        "pure_leaf": pure_leaf,
    }

    for who, rec in applicable:
        if rec.status == "banned":
            return ProductCheck("banned", "kratom is banned", who, rec.sources, as_of=rec.as_of)
    broken: list[tuple[int, str, str, StatusRecord, ProductRule]] = []
    undecided: list[tuple[str, StatusRecord, ProductRule]] = []
    for who, rec in applicable:
        for rule in product_rules_of(rec):
            outcome, reason = _check_rule(rule, **facts)  # type: ignore[arg-type]
            if outcome == "broken":
                rank = 0 if rule.kind.endswith("_banned") else 1
                broken.append((rank, reason, who, rec, rule))
            elif outcome == "undecided":
                undecided.append((who, rec, rule))
    share_caps = [
        r.limit for _, rec in applicable for r in product_rules_of(rec) if r.kind == "seven_oh_percent_of_alkaloids"
    ]
    cap = min((c for c in share_caps if c is not None), default=None)
    if broken:
        rank, reason, who, rec, rule = min(broken, key=lambda item: item[0])
        verdict: Literal["banned", "over_cap"] = "banned" if rank == 0 else "over_cap"
        return ProductCheck(verdict, reason, who, rec.sources, cap, rule=rule.describe(), as_of=rec.as_of)
    if undecided:
        missing = tuple(dict.fromkeys(PRODUCT_FACT_NEEDED[rule.kind] for _, _, rule in undecided))
        who, rec, rule = undecided[0]
        rules = "; ".join(dict.fromkeys(f"{rule.describe()} ({w})" for w, _, rule in undecided))
        return ProductCheck(
            "unknown",
            f"rules in force ({rules}) cannot be decided without: {', '.join(missing)}",
            who,
            rec.sources,
            cap,
            missing=missing,
            rule=rule.describe(),
            as_of=rec.as_of,
        )
    if not applicable or status.status == "unknown":
        who = status.decided_by
        sources = status.record.sources if status.record else ()
        as_of = status.record.as_of if status.record else None
        return ProductCheck("unknown", "legal status is unknown", who, sources, as_of=as_of)
    who, rec = applicable[0]
    return ProductCheck("allowed", "no curated rule in force is broken", who, rec.sources, cap, as_of=rec.as_of)
