"""Product rules as share, weight per gram, ppm, per serving, 7-OH-product and synthetic bans (review E7)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kratomwatch.core.screening import ScreeningKnowledge, evaluate_product
from kratomwatch.core.screening.legal import ProductCheck, ProductRule, RuledStatusRecord, product_rules_of
from kratomwatch.core.screening.types import JurisdictionEntry, frozen_map

DAY = dt.date(2026, 12, 1)


def _with(knowledge: ScreeningKnowledge, *rules: ProductRule) -> ScreeningKnowledge:
    record = RuledStatusRecord(
        "regulated", dt.date(2026, 1, 1), ("https://example.org/rules",), dt.date(2026, 11, 30), product_rules=rules
    )
    jurisdictions = dict(knowledge.jurisdictions)
    jurisdictions["US-EE"] = JurisdictionEntry("US-EE", "State E", (record,))
    return dataclasses.replace(knowledge, jurisdictions=frozen_map(jurisdictions))


def test_weight_rules_normalise_to_mg_per_g() -> None:
    assert ProductRule("seven_oh_ppm", 400).limit_mg_per_g() == pytest.approx(0.4)
    assert ProductRule("seven_oh_percent_by_weight", 0.05).limit_mg_per_g() == pytest.approx(0.5)
    assert ProductRule("seven_oh_mg_per_g", 0.5).limit_mg_per_g() == 0.5
    assert ProductRule("seven_oh_percent_of_alkaloids", 2).limit_mg_per_g() is None


def test_a_share_alone_cannot_decide_a_weight_rule(knowledge: ScreeningKnowledge) -> None:
    kb = _with(knowledge, ProductRule("seven_oh_ppm", 400))
    result = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=60)
    assert result.verdict == "unknown"
    assert isinstance(result, ProductCheck) and result.missing == ("7-OH mg per gram of product",)
    assert result.as_of == dt.date(2026, 11, 30)
    assert evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=None, seven_oh_mg_per_g=0.5).verdict == "over_cap"
    assert evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=None, seven_oh_mg_per_g=0.3).verdict == "allowed"


def test_per_serving_and_per_gram_limits_both_apply(knowledge: ScreeningKnowledge) -> None:
    kb = _with(knowledge, ProductRule("seven_oh_mg_per_g", 0.5), ProductRule("seven_oh_mg_per_serving", 1.0))
    only_gram = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=None, seven_oh_mg_per_g=0.1)
    assert only_gram.verdict == "unknown" and "7-OH mg per serving" in only_gram.reason
    over = evaluate_product(
        "US-EE", DAY, kb, seven_oh_share_percent=None, seven_oh_mg_per_g=0.1, seven_oh_mg_per_serving=15
    )
    assert over.verdict == "over_cap" and "per serving" in over.reason
    ok = evaluate_product(
        "US-EE", DAY, kb, seven_oh_share_percent=None, seven_oh_mg_per_g=0.1, seven_oh_mg_per_serving=0.5
    )
    assert ok.verdict == "allowed"


def test_bans_need_the_fact_or_answer_unknown(knowledge: ScreeningKnowledge) -> None:
    kb = _with(knowledge, ProductRule("seven_oh_products_banned"), ProductRule("synthetic_alkaloids_banned"))
    unstated = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=60, is_seven_oh_product=None, synthetic=None)
    assert unstated.verdict == "unknown"
    assert isinstance(unstated, ProductCheck)
    assert set(unstated.missing) == {
        "whether it is a 7-OH product",
        "whether it contains synthetic or semi-synthetic alkaloids",
    }
    banned = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=None, is_seven_oh_product=True, synthetic=None)
    assert banned.verdict == "banned" and "7-OH products" in banned.reason
    clear = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=None, is_seven_oh_product=False)
    assert clear.verdict == "allowed"


def test_a_ban_outranks_an_exceeded_limit(knowledge: ScreeningKnowledge) -> None:
    kb = _with(knowledge, ProductRule("seven_oh_percent_of_alkaloids", 1), ProductRule("seven_oh_products_banned"))
    result = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=60, is_seven_oh_product=True)
    assert result.verdict == "banned" and result.cap_percent == 1


def test_legacy_flags_are_product_rules(knowledge: ScreeningKnowledge) -> None:
    record = knowledge.jurisdictions["US-DD"].statuses[0]
    assert [r.kind for r in product_rules_of(record)] == ["seven_oh_products_banned"]
    # the alert sweep's call (explicit is_seven_oh_product) keeps working
    result = evaluate_product("US-DD", DAY, knowledge, seven_oh_share_percent=None, is_seven_oh_product=False)
    assert result.verdict == "allowed"


def test_pure_leaf_only_law(knowledge: ScreeningKnowledge) -> None:
    kb = _with(knowledge, ProductRule("non_leaf_products_banned"))
    share_only = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=1.5)
    assert share_only.verdict == "unknown" and "pure leaf" in share_only.reason
    extract = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=1.5, pure_leaf=False)
    assert extract.verdict == "banned"
    leaf = evaluate_product("US-EE", DAY, kb, seven_oh_share_percent=1.5, pure_leaf=True)
    assert leaf.verdict == "allowed"
