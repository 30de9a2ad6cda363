"""A lot's potency and a dose's mg, with the program's settings: the adapter around ``core.units``.

The maths is the core's (``core.units.compute_dose_mg``); this module only gathers its inputs: the lot's
certificate and calibration, the natural-leaf reference from the curated knowledge, and the program's
grams-per-teaspoon default and 7-OH cap from ``accounts.program_settings``.
"""

from __future__ import annotations

from kratomwatch.core import units
from kratomwatch.core.rules import RuleConfig
from kratomwatch.knowledge.loader import leaf_reference
from kratomwatch.records.models import Lot


def leaf_content() -> units.LeafContent:
    """The published natural-leaf content (knowledge/data/leaf_reference.yaml)."""
    ref = leaf_reference()
    r = ref.mitragynine_mg_per_g
    return units.LeafContent(units.Range(r.point, r.low, r.high), ref.seven_oh_quantified)


def volumetric_default(config: RuleConfig) -> units.Range:
    """The program's grams of powder per level teaspoon for uncalibrated lots (a labelled program setting)."""
    return units.Range(config.grams_per_teaspoon, config.grams_per_teaspoon_low, config.grams_per_teaspoon_high)


def lot_potency(lot: Lot, form: str | None = None) -> units.Potency:
    cert = None
    if lot.cert_content_unit:
        cert = units.Certificate(
            mitragynine=float(lot.cert_mitragynine or 0.0),
            seven_oh=float(lot.cert_seven_oh or 0.0),
            content_unit=units.ContentUnit(lot.cert_content_unit),
            other_alkaloids={k: float(v) for k, v in (lot.cert_other_alkaloids or {}).items()},
        )
    return units.Potency(
        form=units.Form(form or lot.product.form),
        certificate=cert,
        unit_mass_mg=lot.unit_mass_mg,
        grams_per_teaspoon=lot.grams_per_teaspoon,
    )


def compute_mg(amount: float, unit: units.Unit, potency: units.Potency, config: RuleConfig) -> units.DoseMg:
    """mg of mitragynine and 7-OH for one dose, with the program's settings."""
    return units.compute_dose_mg(
        amount,
        unit,
        potency,
        leaf_reference=leaf_content(),
        volumetric_default=volumetric_default(config),
        seven_oh_cap_percent=config.seven_oh_cap_percent,
    )
