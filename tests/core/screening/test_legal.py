from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.core.screening import ScreeningKnowledge, UnknownJurisdiction, evaluate_product, legal_status

D = dt.date.fromisoformat


def test_effective_date_boundary(knowledge: ScreeningKnowledge) -> None:
    before = legal_status("US-AA", D("2016-05-09"), knowledge)
    on = legal_status("US-AA", D("2016-05-10"), knowledge)
    assert before.status == "legal"
    assert on.status == "banned"
    assert on.sources == ("https://example.org/banned/2016-05-10",)


def test_subdivision_overrides_country(knowledge: ScreeningKnowledge) -> None:
    result = legal_status("US-AA", D("2020-01-01"), knowledge)
    assert result.decided_by == "US-AA" and result.status == "banned"
    assert result.parent_record is not None and result.parent_record.status == "legal"


def test_country_applies_when_subdivision_has_no_record_in_force(knowledge: ScreeningKnowledge) -> None:
    result = legal_status("US-BB", D("2021-10-31"), knowledge)
    assert result.status == "legal" and result.decided_by == "US"
    assert legal_status("US-BB", D("2021-11-01"), knowledge).status == "regulated"


def test_no_record_in_force_is_unknown(knowledge: ScreeningKnowledge) -> None:
    result = legal_status("XX", D("1999-12-31"), knowledge)
    assert result.status == "unknown" and result.record is None


def test_code_is_case_and_space_insensitive(knowledge: ScreeningKnowledge) -> None:
    assert legal_status(" us-aa ", D("2020-01-01"), knowledge).code == "US-AA"


@pytest.mark.parametrize("code", ["ZZ", "US-QQ", "", "not a code"])
def test_unknown_jurisdiction_names_the_code(knowledge: ScreeningKnowledge, code: str) -> None:
    with pytest.raises(UnknownJurisdiction) as info:
        legal_status(code, D("2020-01-01"), knowledge)
    assert info.value.code == code
    assert repr(code) in str(info.value)


def test_product_over_cap_and_allowed(knowledge: ScreeningKnowledge) -> None:
    over = evaluate_product("US-BB", D("2022-01-01"), knowledge, seven_oh_share_percent=2.5)
    assert over.verdict == "over_cap" and over.cap_percent == 2.0 and over.decided_by == "US-BB"
    at_cap = evaluate_product("US-BB", D("2022-01-01"), knowledge, seven_oh_share_percent=2.0)
    assert at_cap.verdict == "allowed"
    unknown_share = evaluate_product("US-BB", D("2022-01-01"), knowledge, seven_oh_share_percent=None)
    assert unknown_share.verdict == "unknown"


def test_product_banned_rules(knowledge: ScreeningKnowledge) -> None:
    assert evaluate_product("US-AA", D("2020-01-01"), knowledge, seven_oh_share_percent=0.1).verdict == "banned"
    synthetic = evaluate_product("US-BB", D("2022-01-01"), knowledge, seven_oh_share_percent=0.5, synthetic=True)
    assert synthetic.verdict == "banned" and "synthetic" in synthetic.reason
    before = evaluate_product(
        "US-DD", D("2025-08-12"), knowledge, seven_oh_share_percent=None, is_seven_oh_product=True
    )
    on = evaluate_product("US-DD", D("2025-08-13"), knowledge, seven_oh_share_percent=None, is_seven_oh_product=True)
    assert before.verdict == "allowed" and before.decided_by == "US"
    assert on.verdict == "banned" and on.sources == ("https://example.org/legal/2025-08-13",)


def test_product_in_unknown_jurisdiction_is_unknown(knowledge: ScreeningKnowledge) -> None:
    assert evaluate_product("US-CC", D("2022-01-01"), knowledge, seven_oh_share_percent=0.5).verdict == "unknown"
