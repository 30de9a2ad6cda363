"""Product-level safety findings (unknown-potency forms, 7-OH above a cap, 7-OH products). Pure."""

from __future__ import annotations

from kratomwatch.core.screening.types import ProductFinding, ProductSafetyRules


def _finding(code: str, rules: ProductSafetyRules) -> ProductFinding:
    text = rules.texts[code]
    if code == "unknown_potency_extract":
        return ProductFinding("unknown_potency_extract", text.severity, text.message, text.sources)
    if code == "seven_oh_above_cap":
        return ProductFinding("seven_oh_above_cap", text.severity, text.message, text.sources)
    return ProductFinding("seven_oh_product", text.severity, text.message, text.sources)


def product_safety(
    form: str,
    has_certificate: bool,
    seven_oh_share_percent: float | None,
    cap: float | None,
    *,
    rules: ProductSafetyRules,
) -> tuple[ProductFinding, ...]:
    """Findings for one product.

    - ``unknown_potency_extract``: a form with unknown potency (extract, shot, tablet, resin, 7-OH product,
      other or an unrecognised form) and no certificate of analysis;
    - ``seven_oh_above_cap``: the 7-OH share of total alkaloids is above ``cap`` (both in percent);
    - ``seven_oh_product``: the form is a 7-OH product.
    """
    findings: list[ProductFinding] = []
    form_key = form.strip().lower() if isinstance(form, str) else "other"
    known_forms = {
        "leaf_powder",
        "capsule",
        "tea",
        "liquid_extract",
        "shot",
        "tablet",
        "resin",
        "seven_oh_product",
        "other",
    }
    unknown_potency = form_key in rules.unknown_potency_forms or form_key not in known_forms
    if unknown_potency and not has_certificate:
        findings.append(_finding("unknown_potency_extract", rules))
    if seven_oh_share_percent is not None and cap is not None and seven_oh_share_percent > cap:
        findings.append(_finding("seven_oh_above_cap", rules))
    if form_key == "seven_oh_product":
        findings.append(_finding("seven_oh_product", rules))
    return tuple(findings)
