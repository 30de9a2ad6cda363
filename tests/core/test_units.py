"""Dose standardization: golden vectors from published studies, error paths, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kratomwatch.core import units
from kratomwatch.core.units import Basis, Certificate, ContentUnit, Form, Potency, Range, Unit

# Reference content of natural leaf as shipped in knowledge/data/leaf_reference.yaml.
LEAF = units.LeafContent(Range(16.4, 13.3, 19.5), seven_oh_quantified=False)
TSP = Range(2.5, 1.5, 3.5)


def mg(amount: float, unit: Unit, potency: Potency, cap: float = 2.0) -> units.DoseMg:
    return units.compute_dose_mg(
        amount, unit, potency, leaf_reference=LEAF, volumetric_default=TSP, seven_oh_cap_percent=cap
    )


# --- golden vectors --------------------------------------------------------------------------


def test_huestis_2024_highest_dose() -> None:
    """Huestis et al. 2024 (doi:10.3390/molecules29050984): 4000 mg dried leaf = 53.2 mg mitragynine.

    With that lot's certified content (13.3 mg/g), 4 g gives 53.2 mg exactly.
    """
    result = mg(4000, Unit.MG, Potency(Form.LEAF_POWDER, Certificate(13.3, 0.0, ContentUnit.PER_G)))
    assert result.basis is Basis.CERTIFICATE
    assert result.mitragynine_mg == pytest.approx(53.2)
    assert result.mitragynine_range is None


def test_huestis_2024_lowest_dose() -> None:
    """Same study: 500 mg dried leaf = 6.65 mg mitragynine."""
    result = mg(0.5, Unit.G, Potency(Form.LEAF_POWDER, Certificate(13.3, 0.0, ContentUnit.PER_G)))
    assert result.mitragynine_mg == pytest.approx(6.65)


def test_tanna_2022_tea_dose() -> None:
    """Tanna et al. 2022 (doi:10.3390/pharmaceutics14030620; dose table PMC10353077): 2 g of the
    characterised product delivered 39 mg mitragynine, i.e. 19.5 mg/g."""
    result = mg(2, Unit.G, Potency(Form.CRUSHED_LEAF, Certificate(19.5, 0.0, ContentUnit.PER_G)))
    assert result.mitragynine_mg == pytest.approx(39.0)


def test_uncertified_leaf_is_estimated_with_published_range() -> None:
    """4 g of uncertified leaf spans the two characterised lots: 53.2 (Huestis) to 78.0 mg (Tanna)."""
    result = mg(4, Unit.G, Potency(Form.LEAF_POWDER))
    assert result.basis is Basis.ESTIMATED
    assert result.mitragynine_range is not None
    assert result.mitragynine_range.low == pytest.approx(53.2)
    assert result.mitragynine_range.high == pytest.approx(78.0)
    assert result.mitragynine_mg == pytest.approx(65.6)
    assert result.seven_oh_mg is None  # 7-OH in leaf is not quantified: never guessed
    assert any("reference" in r for r in result.reasons)


def test_seven_oh_share_and_enhanced_flag_follow_the_statutory_definition() -> None:
    """Oklahoma 63 O.S. 1-1432.4: 7-OH above 2% of the alkaloid composition is adulterated."""
    at_cap = Certificate(mitragynine=9.8, seven_oh=0.2, content_unit=ContentUnit.PER_G)
    assert at_cap.seven_oh_share_percent == pytest.approx(2.0)
    assert mg(1, Unit.G, Potency(Form.LEAF_POWDER, at_cap)).enhanced is False
    above = Certificate(mitragynine=9.7, seven_oh=0.3, content_unit=ContentUnit.PER_G)
    assert mg(1, Unit.G, Potency(Form.LEAF_POWDER, above)).enhanced is True
    # The same product under a 1% cap (a stricter variant found in law) is enhanced.
    assert mg(1, Unit.G, Potency(Form.LEAF_POWDER, at_cap), cap=1.0).enhanced is True


def test_other_alkaloids_count_in_the_share() -> None:
    cert = Certificate(8.0, 0.2, ContentUnit.PER_G, {"paynantheine": 1.8})
    assert cert.seven_oh_share_percent == pytest.approx(2.0)


# --- unit handling ---------------------------------------------------------------------------


def test_capsules_use_unit_mass_for_per_gram_certificates() -> None:
    result = mg(4, Unit.CAPSULE, Potency(Form.CAPSULE, Certificate(16.0, 0.1, ContentUnit.PER_G), unit_mass_mg=500))
    assert result.mitragynine_mg == pytest.approx(32.0)
    assert result.seven_oh_mg == pytest.approx(0.2)


def test_per_unit_certificate_counts_units() -> None:
    result = mg(2, Unit.TABLET, Potency(Form.SEVEN_OH_PRODUCT, Certificate(1.0, 15.0, ContentUnit.PER_UNIT)))
    assert result.seven_oh_mg == pytest.approx(30.0)
    assert result.enhanced is True


def test_teaspoons_of_liquid_use_5_ml() -> None:
    """21 CFR 101.9(b)(5)(viii): 1 teaspoon = 5 mL, 1 tablespoon = 15 mL."""
    cert = Certificate(2.0, 0.5, ContentUnit.PER_ML)
    assert mg(1, Unit.TEASPOON, Potency(Form.LIQUID_EXTRACT, cert)).mitragynine_mg == pytest.approx(10.0)
    assert mg(1, Unit.TABLESPOON, Potency(Form.LIQUID_EXTRACT, cert)).mitragynine_mg == pytest.approx(30.0)


def test_calibrated_teaspoon_is_exact_and_uncalibrated_is_estimated() -> None:
    cert = Certificate(16.0, 0.1, ContentUnit.PER_G)
    calibrated = mg(2, Unit.TEASPOON, Potency(Form.LEAF_POWDER, cert, grams_per_teaspoon=2.0))
    assert calibrated.basis is Basis.CERTIFICATE
    assert calibrated.mitragynine_mg == pytest.approx(64.0)
    default = mg(2, Unit.TEASPOON, Potency(Form.LEAF_POWDER, cert))
    assert default.basis is Basis.ESTIMATED
    assert default.mitragynine_range == Range(80.0, 48.0, 112.0)


@pytest.mark.parametrize("form", [Form.LIQUID_EXTRACT, Form.TABLET, Form.RESIN, Form.SEVEN_OH_PRODUCT, Form.OTHER])
def test_non_leaf_forms_without_certificate_are_unknown(form: Form) -> None:
    unit = sorted(units.ALLOWED_UNITS[form])[0]
    result = mg(1, unit, Potency(form))
    assert result.basis is Basis.UNKNOWN
    assert result.mitragynine_mg is None and result.seven_oh_mg is None


def test_certificate_that_cannot_match_the_amount_is_unknown_not_guessed() -> None:
    result = mg(2, Unit.G, Potency(Form.SEVEN_OH_PRODUCT, Certificate(1.0, 15.0, ContentUnit.PER_UNIT)))
    assert result.basis is Basis.UNKNOWN
    assert result.seven_oh_share_percent is not None  # the product is still flagged by its certificate
    assert result.enhanced is True


def test_capsules_without_unit_mass_are_unknown() -> None:
    assert mg(2, Unit.CAPSULE, Potency(Form.CAPSULE)).basis is Basis.UNKNOWN


# --- bad input -------------------------------------------------------------------------------


def test_unit_that_does_not_fit_the_form_names_field_and_value() -> None:
    with pytest.raises(units.UnitFormMismatch) as info:
        mg(5, Unit.ML, Potency(Form.CAPSULE))
    assert info.value.field == "unit" and info.value.value == "mL"
    assert "capsule" in info.value.message


@pytest.mark.parametrize("amount", [0, -1, math.inf, math.nan, 101])
def test_absurd_amounts_are_rejected(amount: float) -> None:
    with pytest.raises(units.ImplausibleAmount) as info:
        mg(amount, Unit.G, Potency(Form.LEAF_POWDER))
    assert info.value.field == "amount"


def test_unknown_unit_and_form() -> None:
    with pytest.raises(units.UnknownUnit) as info:
        units.parse_unit("handful")
    assert info.value.value == "handful"
    with pytest.raises(units.UnknownForm):
        units.parse_form("gummy bear")


def test_negative_certificate_content_rejected() -> None:
    with pytest.raises(units.InvalidContent) as info:
        Certificate(-1.0, 0.0, ContentUnit.PER_G)
    assert info.value.field == "mitragynine"


def test_content_above_the_material_itself_rejected() -> None:
    with pytest.raises(units.InvalidContent):
        Certificate(900.0, 200.0, ContentUnit.PER_G)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("G", Unit.G),
        (" grams ", Unit.G),
        ("tsp", Unit.TEASPOON),
        ("ML", Unit.ML),
        ("caps", Unit.CAPSULE),
        ("Tbsp.", Unit.TABLESPOON),
    ],
)
def test_unit_aliases(text: str, unit: Unit) -> None:
    assert units.parse_unit(text) is unit


# --- properties ------------------------------------------------------------------------------

amounts = st.floats(min_value=0.01, max_value=100.0, allow_nan=False)
contents = st.floats(min_value=0.0, max_value=300.0, allow_nan=False)


@given(amount=amounts, content=contents)
def test_grams_and_milligrams_agree(amount: float, content: float) -> None:
    pot = Potency(Form.LEAF_POWDER, Certificate(content, 0.0, ContentUnit.PER_G))
    in_g = mg(amount, Unit.G, pot).mitragynine_mg
    in_mg = mg(amount * 1000, Unit.MG, pot).mitragynine_mg
    assert in_g is not None and in_mg is not None
    assert math.isclose(in_g, in_mg, rel_tol=1e-9, abs_tol=1e-12)


@given(a=amounts, b=amounts, content=contents)
def test_mg_is_linear_and_monotone_in_amount(a: float, b: float, content: float) -> None:
    pot = Potency(Form.LEAF_POWDER, Certificate(content, 0.1, ContentUnit.PER_G))
    ma, mb = mg(a, Unit.G, pot).mitragynine_mg, mg(b, Unit.G, pot).mitragynine_mg
    assert ma is not None and mb is not None
    if a <= b:
        assert ma <= mb + 1e-9
    assert math.isclose(ma, a * content, rel_tol=1e-9, abs_tol=1e-9)


@given(amount=st.floats(min_value=0.01, max_value=40.0, allow_nan=False))
def test_tablespoon_is_three_teaspoons(amount: float) -> None:
    pot = Potency(Form.LIQUID_EXTRACT, Certificate(1.0, 0.0, ContentUnit.PER_ML))
    tbsp = mg(amount / 3, Unit.TABLESPOON, pot).mitragynine_mg
    tsp = mg(amount, Unit.TEASPOON, pot).mitragynine_mg
    assert tbsp is not None and tsp is not None
    assert math.isclose(tbsp, tsp, rel_tol=1e-9)


@given(amount=amounts)
def test_estimated_point_lies_within_its_range(amount: float) -> None:
    result = mg(amount, Unit.G, Potency(Form.LEAF_POWDER))
    r = result.mitragynine_range
    assert r is not None and result.mitragynine_mg is not None
    assert r.low <= result.mitragynine_mg <= r.high


@given(text=st.text(max_size=20))
def test_parse_unit_never_raises_anything_but_input_errors(text: str) -> None:
    try:
        assert isinstance(units.parse_unit(text), Unit)
    except units.UnknownUnit as exc:
        assert exc.field == "unit"


# --- the column form (bulk loads) equals one dose at a time ----------------------------------

POTENCIES = [
    Potency(Form.LEAF_POWDER, Certificate(15.0, 0.2, ContentUnit.PER_G)),
    Potency(Form.LEAF_POWDER, Certificate(13.7, 0.31, ContentUnit.PER_G), None, 2.2),
    Potency(Form.LEAF_POWDER),
    Potency(Form.CRUSHED_LEAF, None, None, 1.9),
    Potency(Form.CAPSULE, None, 500.0),
    Potency(Form.CAPSULE, Certificate(8.0, 0.4, ContentUnit.PER_UNIT), 500.0),
    Potency(Form.CAPSULE, Certificate(22.0, 0.1, ContentUnit.PER_G), 650.0),
    Potency(Form.LIQUID_EXTRACT, Certificate(10.0, 1.0, ContentUnit.PER_ML)),
    Potency(Form.LIQUID_EXTRACT),
    Potency(Form.TABLET, Certificate(5.0, 0.0, ContentUnit.PER_UNIT, {"paynantheine": 1.0})),
    Potency(Form.SEVEN_OH_PRODUCT, Certificate(0.0, 0.0, ContentUnit.PER_UNIT)),
    Potency(Form.OTHER, Certificate(3.0, 0.5, ContentUnit.PER_ML)),
]


def column_row(columns: dict[str, np.ndarray], i: int) -> dict[str, object]:
    """Row ``i`` of ``dose_mg_columns`` in the form of ``DoseMg.columns`` (NaN -> None, 1.0/0.0 -> True/False)."""
    row: dict[str, object] = {}
    for name in units.MG_COLUMNS:
        value = columns[name][i]
        if isinstance(value, str | np.str_):
            row[name] = str(value)
        elif math.isnan(value):
            row[name] = None
        else:
            row[name] = bool(value) if name == "enhanced" else float(value)
    return row


def reference_dose_mg(
    amount: float, unit: Unit, potency: Potency, leaf: units.LeafContent, default: Range | None, cap: float
) -> dict[str, object]:
    """The module docstring's formulas in plain Python floats, as the stored mg columns: an independent oracle."""
    cert = potency.certificate

    def grams() -> tuple[Range | None, bool]:
        if unit is Unit.G:
            return Range(amount, amount, amount), False
        if unit is Unit.MG:
            return Range(amount / 1000.0, amount / 1000.0, amount / 1000.0), False
        if unit in (Unit.CAPSULE, Unit.TABLET):
            if potency.unit_mass_mg is None:
                return None, False
            g = amount * potency.unit_mass_mg / 1000.0
            return Range(g, g, g), False
        if unit in (Unit.TEASPOON, Unit.TABLESPOON):
            tsp = amount * (3.0 if unit is Unit.TABLESPOON else 1.0)
            if potency.grams_per_teaspoon is not None:
                g = tsp * potency.grams_per_teaspoon
                return Range(g, g, g), False
            return (None, False) if default is None else (default.scaled(tsp), True)
        return None, False

    out: dict[str, object] = dict.fromkeys(units.MG_COLUMNS)
    if cert is not None:
        share = cert.seven_oh_share_percent
        out.update(seven_oh_share_percent=share, enhanced=None if share is None else share > cap, basis="unknown")
        estimated = False
        if cert.content_unit is ContentUnit.PER_G:
            q, estimated = grams()
        elif cert.content_unit is ContentUnit.PER_ML:
            ml = {Unit.ML: amount, Unit.TEASPOON: amount * 5.0, Unit.TABLESPOON: amount * 15.0}.get(unit)
            q = None if ml is None else Range(ml, ml, ml)
        else:
            q = Range(amount, amount, amount) if unit in (Unit.CAPSULE, Unit.TABLET) else None
        if q is not None:
            out.update(mitragynine_mg=q.point * cert.mitragynine, seven_oh_mg=q.point * cert.seven_oh)
            out["basis"] = "estimated" if estimated else "certificate"
            if estimated:
                out.update(mitragynine_low_mg=q.low * cert.mitragynine, mitragynine_high_mg=q.high * cert.mitragynine)
        return out
    q, _ = grams() if potency.form in units.LEAF_FORMS else (None, False)
    if q is None:
        return out | {"basis": "unknown"}
    ref = leaf.mitragynine_mg_per_g
    return out | {
        "basis": "estimated",
        "mitragynine_mg": q.point * ref.point,
        "mitragynine_low_mg": q.low * ref.low,
        "mitragynine_high_mg": q.high * ref.high,
    }


