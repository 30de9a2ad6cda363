"""Amounts, units and product potency: a dose -> mg mitragynine and mg 7-hydroxymitragynine (7-OH).

The conversion is deliberately conservative:

* ``certificate``: the lot has a lab certificate whose content unit fits the amount
  (mg/g x grams, mg/mL x millilitres, mg/unit x count). Exact, no range.
* ``estimated``: natural leaf without a certificate uses a published reference content with an
  explicit low-high range; a volumetric amount (teaspoon, tablespoon) of powder without a lot
  calibration uses the program's grams-per-teaspoon default, also with a range.
* ``unknown``: extracts, shots, tablets, resins, 7-OH products and "other" forms without a usable
  certificate. Their potency is never guessed.

Formulas:
    mg alkaloid = content (mg/g)  x mass (g)
                = content (mg/mL) x volume (mL)
                = content (mg/unit) x count
    7-OH share (%) = 100 x 7-OH / (mitragynine + 7-OH + other measured alkaloids)   [certificate only]
    enhanced       = 7-OH share > the cap                                             [certificate only]

``compute_dose_mg`` converts one dose and ``dose_mg_columns`` a column of amounts of one unit and one lot (bulk
loads, NumPy). Both run the same code, so they agree to the last bit.

Teaspoon and tablespoon volumes follow the US nutrition-labelling convention of 21 CFR 101.9(b)(5)(viii):
1 tsp = 5 mL and 1 tbsp = 15 mL (https://www.ecfr.gov/current/title-21/section-101.9, as of 2026-11-21).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from kratomwatch.core.errors import InputError

TEASPOON_ML = 5.0
TABLESPOON_ML = 15.0
TABLESPOONS_PER_TEASPOON = TABLESPOON_ML / TEASPOON_ML

FloatArray = npt.NDArray[np.float64]

MG_COLUMNS: tuple[str, ...] = (
    "mitragynine_mg",
    "seven_oh_mg",
    "basis",
    "mitragynine_low_mg",
    "mitragynine_high_mg",
    "seven_oh_share_percent",
    "enhanced",
)
"""The stored columns of a standardized dose (``Dose`` fields), as :meth:`DoseMg.columns` and
:func:`dose_mg_columns` return them."""


class Form(StrEnum):
    LEAF_POWDER = "leaf_powder"
    CRUSHED_LEAF = "crushed_leaf"
    CAPSULE = "capsule"
    TABLET = "tablet"
    LIQUID_EXTRACT = "liquid_extract"
    RESIN = "resin"
    SEVEN_OH_PRODUCT = "seven_oh_product"
    OTHER = "other"


class Unit(StrEnum):
    G = "g"
    MG = "mg"
    CAPSULE = "capsule"
    TABLET = "tablet"
    ML = "mL"
    TEASPOON = "teaspoon"
    TABLESPOON = "tablespoon"


class ContentUnit(StrEnum):
    PER_G = "mg/g"
    PER_ML = "mg/mL"
    PER_UNIT = "mg/unit"


class Basis(StrEnum):
    CERTIFICATE = "certificate"
    ESTIMATED = "estimated"
    UNKNOWN = "unknown"


#: Natural leaf forms: the only ones for which a reference content may be used without a certificate.
#: Capsules are taken to hold leaf powder (the common case); extract capsules must carry a certificate
#: or be recorded under another form.
LEAF_FORMS = frozenset({Form.LEAF_POWDER, Form.CRUSHED_LEAF, Form.CAPSULE})

#: Units that make physical sense for each form. Anything else is a data-entry error (mL of a capsule).
ALLOWED_UNITS: Mapping[Form, frozenset[Unit]] = {
    Form.LEAF_POWDER: frozenset({Unit.G, Unit.MG, Unit.TEASPOON, Unit.TABLESPOON}),
    Form.CRUSHED_LEAF: frozenset({Unit.G, Unit.MG, Unit.TEASPOON, Unit.TABLESPOON}),
    Form.CAPSULE: frozenset({Unit.CAPSULE, Unit.G, Unit.MG}),
    Form.TABLET: frozenset({Unit.TABLET}),
    Form.LIQUID_EXTRACT: frozenset({Unit.ML, Unit.TEASPOON, Unit.TABLESPOON}),
    Form.RESIN: frozenset({Unit.G, Unit.MG}),
    Form.SEVEN_OH_PRODUCT: frozenset(
        {Unit.TABLET, Unit.CAPSULE, Unit.ML, Unit.TEASPOON, Unit.TABLESPOON, Unit.G, Unit.MG}
    ),
    Form.OTHER: frozenset(Unit),
}

#: Upper plausibility limits for one dose, per unit. These are data-entry sanity limits (a program
#: setting), not clinical thresholds: a value above them is almost certainly a typo.
MAX_AMOUNT: Mapping[Unit, float] = {
    Unit.G: 100.0,
    Unit.MG: 100_000.0,
    Unit.CAPSULE: 100.0,
    Unit.TABLET: 50.0,
    Unit.ML: 1000.0,
    Unit.TEASPOON: 40.0,
    Unit.TABLESPOON: 15.0,
}

_UNIT_ALIASES: Mapping[str, Unit] = {
    "g": Unit.G,
    "gram": Unit.G,
    "grams": Unit.G,
    "gm": Unit.G,
    "mg": Unit.MG,
    "milligram": Unit.MG,
    "milligrams": Unit.MG,
    "capsule": Unit.CAPSULE,
    "capsules": Unit.CAPSULE,
    "cap": Unit.CAPSULE,
    "caps": Unit.CAPSULE,
    "tablet": Unit.TABLET,
    "tablets": Unit.TABLET,
    "tab": Unit.TABLET,
    "tabs": Unit.TABLET,
    "ml": Unit.ML,
    "millilitre": Unit.ML,
    "milliliter": Unit.ML,
    "millilitres": Unit.ML,
    "milliliters": Unit.ML,
    "teaspoon": Unit.TEASPOON,
    "teaspoons": Unit.TEASPOON,
    "tsp": Unit.TEASPOON,
    "tablespoon": Unit.TABLESPOON,
    "tablespoons": Unit.TABLESPOON,
    "tbsp": Unit.TABLESPOON,
}


class DoseInputError(InputError):
    """Bad dose input. ``field`` and ``value`` name what was wrong, for API, CLI and importers."""


class UnknownUnit(DoseInputError):
    code = "unknown_unit"


class UnknownForm(DoseInputError):
    code = "unknown_form"


class UnitFormMismatch(DoseInputError):
    code = "unit_form_mismatch"


class ImplausibleAmount(DoseInputError):
    code = "implausible_amount"


class InvalidContent(DoseInputError):
    code = "invalid_content"


def parse_unit(text: str) -> Unit:
    """Parse a unit as people write it (``g``, ``grams``, ``tsp``, ``mL``...)."""
    key = text.strip().lower().rstrip(".")
    try:
        return _UNIT_ALIASES[key]
    except KeyError:
        allowed = ", ".join(u.value for u in Unit)
        raise UnknownUnit("unit", text, f"unknown unit {text!r}; use one of: {allowed}") from None


def parse_form(text: str) -> Form:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    aliases = {
        "powder": Form.LEAF_POWDER,
        "leaf": Form.CRUSHED_LEAF,
        "extract": Form.LIQUID_EXTRACT,
        "shot": Form.LIQUID_EXTRACT,
        "7oh": Form.SEVEN_OH_PRODUCT,
        "7_oh": Form.SEVEN_OH_PRODUCT,
        "7_oh_product": Form.SEVEN_OH_PRODUCT,
    }
    if key in aliases:
        return aliases[key]
    try:
        return Form(key)
    except ValueError:
        allowed = ", ".join(f.value for f in Form)
        raise UnknownForm("form", text, f"unknown product form {text!r}; use one of: {allowed}") from None


def parse_content_unit(text: str) -> ContentUnit:
    key = text.strip().replace(" ", "")
    for cu in ContentUnit:
        if key.lower() == cu.value.lower():
            return cu
    allowed = ", ".join(c.value for c in ContentUnit)
    raise DoseInputError("content_unit", text, f"unknown content unit {text!r}; use one of: {allowed}")


def check_amount(amount: float, unit: Unit, form: Form) -> None:
    """Reject amounts that cannot be a real dose and units that do not fit the form (the amount first)."""
    if not isinstance(amount, int | float) or isinstance(amount, bool) or not math.isfinite(amount):
        raise ImplausibleAmount("amount", amount, f"amount {amount!r} is not a finite number")
    if amount <= 0:
        raise ImplausibleAmount("amount", amount, f"amount must be greater than zero, got {amount}")
    if amount > MAX_AMOUNT[unit]:
        raise ImplausibleAmount(
            "amount",
            amount,
            f"amount {amount} {unit.value} is above the plausibility limit of {MAX_AMOUNT[unit]} {unit.value}",
        )
    _check_unit_fits(unit, form)


def _check_unit_fits(unit: Unit, form: Form) -> None:
    if unit not in ALLOWED_UNITS[form]:
        allowed = ", ".join(sorted(u.value for u in ALLOWED_UNITS[form]))
        raise UnitFormMismatch(
            "unit",
            unit.value,
            f"unit {unit.value!r} does not fit a {form.value} product; use one of: {allowed}",
        )


@dataclass(frozen=True)
class Certificate:
    """Lab-certified alkaloid content. All values are mg per ``content_unit``."""

    mitragynine: float
    seven_oh: float
    content_unit: ContentUnit
    other_alkaloids: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in (
            ("mitragynine", self.mitragynine),
            ("seven_oh", self.seven_oh),
            *self.other_alkaloids.items(),
        ):
            if not math.isfinite(value) or value < 0:
                raise InvalidContent(name, value, f"{name} content must be a non-negative number, got {value}")
        limit = 1000.0
        total = self.mitragynine + self.seven_oh + sum(self.other_alkaloids.values())
        if self.content_unit is not ContentUnit.PER_UNIT and total > limit:
            raise InvalidContent(
                "mitragynine",
                self.mitragynine,
                f"total alkaloid content {total} {self.content_unit.value} exceeds {limit}, "
                "more than the material itself",
            )

    @property
    def total_alkaloids(self) -> float:
        return self.mitragynine + self.seven_oh + sum(self.other_alkaloids.values())

    @property
    def seven_oh_share_percent(self) -> float | None:
        """7-OH as a percentage of all measured alkaloids; None if nothing was measured."""
        total = self.total_alkaloids
        return None if total == 0 else 100.0 * self.seven_oh / total


@dataclass(frozen=True)
class Range:
    point: float
    low: float
    high: float

    def scaled(self, factor: float) -> Range:
        return Range(self.point * factor, self.low * factor, self.high * factor)


@dataclass(frozen=True)
class LeafContent:
    """Reference content of natural leaf (mg mitragynine per g) with its published range."""

    mitragynine_mg_per_g: Range
    seven_oh_quantified: bool = False


@dataclass(frozen=True)
class Potency:
    """What is known about a lot: optional certificate, unit mass, teaspoon calibration."""

    form: Form
    certificate: Certificate | None = None
    unit_mass_mg: float | None = None
    grams_per_teaspoon: float | None = None

    def __post_init__(self) -> None:
        if self.unit_mass_mg is not None and not (0 < self.unit_mass_mg <= 10_000):
            raise InvalidContent(
                "unit_mass_mg",
                self.unit_mass_mg,
                f"unit mass must be between 0 and 10000 mg, got {self.unit_mass_mg}",
            )
        if self.grams_per_teaspoon is not None and not (0 < self.grams_per_teaspoon <= 20):
            raise InvalidContent(
                "grams_per_teaspoon",
                self.grams_per_teaspoon,
                f"grams per teaspoon must be between 0 and 20, got {self.grams_per_teaspoon}",
            )


@dataclass(frozen=True)
class DoseMg:
    """A dose standardized to mg of alkaloid, with how it was obtained."""

    mitragynine_mg: float | None
    seven_oh_mg: float | None
    basis: Basis
    mitragynine_range: Range | None
    seven_oh_range: Range | None
    seven_oh_share_percent: float | None
    enhanced: bool | None
    reasons: tuple[str, ...] = ()

    def columns(self) -> dict[str, Any]:
        """The :data:`MG_COLUMNS` of this dose as stored (None for NULL)."""
        rng = self.mitragynine_range
        return {
            "mitragynine_mg": self.mitragynine_mg,
            "seven_oh_mg": self.seven_oh_mg,
            "basis": self.basis.value,
            "mitragynine_low_mg": None if rng is None else rng.low,
            "mitragynine_high_mg": None if rng is None else rng.high,
            "seven_oh_share_percent": self.seven_oh_share_percent,
            "enhanced": self.enhanced,
        }


# --- the conversion, one implementation for one dose and for a column of doses ----------------
#
# Every formula below is written once, over NumPy float64 columns: ``dose_mg_columns`` runs it on a column of
# amounts of one unit and one lot, ``compute_dose_mg`` on a column of one. IEEE 754 multiplication and
# division are correctly rounded whether NumPy or Python performs them, so the stored floats of a bulk load equal
# those of the per-dose write path bit for bit. Which branch applies depends only on the unit and the lot, never
# on the amount, so a whole column takes one branch.


@dataclass(frozen=True)
class _Span:
    """A column of quantities with their low-high range: the column form of :class:`Range`."""

    point: FloatArray
    low: FloatArray
    high: FloatArray

    @classmethod
    def exact(cls, values: FloatArray) -> _Span:
        return cls(values, values, values)

    @classmethod
    def of(cls, reference: Range, factor: FloatArray) -> _Span:
        """``reference.scaled(factor)`` for each factor."""
        return cls(reference.point * factor, reference.low * factor, reference.high * factor)

    def scaled(self, factor: float) -> _Span:
        return _Span(self.point * factor, self.low * factor, self.high * factor)

    def times(self, content: Range) -> _Span:
        """Point by point, low by low, high by high: the widest honest range of a product of two ranges."""
        return _Span(self.point * content.point, self.low * content.low, self.high * content.high)

    def range_at(self, i: int) -> Range:
        return Range(float(self.point[i]), float(self.low[i]), float(self.high[i]))


@dataclass(frozen=True)
class _Standardized:
    """The result of the conversion for a column of amounts (one branch for the whole column)."""

    basis: Basis
    mitragynine: _Span | None = None
    seven_oh: _Span | None = None
    ranged: bool = False
    """True when low-high is an estimate's range; False when the amounts are exact (no range is stored)."""
    share: float | None = None
    enhanced: bool | None = None
    reasons: tuple[str, ...] = ()


