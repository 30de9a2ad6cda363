"""Golden vectors computed by hand from the published scoring rules (source named in each test)."""

from __future__ import annotations

import pytest

from kratomwatch.core import instruments
from kratomwatch.core.instruments import (
    AnswerOutOfRange,
    MissingPolicy,
    UnsupportedMissingPolicy,
    WrongAnswerCount,
    format_value,
    score,
)
from tests.core.instruments._helpers import answers_for_total

PHQ9 = instruments.get("phq9")
GAD7 = instruments.get("gad7")
BPI = instruments.get("bpi_sf")
ASRS = instruments.get("asrs")
COWS = instruments.get("cows")
DSM5 = instruments.get("dsm5_sud")


# --- PHQ-9 (Kroenke 2001, PMID 11556941) -------------------------------------------------------------


def test_phq9_all_ones_with_item9_zero_is_8_mild_kroenke2001() -> None:
    result = score(PHQ9, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    assert result.total == 8
    assert isinstance(result.total, int)
    assert result.band is not None and result.band.id == "mild"
    assert result.flag_ids == ()
    assert result.valid and result.answered == 9 and result.missing == 0


def test_phq9_item9_raises_suicidality_whatever_the_total() -> None:
    result = score(PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert result.total == 1
    assert result.band is not None and result.band.id == "minimal"
    assert result.has_flag("suicidality")
    flag = next(f for f in result.flags if f.id == "suicidality")
    assert "phq9_9" in flag.reason and "position 9" in flag.reason and "= 1" in flag.reason


def test_phq9_blank_item9_flags_unassessed_and_invalidates_total() -> None:
    result = score(PHQ9, [3, 3, 3, 3, 3, 3, 3, 3, None])
    assert result.total is None and not result.valid
    assert result.has_flag("suicidality_unassessed") and not result.has_flag("suicidality")
    assert any("phq9_9 (position 9)" in reason for reason in result.reasons)
    assert result.answered == 8 and result.missing == 1


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_boundaries_kroenke2001(total: int, band: str) -> None:
    result = score(PHQ9, answers_for_total(PHQ9, total))
    assert result.total == total
    assert result.band is not None and result.band.id == band


def test_phq9_screen_positive_from_10_kroenke2001() -> None:
    assert not score(PHQ9, [1, 1, 1, 1, 1, 1, 1, 2, 0]).has_flag("screen_positive")  # 9
    assert score(PHQ9, [1, 1, 1, 1, 1, 1, 2, 2, 0]).has_flag("screen_positive")  # 10


def test_phq9_has_no_published_prorating_rule() -> None:
    with pytest.raises(UnsupportedMissingPolicy) as caught:
        score(PHQ9, [1] * 8 + [None], missing_policy=MissingPolicy.PRORATE)
    assert caught.value.instrument == "phq9" and caught.value.policy == "prorate"


# --- GAD-7 (Spitzer 2006, PMID 16717171) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "total", "band", "screen"),
    [
        ([0, 0, 0, 0, 0, 0, 0], 0, "minimal", False),
        ([1, 1, 1, 1, 0, 0, 0], 4, "minimal", False),
        ([1, 1, 1, 1, 1, 0, 0], 5, "mild", False),
        ([2, 2, 2, 1, 1, 1, 0], 9, "mild", False),
        ([2, 2, 2, 1, 1, 1, 1], 10, "moderate", True),
        ([2, 2, 2, 2, 2, 2, 2], 14, "moderate", True),
        ([3, 2, 2, 2, 2, 2, 2], 15, "severe", True),
        ([3, 3, 3, 3, 3, 3, 3], 21, "severe", True),
    ],
)
def test_gad7_bands_and_screen_spitzer2006(answers: list[int], total: int, band: str, screen: bool) -> None:
    result = score(GAD7, answers)
    assert result.total == total
    assert result.band is not None and result.band.id == band
    assert result.has_flag("screen_positive") is screen


# --- PEG (Krebs 2009, PMID 19418100): mean of 3 items, no bands -------------------------------------


def test_peg_is_the_unrounded_mean_krebs2009() -> None:
    result = score(instruments.get("peg"), [1, 2, 2])
    assert result.total == 5 / 3  # full precision, not 1.67
    assert result.band is None
    assert format_value(result.total) == "1.7"
    assert format_value(result.total, decimals=3) == "1.667"


def test_peg_requires_all_three_items() -> None:
    result = score(instruments.get("peg"), [7, None, 6])
    assert result.total is None and not result.valid
    with pytest.raises(UnsupportedMissingPolicy):
        score(instruments.get("peg"), [7, None, 6], missing_policy=MissingPolicy.PRORATE)


# --- Single-item ratings ----------------------------------------------------------------------------


def test_pain_nrs_craving_and_pgic_score_their_single_item() -> None:
    assert score(instruments.get("pain_nrs"), [7]).total == 7
    assert score(instruments.get("craving_nrs"), [0]).total == 0
    result = score(instruments.get("pgic"), [2])
    assert result.total == 2
    assert instruments.get("pgic").items[0].label_for(2) == "much improved"
    with pytest.raises(AnswerOutOfRange):
        score(instruments.get("pgic"), [0])
    with pytest.raises(AnswerOutOfRange):
        score(instruments.get("pain_nrs"), [11])


# --- BPI short form (BPI User Guide, Cleeland 2009) --------------------------------------------------


def test_bpi_severity_and_interference_are_means() -> None:
    # severity: worst 8, least 2, average 5, now 4 -> 19/4; interference 3,4,5,6,7,8,9 -> 42/7
    result = score(BPI, [8, 2, 5, 4, 3, 4, 5, 6, 7, 8, 9])
    assert result.scale("severity").value == 19 / 4
    assert result.scale("interference").value == 6.0
    assert result.primary_scale_id == "interference"
    assert not result.scale("interference").prorated


def test_bpi_interference_prorated_with_four_of_seven_user_guide() -> None:
    answers = [8, 2, 5, 4, 3, None, 5, None, 7, None, 9]  # answered interference: 3, 5, 7, 9
    result = score(BPI, answers)  # default policy: PRORATE
    interference = result.scale("interference")
    assert interference.valid and interference.prorated
    assert interference.value == (3 + 5 + 7 + 9) / 4
    assert interference.answered == 4 and interference.missing == 3
    assert result.valid


def test_bpi_interference_invalid_with_three_of_seven() -> None:
    answers = [8, 2, 5, 4, 3, None, 5, None, 7, None, None]
    interference = score(BPI, answers).scale("interference")
    assert not interference.valid and interference.value is None
    assert "only 3 of 7" in interference.reasons[0] and "bpi_enjoyment (position 11)" in interference.reasons[0]


def test_bpi_require_all_refuses_any_blank() -> None:
    answers = [8, 2, 5, 4, 3, None, 5, 6, 7, 8, 9]
    assert score(BPI, answers).scale("interference").valid
    strict = score(BPI, answers, missing_policy=MissingPolicy.REQUIRE_ALL)
    assert not strict.scale("interference").valid
    assert strict.scale("severity").valid


def test_bpi_severity_is_never_prorated() -> None:
    result = score(BPI, [8, None, 5, 4, 3, 4, 5, 6, 7, 8, 9], missing_policy=MissingPolicy.PRORATE)
    assert not result.scale("severity").valid
    assert result.scale("interference").valid
    assert not result.valid


# --- DN4 (Bouhassira 2005) and DN4-interview (Spallone 2012) -----------------------------------------


def test_dn4_screen_positive_from_4_of_10() -> None:
    dn4 = instruments.get("dn4")
    assert not score(dn4, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]).has_flag("screen_positive")
    result = score(dn4, [1, 1, 0, 0, 0, 0, 0, 1, 1, 0])
    assert result.total == 4 and result.has_flag("screen_positive")