@pytest.mark.parametrize("default", [TSP, None])
@pytest.mark.parametrize(
    "potency", POTENCIES, ids=lambda p: f"{p.form.value}-{p.certificate and p.certificate.content_unit}"
)
def test_dose_mg_columns_equal_compute_dose_mg(potency: Potency, default: Range | None) -> None:
    rng = np.random.default_rng(3)
    compared = 0
    for unit in sorted(units.ALLOWED_UNITS[potency.form]):
        amounts = np.round(rng.uniform(0.001, units.MAX_AMOUNT[unit], 40), 3)
        got = units.dose_mg_columns(amounts, unit, potency, leaf_reference=LEAF, volumetric_default=default)
        for i, amount in enumerate(amounts.tolist()):
            one = units.compute_dose_mg(amount, unit, potency, leaf_reference=LEAF, volumetric_default=default)
            assert column_row(got, i) == one.columns(), (unit, amount)  # exact: the same float operations
            assert one.columns() == reference_dose_mg(amount, unit, potency, LEAF, default, 2.0), (unit, amount)
            compared += 1
    assert compared >= 40


def test_dose_mg_columns_reject_like_check_amount() -> None:
    leaf = Potency(Form.LEAF_POWDER)
    with pytest.raises(units.UnitFormMismatch):
        units.dose_mg_columns([1.0], "mL", leaf, leaf_reference=LEAF, volumetric_default=TSP)
    with pytest.raises(units.ImplausibleAmount) as info:
        units.dose_mg_columns([3.0, 0.0], "g", leaf, leaf_reference=LEAF, volumetric_default=TSP)
    assert info.value.value == 0.0
    with pytest.raises(units.ImplausibleAmount):
        units.dose_mg_columns([3.0, 500.0], "g", leaf, leaf_reference=LEAF, volumetric_default=TSP)
    with pytest.raises(units.ImplausibleAmount):  # the amount is judged before the unit, as for one dose
        units.dose_mg_columns([math.nan], "mL", leaf, leaf_reference=LEAF, volumetric_default=TSP)


