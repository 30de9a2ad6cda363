"""The demo products and lots, with the amount and unit each patient typically records."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor
from kratomwatch.records import actions
from kratomwatch.records.actions import CertificateIn
from kratomwatch.records.models import Lot

LAB = "Demo Analytical Lab"


class ProductSpec(NamedTuple):
    vendor: str
    name: str
    form: str
    lot_code: str
    certificate: CertificateIn | None
    unit_mass_mg: float | None
    grams_per_teaspoon: float | None
    amount: float
    unit: str


class DemoLot(NamedTuple):
    """A lot and the amount and unit a patient typically records for it."""

    lot: Lot
    amount: float
    unit: str


PRODUCTS = [
    ProductSpec(
        "Leafline",
        "Green Maeng Da powder",
        "leaf_powder",
        "GMD-2411",
        CertificateIn("mg/g", 16.0, 0.1, {"paynantheine": 4.1, "speciogynine": 3.0}, LAB, dt.date(2026, 6, 1)),
        None,
        1.6,
        3.0,
        "g",
    ),
    ProductSpec("Leafline", "Red Bali powder", "leaf_powder", "RB-0925", None, None, None, 2.0, "teaspoon"),
    ProductSpec(
        "Capsa",
        "Kratom capsules 500 mg",
        "capsule",
        "CAP-77",
        CertificateIn("mg/unit", 8.0, 0.05, {}, LAB, dt.date(2026, 5, 2)),
        500.0,
        None,
        4.0,
        "capsule",
    ),
    ProductSpec("ShotCo", "Extra strength shot", "liquid_extract", "SHOT-5", None, None, None, 15.0, "mL"),
    ProductSpec(
        "Hydroxy Labs",
        "7-OH tablets",
        "seven_oh_product",
        "7T-12",
        CertificateIn("mg/unit", 1.0, 15.0, {}, LAB, dt.date(2026, 7, 15)),
        250.0,
        None,
        1.0,
        "tablet",
    ),
    ProductSpec(
        "Leafline",
        "Crushed leaf tea cut",
        "crushed_leaf",
        "CL-33",
        CertificateIn("mg/g", 14.0, 0.08, {}, LAB, dt.date(2026, 4, 20)),
        None,
        1.2,
        4.0,
        "g",
    ),
]


def create_catalogue(actor: Actor, program: Program) -> list[DemoLot]:
    """One product and one lot per :data:`PRODUCTS` row, in that order."""
    out = []
    for spec in PRODUCTS:
        product = actions.create_product(
            actor=actor, program=program, vendor=spec.vendor, name=spec.name, form=spec.form
        )
        lot = actions.create_lot(
            actor=actor,
            product=product,
            lot_code=spec.lot_code,
            certificate=spec.certificate,
            unit_mass_mg=spec.unit_mass_mg,
            grams_per_teaspoon=spec.grams_per_teaspoon,
        )
        out.append(DemoLot(lot, spec.amount, spec.unit))
    return out


def lot_for(lots: list[DemoLot], index: int) -> DemoLot:
    """The lot patient ``index`` uses: round robin, with every seventh patient on a shifted lot."""
    return lots[index % len(lots)] if index % 7 else lots[(index // 7) % len(lots)]
