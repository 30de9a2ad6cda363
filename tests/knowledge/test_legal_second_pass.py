"""Legal status, second pass of 2026-12-01: the jurisdictions moved from `unknown`, with their sources, and the
exact list of jurisdictions still `unknown` (docs/knowledge.md, "Left unknown or out")."""

from __future__ import annotations

import datetime as dt

import pytest

from kratomwatch.core.screening import evaluate_product, legal_status
from kratomwatch.core.screening.legal import product_rules_of, record_in_force
from kratomwatch.knowledge import loader

DAY = dt.date(2026, 12, 1)

# The lists in docs/knowledge.md; change both together.
UNKNOWN_STATES = {
    "US-AK", "US-DE", "US-HI", "US-IA", "US-ID", "US-KS", "US-MA", "US-ME", "US-MN", "US-MO",
    "US-MT", "US-NC", "US-ND", "US-NE", "US-NH", "US-NM", "US-OH", "US-SC", "US-WY",
}  # fmt: skip
UNKNOWN_COUNTRIES = {"AT", "CA", "ES", "ID", "LT", "LV", "MM", "NL", "NZ", "PL", "RO"}


def _record(code: str, day: dt.date = DAY):  # type: ignore[no-untyped-def]
    record = record_in_force(loader.screening_knowledge().jurisdictions[code], day)
    assert record is not None
    return record


def _source(code: str, part: str, day: dt.date = DAY) -> None:
    record = _record(code, day)
    assert any(part in s for s in record.sources), (code, record.sources)


def test_unknown_lists_match_the_docs() -> None:
    knowledge = loader.screening_knowledge()
    unknown = {
        code
        for code, entry in knowledge.jurisdictions.items()
        if (rec := record_in_force(entry, DAY)) is not None and rec.status == "unknown"
    }
    assert {c for c in unknown if c.startswith("US-")} == UNKNOWN_STATES
    assert {c for c in unknown if "-" not in c} == UNKNOWN_COUNTRIES
    assert (len(UNKNOWN_STATES), len(UNKNOWN_COUNTRIES)) == (19, 11)


def test_new_york_under_21_from_chapter_690_of_2025() -> None:
    record = _record("US-NY")
    assert (record.status, record.age_limit, record.verification) == ("regulated", 21, "official")
    assert record.effective_from == dt.date(2025, 12, 19)
    assert "NOT confirmed" in (record.note or "")  # the chapter amendment may move the day
    _source("US-NY", "nysenate.gov/legislation/laws/PBH/1399-MMM")
    assert _record("US-NY", dt.date(2025, 12, 18)).age_limit is None


def test_pennsylvania_not_barred_by_state_law() -> None:
    record = _record("US-PA")
    assert (record.status, record.verification, record.age_limit) == ("legal", "official", None)
    _source("US-PA", "legis.state.pa.us")
    assert "PENDING, NOT LAW" in (record.note or "")


def test_maryland_kcpa_caps_seven_oh_at_two_percent() -> None:
    record = _record("US-MD")
    assert (record.status, record.verification, record.effective_from) == (
        "regulated",
        "official",
        dt.date(2024, 10, 1),
    )
    assert record.synthetic_alkaloids_banned and record.age_limit is None
    assert {(r.kind, r.limit) for r in product_rules_of(record)} == {
        ("seven_oh_percent_of_alkaloids", 2.0),
        ("synthetic_alkaloids_banned", None),
    }
    _source("US-MD", "hb1229")
    kb = loader.screening_knowledge()
    over = evaluate_product("US-MD", DAY, kb, seven_oh_share_percent=2.5)
    assert over.verdict == "over_cap"
    assert evaluate_product("US-MD", DAY, kb, seven_oh_share_percent=1.0).verdict != "over_cap"
    assert legal_status("US-MD", dt.date(2024, 9, 30), kb).status == "unknown"


@pytest.mark.parametrize(
    ("code", "verification", "source"),
    [
        ("US-WA", "official", "lawfilesext.leg.wa.gov/law/wsr/2024/18/24-18-005"),
        ("US-MI", "secondary", "kratombans.com"),
        ("DE", "secondary", "pharmazeutische-zeitung.de"),
    ],
)
def test_not_controlled_recorded_as_legal(code: str, verification: str, source: str) -> None:
    record = _record(code)
    assert (record.status, record.verification) == ("legal", verification)
    assert record.age_limit is None and product_rules_of(record) == ()
    _source(code, source)


def test_ohio_stays_unknown_and_says_what_was_searched() -> None:
    record = _record("US-OH")
    assert record.status == "unknown" and not record.seven_oh_products_banned
    assert "second pass" in (record.note or "") and "4729-9-01.2" in (record.note or "")


def test_carfentanil_screens_as_a_full_opioid_agonist() -> None:
    from kratomwatch.core.screening import screen_interactions

    result = screen_interactions(["carfentanil"], loader.screening_knowledge())
    assert {(f.class_id, f.severity) for f in result.findings} == {("full_opioid_agonists", "major")}