def _mass_g(
    amount: FloatArray, unit: Unit, potency: Potency, volumetric_default: Range | None
) -> tuple[_Span | None, bool, str | None]:
    """Mass in grams with its range; bool = estimated; str = why it cannot be derived."""
    if unit is Unit.G:
        return _Span.exact(amount), False, None
    if unit is Unit.MG:
        return _Span.exact(amount / 1000.0), False, None
    if unit in (Unit.CAPSULE, Unit.TABLET):
        if potency.unit_mass_mg is None:
            return (
                None,
                False,
                f"no unit mass recorded for the lot, so {unit.value}s cannot be converted to grams",
            )
        return _Span.exact(amount * potency.unit_mass_mg / 1000.0), False, None
    if unit in (Unit.TEASPOON, Unit.TABLESPOON):
        teaspoons = amount * (TABLESPOONS_PER_TEASPOON if unit is Unit.TABLESPOON else 1.0)
        if potency.grams_per_teaspoon is not None:
            return _Span.exact(teaspoons * potency.grams_per_teaspoon), False, None
        if volumetric_default is None:
            return None, False, "no grams-per-teaspoon calibration for the lot and no program default"
        return _Span.of(volumetric_default, teaspoons), True, None
    return None, False, f"{unit.value} is a volume and the content is per gram"


