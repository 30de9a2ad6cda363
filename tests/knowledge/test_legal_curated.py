"""The curated law as of late 2026 (review E2-E4, E7, E13, E15-E18) through the core, the presenter and the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from kratomwatch.cli import app
from kratomwatch.core.screening import evaluate_product, legal_status
from kratomwatch.core.screening.legal import ProductCheck, product_rules_of, record_in_force
from kratomwatch.knowledge import loader, present

DAY = dt.date(2026, 12, 1)
runner = CliRunner()


def _cli(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["legal", *args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert isinstance(payload, dict)
    return payload


def _record(code: str, day: dt.date = DAY):  # type: ignore[no-untyped-def]
    record = record_in_force(loader.screening_knowledge().jurisdictions[code], day)
    assert record is not None
    return record


def test_seven_oh_cap_lists_agree_across_files() -> None:
    """product_safety.yaml's cap lists name exactly the jurisdictions whose record in force caps 7-OH at that share."""
    knowledge = loader.screening_knowledge()
    for cap in loader.product_safety_rules().seven_oh_caps:
        in_force = {
            code
            for code, entry in knowledge.jurisdictions.items()
            if (rec := record_in_force(entry, cap.as_of)) is not None
            and rec.seven_oh_cap_percent == cap.percent_of_alkaloids
        }
        assert set(cap.jurisdictions) == in_force, cap.id


def test_florida_under_21_since_the_2023_act() -> None:
    status = legal_status("US-FL", DAY, loader.screening_knowledge())
    assert status.status == "regulated" and status.record is not None and status.record.age_limit == 21
    act = _record("US-FL", dt.date(2024, 1, 1))
    assert "500.92" in (act.note or "") and act.verification == "official"
    assert "NOT VERIFIED AS LAW" in (status.record.note or "")  # SB 432 recorded as pending only


def test_florida_sixty_percent_seven_oh_is_never_allowed() -> None:
    core = evaluate_product(
        "US-FL", DAY, loader.screening_knowledge(), seven_oh_share_percent=60, is_seven_oh_product=None
    )
    assert core.verdict == "unknown"
    assert isinstance(core, ProductCheck) and "whether it is a 7-OH product" in core.missing
    payload = _cli("US-FL", "--seven-oh-share", "60", "--on", "2026-12-01")
    product = payload["product"]
    assert isinstance(product, dict) and product["verdict"] != "allowed"
    assert product["missing"] and product["as_of"]
    assert _cli("US-FL", "--seven-oh-product", "--on", "2026-12-01")["product"]["verdict"] == "banned"  # type: ignore[index]


def test_cli_text_names_the_verdict_and_the_knowledge_as_of() -> None:
    result = runner.invoke(app, ["legal", "US-FL", "--seven-oh-share", "60", "--on", "2026-12-01"])
    assert result.exit_code == 0
    assert "unknown" in result.output and "allowed" not in result.output.split("Product")[-1].split(":")[1]
    assert "Knowledge as of" in result.output


def test_federal_notices_of_intent_are_not_law() -> None:
    record = _record("US")
    assert record.status == "legal" and record.effective_from == dt.date(2026, 7, 1)
    note = record.note or ""
    assert "Notices of Intent" in note and "NOT found" in note and "MGM-16" in note
    assert product_rules_of(record) == ()


def test_utah_is_pure_leaf_only_and_its_2019_cap_is_gone() -> None:
    record = _record("US-UT")
    assert record.seven_oh_cap_percent is None
    assert [r.kind for r in product_rules_of(record)] == ["non_leaf_products_banned"]
    payload = _cli("US-UT", "--seven-oh-share", "1.5", "--on", "2026-12-01")
    assert payload["product"]["verdict"] == "unknown"  # type: ignore[index]
    extract = _cli("US-UT", "--seven-oh-share", "1.5", "--not-pure-leaf", "--on", "2026-12-01")
    assert extract["product"]["verdict"] == "banned"  # type: ignore[index]
    assert _record("US-UT", dt.date(2020, 1, 1)).seven_oh_cap_percent == 2.0


def test_georgia_weight_limits_are_checked() -> None:
    over = _cli("US-GA", "--seven-oh-mg-per-g", "0.6", "--seven-oh-mg-per-serving", "0.5", "--on", "2026-12-01")
    assert over["product"]["verdict"] == "over_cap"  # type: ignore[index]
    share_only = _cli("US-GA", "--seven-oh-share", "1", "--not-synthetic", "--on", "2026-12-01")
    assert share_only["product"]["verdict"] == "unknown"  # type: ignore[index]
    ok = _cli(
        "US-GA",
        "--seven-oh-mg-per-g",
        "0.1",
        "--seven-oh-mg-per-serving",
        "0.5",
        "--not-synthetic",
        "--on",
        "2026-12-01",
    )
    assert ok["product"]["verdict"] == "allowed"  # type: ignore[index]


@pytest.mark.parametrize("code", ["US-TN", "US-WI", "US-IN"])
def test_upgraded_to_official_sources(code: str) -> None:
    assert _record(code).verification == "official"


def test_tennessee_thailand_and_australia() -> None:
    tn = _record("US-TN")
    assert tn.age_limit == 21 and "HB 1649" in (tn.note or "")
    th = _record("TH")
    assert th.age_limit == 18 and "pregnant" in (th.note or "")
    au = _record("AU")
    assert "1 Sep 2004" in (au.note or "") and au.effective_from is None


def test_every_answer_carries_its_as_of() -> None:
    payload = _cli("US-TX", "--on", "2026-12-01")
    assert payload["as_of"] and payload["knowledge_as_of"] == present.knowledge_as_of()
    status, product = present.legal_check("us-ga", DAY, seven_oh_mg_per_g=0.6, field="code")
    assert product is not None and product.verdict == "over_cap"
    assert present.legal_payload(status, product)["product"]["as_of"] == "2026-12-01"


def test_bad_product_numbers_name_their_field() -> None:
    result = runner.invoke(app, ["legal", "US-GA", "--seven-oh-mg-per-g", "-1", "--json"])
    assert result.exit_code == 2 and json.loads(result.output)["error"]["field"] == "seven_oh_mg_per_g"