def test_dn4_interview_screen_positive_from_3_of_7() -> None:
    dn4i = instruments.get("dn4_interview")
    assert not score(dn4i, [1, 1, 0, 0, 0, 0, 0]).has_flag("screen_positive")
    assert score(dn4i, [1, 0, 1, 0, 0, 0, 1]).has_flag("screen_positive")
    with pytest.raises(AnswerOutOfRange):
        score(dn4i, [2, 0, 0, 0, 0, 0, 0])


# --- ASRS v1.1 (Kessler 2005; shading from secondary reproductions) ----------------------------------


def test_asrs_part_a_shading_items_1_to_3_from_sometimes_4_to_6_from_often() -> None:
    zeros_b = [0] * 12
    all_sometimes = score(ASRS, [2, 2, 2, 2, 2, 2, *zeros_b])
    assert all_sometimes.scale("part_a_shaded").value == 3  # items 4-6 need 'often'
    assert not all_sometimes.has_flag("screen_positive")
    assert all_sometimes.scale("part_a_score").value == 12
    positive = score(ASRS, [2, 2, 2, 3, 0, 0, *zeros_b])
    assert positive.scale("part_a_shaded").value == 4
    assert positive.has_flag("screen_positive")
    rarely = score(ASRS, [1, 1, 1, 4, 4, 4, *zeros_b])
    assert rarely.scale("part_a_shaded").value == 3