def _volume_ml(amount: FloatArray, unit: Unit) -> FloatArray | None:
    if unit is Unit.ML:
        return amount
    if unit is Unit.TEASPOON:
        return amount * TEASPOON_ML
    if unit is Unit.TABLESPOON:
        return amount * TABLESPOON_ML
    return None


def exceeds_seven_oh_cap(share_percent: float | None, cap_percent: float) -> bool | None:
    """Enhanced: 7-OH strictly above ``cap_percent`` of total alkaloids; None when the share is unknown.

    The one definition used for a dose's stored ``enhanced`` flag and by the alert rules with the program's cap.
    """
    return None if share_percent is None else share_percent > cap_percent


_VOLUMETRIC_REASON = "volumetric amount converted with the program's grams-per-teaspoon default"


def _standardize(
    amount: FloatArray,
    unit: Unit,
    potency: Potency,
    *,
    leaf_reference: LeafContent,
    volumetric_default: Range | None,
    seven_oh_cap_percent: float,
) -> _Standardized:
    """The conversion of the module docstring for a column of (already checked) amounts."""
    cert = potency.certificate
    if cert is not None:
        share = cert.seven_oh_share_percent
        enhanced = exceeds_seven_oh_cap(share, seven_oh_cap_percent)
        estimated = False
        quantity: _Span | None
        if cert.content_unit is ContentUnit.PER_G:
            quantity, estimated, why = _mass_g(amount, unit, potency, volumetric_default)
        elif cert.content_unit is ContentUnit.PER_ML:
            volume = _volume_ml(amount, unit)
            quantity = None if volume is None else _Span.exact(volume)
            why = f"the certificate is per mL but the amount is in {unit.value}"
        else:
            quantity = _Span.exact(amount) if unit in (Unit.CAPSULE, Unit.TABLET) else None
            why = f"the certificate is per unit but the amount is in {unit.value}"
        if quantity is None:
            reason = why or "amount cannot be matched to the certificate"
            return _Standardized(Basis.UNKNOWN, share=share, enhanced=enhanced, reasons=(reason,))
        return _Standardized(
            Basis.ESTIMATED if estimated else Basis.CERTIFICATE,
            quantity.scaled(cert.mitragynine),
            quantity.scaled(cert.seven_oh),
            ranged=estimated,
            share=share,
            enhanced=enhanced,
            reasons=(_VOLUMETRIC_REASON,) if estimated else (),
        )

    if potency.form not in LEAF_FORMS:
        reason = f"{potency.form.value} products have no certificate: potency is never guessed"
        return _Standardized(Basis.UNKNOWN, reasons=(reason,))
    quantity, volumetric, why = _mass_g(amount, unit, potency, volumetric_default)
    if quantity is None:
        return _Standardized(Basis.UNKNOWN, reasons=(why or "mass cannot be derived",))
    reasons = ["no certificate: natural-leaf reference content used"]
    if volumetric:
        reasons.append(_VOLUMETRIC_REASON)
    if not leaf_reference.seven_oh_quantified:
        reasons.append("7-OH in natural leaf is below quantification in the reference lots: not estimated")
    return _Standardized(
        Basis.ESTIMATED, quantity.times(leaf_reference.mitragynine_mg_per_g), ranged=True, reasons=tuple(reasons)
    )