_content = st.floats(min_value=0.0, max_value=300.0)
_certificates = st.builds(
    Certificate,
    mitragynine=_content,
    seven_oh=st.floats(min_value=0.0, max_value=50.0),
    content_unit=st.sampled_from(list(ContentUnit)),
    other_alkaloids=st.dictionaries(st.sampled_from(["paynantheine", "speciogynine"]), _content, max_size=2),
)
_potencies = st.builds(
    Potency,
    form=st.sampled_from(list(Form)),
    certificate=st.none() | _certificates,
    unit_mass_mg=st.none() | st.floats(min_value=1.0, max_value=10_000.0),
    grams_per_teaspoon=st.none() | st.floats(min_value=0.05, max_value=20.0),
)
_ranges = st.builds(Range, *(st.floats(min_value=0.0, max_value=50.0) for _ in range(3)))


@given(
    data=st.data(),
    potency=_potencies,
    leaf=st.builds(units.LeafContent, _ranges, st.booleans()),
    default=st.none() | _ranges,
    cap=st.floats(min_value=0.1, max_value=100.0),
)
def test_column_form_equals_one_dose_for_any_amounts_units_and_potencies(
    data: st.DataObject, potency: Potency, leaf: units.LeafContent, default: Range | None, cap: float
) -> None:
    unit = data.draw(st.sampled_from(sorted(units.ALLOWED_UNITS[potency.form])), label="unit")
    positive = st.floats(min_value=0.0, max_value=units.MAX_AMOUNT[unit], exclude_min=True)
    amounts = data.draw(st.lists(positive, min_size=1, max_size=8), label="amounts")
    got = units.dose_mg_columns(
        amounts, unit, potency, leaf_reference=leaf, volumetric_default=default, seven_oh_cap_percent=cap
    )
    for i, amount in enumerate(amounts):
        one = units.compute_dose_mg(
            amount, unit, potency, leaf_reference=leaf, volumetric_default=default, seven_oh_cap_percent=cap
        )
        assert column_row(got, i) == one.columns()
        assert one.columns() == reference_dose_mg(amount, unit, potency, leaf, default, cap)
