"""Kratom and 7-OH name matching on the verbatim variants listed in the reference notes (NaPDI's FAERS spellings,
section 4 of the pharmacovigilance notes) and on names that must not match."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest
import yaml

from kratomwatch.surveillance.names import canonical, matcher

KRATOM = [
    "KRATOM",
    "KRATOM POWDER",
    "KRATOM CAPSULES",
    "KRATOM EXTRACT",
    "POWDERED KRATOM",
    "KRATOM SUPPLEMENT",
    "HERBAL SUBSTANCE KRATOM",
    "KRATOM IN A UNMARKED BAG",
    "MITRAGYNA SPECIOSA",
    "MITRAGYNA SPECIOSA LEAF",
    "MITRAGYNA SPECIOSA KORTHALS (BOTANIC NAME) (KRATOM)",
    "KRATOM (MITRAGYNA SPECIOSA LEAF)",
    "MITRAGYNINE (KRATOM)",
    "KRATOM (MITRAGYNINE)",
    "HERBALS\\MITRAGYNINE",
    "EMERALD LEAF BALI KRATOM (HERBALSMITRAGYNINE)",
    "KATROM MITRAGYNA SPECIOSA",
    "MAENG DA KRATOM MITROGYNA SPECIOSA",
    "CALCIUM KRATOMOS",
    "O.P.M.S. LIQUID KRATOM",
    "RED DEVIL KRATOM WATER SOLUBLE CBD",
    "BRILLIANT ELIXIR, CHOCOLATE LOVER W/ KRATOM",
    "kratum",
    "Ketum leaves",
    "mitragynine",
    "Maeng Da",
    "  red   vein   kratom ",
]
SEVEN_OH = [
    "7-HYDROXYMITRAGYNINE",
    "7-OH",
    "7OH TABLETS",
    "7-OHMZ",
    "7OHMZ",
    "7ΩHMZ",
    "7-OHMG",
    "7 hydroxy mitragynine",
]
SEVEN_OH_BRANDS = ["ROXYTABS", "HYDROXIE 15MG", "7TABZ"]
OTHER = [
    "OXYCODONE",
    "HYDROXYCUT HARDCORE CAPSULES",
    "17-OH PROGESTERONE",
    "HYDROXYZINE",
    "MORPHINE SULFATE",
    "KRAVEN",  # not the brand KRAVE
    "NUTMEG",
]


@pytest.mark.parametrize("name", KRATOM)
def test_kratom_variants_are_kratom_by_pattern(name: str) -> None:
    found = matcher().match(name)
    assert found is not None and (found.concept, found.basis) == ("kratom", "pattern"), name


@pytest.mark.parametrize("name", SEVEN_OH)
def test_seven_oh_is_its_own_concept(name: str) -> None:
    found = matcher().match(name)
    assert found is not None and found.concept == "seven_oh", name


@pytest.mark.parametrize("name", SEVEN_OH_BRANDS)
def test_seven_oh_brands_are_flagged_as_brand_matches(name: str) -> None:
    found = matcher().match(name)
    assert found is not None and (found.concept, found.basis) == ("seven_oh", "brand")


def test_pseudoindoxyl_and_kratom_brands() -> None:
    found = matcher().match("Mitragynine pseudoindoxyl")
    assert found is not None and found.concept == "mitragynine_pseudoindoxyl"
    opms = matcher().match("OPMS GOLD")
    assert opms is not None and (opms.concept, opms.basis) == ("kratom", "brand")


@pytest.mark.parametrize("name", OTHER)
def test_other_products_do_not_match(name: str) -> None:
    assert matcher().match(name) is None, name


def test_unmatched_names_are_counted_and_listed_never_dropped() -> None:
    rows = ["KRATOM", "kratom ", "OXYCODONE", "OXYCODONE", "NUTMEG", "ROXYTABS", "7-OH"]
    summary = matcher().summarise(rows)
    assert summary.matched == {"kratom": 2, "seven_oh": 2}
    assert summary.by_brand_only == {"seven_oh": 1}
    assert summary.unmatched == [("OXYCODONE", 2), ("NUTMEG", 1)]
    assert sum(summary.matched.values()) + summary.unmatched_rows == len(rows)


def test_the_data_file_is_sourced_and_dated() -> None:
    text = resources.files("kratomwatch.surveillance").joinpath("data", "product_names.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert data["sources"] and all(str(s).startswith("https://") for s in data["sources"])
    assert isinstance(data["as_of"], dt.date)
    ids = [c["id"] for c in data["concepts"]]
    assert len(ids) == len(set(ids)) and ids.index("seven_oh") < ids.index("kratom")
    assert canonical("  a \t b ") == "A B"
