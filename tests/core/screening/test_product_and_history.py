from __future__ import annotations

import pytest

from kratomwatch.core.screening import (
    HistoryFlags,
    MissingContraindicationRule,
    ScreeningKnowledge,
    contraindications,
    product_safety,
)


def codes(knowledge: ScreeningKnowledge, *args: object) -> list[str]:
    assert knowledge.product_rules is not None
    return [f.code for f in product_safety(*args, rules=knowledge.product_rules)]  # type: ignore[arg-type]


def test_leaf_without_certificate_has_no_potency_finding(knowledge: ScreeningKnowledge) -> None:
    assert codes(knowledge, "leaf_powder", False, None, None) == []


@pytest.mark.parametrize("form", ["liquid_extract", "shot", "tablet", "resin", "other", "gummy"])
def test_extracts_without_certificate_are_unknown_potency(knowledge: ScreeningKnowledge, form: str) -> None:
    assert codes(knowledge, form, False, None, None) == ["unknown_potency_extract"]
    assert codes(knowledge, form, True, None, None) == []


def test_seven_oh_above_cap_boundary(knowledge: ScreeningKnowledge) -> None:
    assert codes(knowledge, "leaf_powder", True, 2.0, 2.0) == []
    assert codes(knowledge, "leaf_powder", True, 2.01, 2.0) == ["seven_oh_above_cap"]
    assert codes(knowledge, "leaf_powder", True, 5.0, None) == []


def test_seven_oh_product(knowledge: ScreeningKnowledge) -> None:
    assert codes(knowledge, "seven_oh_product", False, 40.0, 1.0) == [
        "unknown_potency_extract",
        "seven_oh_above_cap",
        "seven_oh_product",
    ]


def test_history_flags_give_sourced_findings_in_order(knowledge: ScreeningKnowledge) -> None:
    findings = contraindications(HistoryFlags(pregnant=True, liver_disease=True), knowledge.contraindications)
    assert [f.flag for f in findings] == ["liver_disease", "pregnant"]
    assert all(f.sources for f in findings)
    assert contraindications(HistoryFlags(), knowledge.contraindications) == ()


def test_missing_rule_is_an_error() -> None:
    with pytest.raises(MissingContraindicationRule):
        contraindications(HistoryFlags(cardiac_qt=True), {})