@pytest.mark.parametrize(
    ("part_a", "flagged"),
    [([3, 3, 2, 2, 2, 2], True), ([3, 3, 2, 2, 2, 1], False), ([4, 4, 4, 4, 4, 4], True), ([0] * 6, False)],
)
def test_asrs_continuous_part_a_screen_at_14_kessler2007(part_a: list[int], flagged: bool) -> None:
    # Kessler 2007 (doi:10.1002/mpr.208), as reviewed in doi:10.1177/1087054717735381: 14 or more of 24.
    result = score(ASRS, [*part_a, *([0] * 12)])
    assert result.scale("part_a_score").value == sum(part_a)
    assert result.has_flag("score_14_or_more") is flagged
    # The continuous rule does not depend on the shading: 14 can come with fewer than 4 shaded answers.
    if part_a == [3, 3, 2, 2, 2, 2]:
        assert result.scale("part_a_shaded").value == 3 and not result.has_flag("screen_positive")


def test_asrs_part_b_shading_9_12_16_18_from_sometimes() -> None:
    result = score(ASRS, [0] * 6 + [2] * 12)
    assert result.scale("part_b_shaded").value == 4
    assert score(ASRS, [0] * 6 + [3] * 12).scale("part_b_shaded").value == 12
    assert not result.has_flag("screen_positive")  # Part B never feeds the screen


def test_asrs_part_a_screen_survives_a_blank_in_part_b() -> None:
    result = score(ASRS, [4, 4, 4, 4, 4, 4, *([0] * 11), None])
    assert result.scale("part_a_shaded").value == 6 and result.has_flag("screen_positive")
    assert result.scale("part_a_score").value == 24
    assert not result.scale("part_b_shaded").valid and not result.valid


# --- COWS (Wesson & Ling 2003; SAMHSA TIP 63) -------------------------------------------------------


def test_cows_maxima_sum_to_48_severe() -> None:
    maxima = [item.max_value for item in COWS.items]
    assert maxima == [4, 4, 5, 5, 4, 4, 5, 4, 4, 4, 5]
    result = score(COWS, maxima)
    assert result.total == 48 and result.band is not None and result.band.id == "severe"


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "below_mild"),
        (4, "below_mild"),
        (5, "mild"),
        (12, "mild"),
        (13, "moderate"),
        (24, "moderate"),
        (25, "moderately_severe"),
        (36, "moderately_severe"),
        (37, "severe"),
    ],
)
def test_cows_band_boundaries(total: int, band: str) -> None:
    result = score(COWS, answers_for_total(COWS, total))
    assert result.total == total
    assert result.band is not None and result.band.id == band