def compute_dose_mg(
    amount: float,
    unit: Unit,
    potency: Potency,
    *,
    leaf_reference: LeafContent,
    volumetric_default: Range | None,
    seven_oh_cap_percent: float = 2.0,
) -> DoseMg:
    """Standardize one dose to mg mitragynine and mg 7-OH (see the module docstring for formulas).

    ``seven_oh_cap_percent`` is the program's cap on 7-OH as a share of total alkaloids (2% and 1% both
    appear in law); ``enhanced`` is True when a certified lot exceeds it (:func:`exceeds_seven_oh_cap`). The
    alert rules do not read this stored flag: they judge the share against the program's cap when they run.
    """
    check_amount(amount, unit, potency.form)
    s = _standardize(
        np.array([amount], dtype=np.float64),
        unit,
        potency,
        leaf_reference=leaf_reference,
        volumetric_default=volumetric_default,
        seven_oh_cap_percent=seven_oh_cap_percent,
    )
    mit, seven = s.mitragynine, s.seven_oh
    return DoseMg(
        mitragynine_mg=None if mit is None else float(mit.point[0]),
        seven_oh_mg=None if seven is None else float(seven.point[0]),
        basis=s.basis,
        mitragynine_range=mit.range_at(0) if mit is not None and s.ranged else None,
        seven_oh_range=seven.range_at(0) if seven is not None and s.ranged else None,
        seven_oh_share_percent=s.share,
        enhanced=s.enhanced,
        reasons=s.reasons,
    )


def check_amounts(amounts: FloatArray, unit: Unit, form: Form) -> None:
    """:func:`check_amount` for a column: raises the scalar function's error for the first bad value."""
    bad = np.flatnonzero(~np.isfinite(amounts) | (amounts <= 0) | (amounts > MAX_AMOUNT[unit]))
    if bad.size:
        check_amount(float(amounts[bad[0]]), unit, form)  # raises for that value
    _check_unit_fits(unit, form)


def dose_mg_columns(
    amount: npt.ArrayLike,
    unit: Unit | str,
    potency: Potency,
    *,
    leaf_reference: LeafContent,
    volumetric_default: Range | None,
    seven_oh_cap_percent: float = 2.0,
) -> dict[str, npt.NDArray[Any]]:
    """:func:`compute_dose_mg` for a column of amounts of one unit and one lot, as the stored columns.

    Returns the :data:`MG_COLUMNS`, each a column as long as ``amount``: NaN for NULL, ``enhanced`` as
    1.0/0.0/NaN, ``basis`` as a str column. Every value equals :meth:`DoseMg.columns` of the scalar result
    exactly (the same code computes both).
    """
    a = np.asarray(amount, dtype=np.float64)
    u = Unit(unit)
    check_amounts(a, u, potency.form)
    s = _standardize(
        a,
        u,
        potency,
        leaf_reference=leaf_reference,
        volumetric_default=volumetric_default,
        seven_oh_cap_percent=seven_oh_cap_percent,
    )
    n = a.shape[0]

    def constant(value: float | None) -> FloatArray:
        return np.full(n, np.nan if value is None else value)

    mit, seven = s.mitragynine, s.seven_oh
    ranged = mit if s.ranged else None
    return {
        "mitragynine_mg": constant(None) if mit is None else mit.point,
        "seven_oh_mg": constant(None) if seven is None else seven.point,
        "basis": np.full(n, s.basis.value),
        "mitragynine_low_mg": constant(None) if ranged is None else ranged.low,
        "mitragynine_high_mg": constant(None) if ranged is None else ranged.high,
        "seven_oh_share_percent": constant(s.share),
        "enhanced": constant(None if s.enhanced is None else float(s.enhanced)),
    }