def test_cows_refuses_a_score_the_item_does_not_have() -> None:
    with pytest.raises(AnswerOutOfRange) as caught:
        score(COWS, [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0])  # restlessness allows 0, 1, 3, 5
    error = caught.value
    assert (error.item_id, error.position, error.value, error.allowed) == ("cows_restlessness", 3, 2, (0, 1, 3, 5))
    assert "cows_restlessness" in str(error) and "got 2" in str(error)
    with pytest.raises(AnswerOutOfRange, match="cows_gooseflesh"):
        score(COWS, [0] * 10 + [1])  # gooseflesh allows 0, 3, 5


# --- SOWS (Handelsman 1987): 16 items 0-4, no bands ---------------------------------------------------


def test_sows_total_0_to_64_without_bands() -> None:
    sows = instruments.get("sows")
    assert score(sows, [4] * 16).total == 64
    assert score(sows, [0] * 16).total == 0
    assert score(sows, [4] * 16).band is None


# --- DSM-5 SUD criteria (APA 2013; PMC7993020) --------------------------------------------------------


def test_dsm5_severity_specifiers() -> None:
    assert score(DSM5, [0] * 11).band.id == "none"  # type: ignore[union-attr]
    assert score(DSM5, [1] + [0] * 10).band.id == "none"  # type: ignore[union-attr]
    assert score(DSM5, [1, 1] + [0] * 9).band.id == "mild"  # type: ignore[union-attr]
    assert score(DSM5, [1] * 4 + [0] * 7).band.id == "moderate"  # type: ignore[union-attr]
    assert score(DSM5, [1] * 6 + [0] * 5).band.id == "severe"  # type: ignore[union-attr]


def test_dsm5_supervised_use_does_not_count_tolerance_or_withdrawal() -> None:
    # craving + tolerance + withdrawal met: 3 criteria (mild); under supervision only craving counts.
    answers = [0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1]
    unsupervised = score(DSM5, answers)
    supervised = score(DSM5, answers, supervised=True)
    assert unsupervised.total == 3 and unsupervised.band.id == "mild"  # type: ignore[union-attr]
    assert supervised.total == 1 and supervised.band.id == "none"  # type: ignore[union-attr]
    assert supervised.supervised and supervised.primary.counted_items == 9
    assert supervised.primary.score_max == 9
    assert any("dsm5_tolerance" in note for note in supervised.notes)


def test_dsm5_supervised_blank_tolerance_does_not_invalidate() -> None:
    answers = [1, 1, 1, 1, 1, 1, 1, 1, 1, None, None]
    assert not score(DSM5, answers).valid
    supervised = score(DSM5, answers, supervised=True)
    assert supervised.valid and supervised.total == 9 and supervised.band.id == "severe"  # type: ignore[union-attr]


# --- Input errors ------------------------------------------------------------------------------------


def test_wrong_answer_count_names_expected_and_got() -> None:
    with pytest.raises(WrongAnswerCount) as caught:
        score(PHQ9, [0] * 8)
    assert (caught.value.expected, caught.value.got) == (9, 8)
    assert "expected 9" in str(caught.value) and "got 8" in str(caught.value)


@pytest.mark.parametrize("bad", [True, "1", 1.0, -1, 4])
def test_non_integer_or_out_of_range_answers_are_refused(bad: object) -> None:
    answers: list[object] = [0] * 9
    answers[4] = bad
    with pytest.raises(AnswerOutOfRange) as caught:
        score(PHQ9, answers)  # type: ignore[arg-type]
    assert caught.value.item_id == "phq9_5" and caught.value.position == 5
    assert repr(bad) in str(caught.value)


def test_unknown_policy_string_is_a_typed_error() -> None:
    with pytest.raises(UnsupportedMissingPolicy, match="'sometimes'"):
        score(PHQ9, [0] * 9, missing_policy="sometimes")  # type: ignore[arg-type]


def test_format_value_rounds_only_for_display() -> None:
    assert format_value(None) == "–"
    assert format_value(7) == "7"
    assert format_value(19 / 4) == "4.8"
    assert format_value(6.0, decimals=2) == "6.00"
