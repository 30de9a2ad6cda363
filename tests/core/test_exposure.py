"""Daily exposure on the patient's calendar, across DST changes, and the 7-day vs 28-day trend."""

from __future__ import annotations

import datetime as dt
import itertools
from statistics import fmean
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kratomwatch.core import exposure
from kratomwatch.core.exposure import DoseEvent

CHI = ZoneInfo("America/Chicago")
UTC = dt.UTC


def at(local: str, tz: ZoneInfo = CHI) -> dt.datetime:
    return dt.datetime.fromisoformat(local).replace(tzinfo=tz)


def test_local_day_not_utc_day() -> None:
    # 23:30 in Chicago on 10 March is already 11 March in UTC; it belongs to the patient's 10 March.
    dose = DoseEvent(at("2026-03-10T23:30"), 20.0, None)
    days = exposure.daily_exposure([dose], CHI)
    assert [d.day for d in days] == [dt.date(2026, 3, 10)]
    assert dose.taken_at.astimezone(UTC).date() == dt.date(2026, 3, 11)


def test_spring_forward_day_has_23_hours_and_keeps_its_doses() -> None:
    """US DST began 2026-03-08 at 02:00 local in Chicago: that day is 23 hours long."""
    doses = [
        DoseEvent(at("2026-03-08T00:30"), 10.0, 0.1),
        DoseEvent(at("2026-03-08T23:30"), 15.0, 0.2),
        DoseEvent(at("2026-03-09T00:10"), 7.0, None),
    ]
    days = exposure.daily_exposure(doses, CHI)
    assert [(d.day, d.mitragynine_mg, d.doses) for d in days] == [
        (dt.date(2026, 3, 8), 25.0, 2),
        (dt.date(2026, 3, 9), 7.0, 1),
    ]
    assert days[0].seven_oh_mg == pytest.approx(0.3)
    gap = exposure.inter_dose_gaps_hours([d.taken_at for d in doses[:2]])
    assert gap == [pytest.approx(22.0)]  # 00:30 -> 23:30 on a 23-hour day


def test_fall_back_day_has_25_hours() -> None:
    """US DST ended 2026-11-01 at 02:00 local: the 01:30 wall time happens twice."""
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=CHI, fold=0)
    second = dt.datetime(2026, 11, 1, 1, 30, tzinfo=CHI, fold=1)
    doses = [
        DoseEvent(at("2026-11-01T00:00"), 1.0, None),
        DoseEvent(first, 2.0, None),
        DoseEvent(second, 3.0, None),
        DoseEvent(at("2026-11-01T23:59"), 4.0, None),
    ]
    days = exposure.daily_exposure(doses, CHI)
    assert len(days) == 1 and days[0].mitragynine_mg == 10.0 and days[0].doses == 4
    assert exposure.inter_dose_gaps_hours([first, second]) == [pytest.approx(1.0)]


def test_unknown_doses_are_counted_not_imputed() -> None:
    doses = [DoseEvent(at("2026-05-01T08:00"), 30.0, 0.2), DoseEvent(at("2026-05-01T14:00"), None, None)]
    (day,) = exposure.daily_exposure(doses, CHI)
    assert day.mitragynine_mg == 30.0 and day.doses == 2 and day.unknown_doses == 1
    assert day.first_dose_minute == 8 * 60


def test_empty_days_are_filled_within_a_window() -> None:
    days = exposure.daily_exposure(
        [DoseEvent(at("2026-05-03T08:00"), 5.0, None)], CHI, start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 4)
    )
    assert [d.mitragynine_mg for d in days] == [0.0, 0.0, 5.0, 0.0]


def test_trend_windows_are_7_and_28_days() -> None:
    as_of = dt.date(2026, 6, 30)
    doses = []
    for back in range(35):
        day = as_of - dt.timedelta(days=back)
        amount = 40.0 if back < 7 else 20.0
        doses.append(DoseEvent(dt.datetime.combine(day, dt.time(9, 0), tzinfo=CHI), amount, None))
    trend = exposure.trend(doses, CHI, as_of)
    assert trend.recent_mean_mg == 40.0
    assert trend.baseline_mean_mg == 20.0
    assert trend.ratio == 2.0
    assert trend.recent_doses_per_day == 1.0
    assert trend.recent_mean_gap_hours == pytest.approx(24.0)
    assert trend.recent_mean_first_dose_minute == 540


def test_trend_without_baseline_has_no_ratio() -> None:
    as_of = dt.date(2026, 6, 30)
    trend = exposure.trend([DoseEvent(dt.datetime(2026, 6, 29, 9, tzinfo=CHI), 10.0, None)], CHI, as_of)
    assert trend.ratio is None and trend.baseline_mean_mg == 0.0


def test_earlier_first_dose_and_shorter_gaps_are_visible() -> None:
    as_of = dt.date(2026, 6, 30)
    doses = []
    for back in range(35):
        day = as_of - dt.timedelta(days=back)
        hours = [6, 11, 16, 21] if back < 7 else [9, 21]
        doses += [DoseEvent(dt.datetime.combine(day, dt.time(h), tzinfo=CHI), 10.0, None) for h in hours]
    trend = exposure.trend(doses, CHI, as_of)
    assert trend.recent_mean_first_dose_minute == 360 and trend.baseline_mean_first_dose_minute == 540
    assert trend.recent_mean_gap_hours is not None and trend.baseline_mean_gap_hours is not None
    assert trend.recent_mean_gap_hours < trend.baseline_mean_gap_hours


def test_zone_validation_names_the_value() -> None:
    with pytest.raises(exposure.ExposureError) as info:
        exposure.zone("Mars/Olympus")
    assert info.value.field == "time_zone" and info.value.value == "Mars/Olympus"


def test_naive_and_future_times_rejected() -> None:
    now = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)
    with pytest.raises(exposure.ExposureError):
        exposure.check_not_future(dt.datetime(2026, 6, 1, 12), now)
    with pytest.raises(exposure.ExposureError) as info:
        exposure.check_not_future(now + dt.timedelta(hours=1), now)
    assert info.value.field == "taken_at"
    exposure.check_not_future(now + dt.timedelta(minutes=5), now)  # clock skew tolerated


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=60 * 24 * 60), min_size=1, max_size=40),
    tzname=st.sampled_from(["America/Chicago", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]),
)
def test_daily_sums_preserve_totals_in_any_zone(offsets: list[int], tzname: str) -> None:
    tz = ZoneInfo(tzname)
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    doses = [DoseEvent(base + dt.timedelta(minutes=m), 1.5, 0.01) for m in offsets]
    days = exposure.daily_exposure(doses, tz)
    assert sum(d.doses for d in days) == len(doses)
    assert sum(d.mitragynine_mg for d in days) == pytest.approx(1.5 * len(doses))
    assert all(b.day - a.day == dt.timedelta(days=1) for a, b in itertools.pairwise(days))


# --- the trend from window sums (what the alert sweep reads from the database) ----------------


def test_trend_from_window_sums_divides_by_the_window_lengths() -> None:
    as_of = dt.date(2026, 6, 30)
    first = dt.datetime(2026, 6, 24, 8, tzinfo=UTC)
    recent = exposure.WindowSums(70.0, 5, 5 * 480.0, 5, first, first + dt.timedelta(hours=96))
    trend = exposure.trend_from_window_sums(as_of, recent, exposure.WindowSums(280.0, 28))
    assert (trend.recent_mean_mg, trend.baseline_mean_mg, trend.ratio) == (10.0, 10.0, 1.0)
    assert (trend.recent_doses_per_day, trend.baseline_doses_per_day) == (5 / 7, 1.0)
    assert trend.recent_mean_gap_hours == 24.0  # 96 h over 4 gaps
    assert trend.baseline_mean_gap_hours is None  # no instants given
    assert trend.recent_mean_first_dose_minute == 480.0 and trend.baseline_mean_first_dose_minute is None


def test_one_dose_has_no_gap_and_an_empty_baseline_no_ratio() -> None:
    only = dt.datetime(2026, 6, 29, 9, tzinfo=UTC)
    trend = exposure.trend_from_window_sums(
        dt.date(2026, 6, 30), exposure.WindowSums(10.0, 1, 540.0, 1, only, only), exposure.WindowSums()
    )
    assert trend.recent_mean_gap_hours is None and trend.ratio is None and trend.baseline_mean_mg == 0.0


def test_mean_gap_from_window_sums_counts_real_hours_across_dst() -> None:
    # 2026-11-01 01:30 CDT to 01:30 CST (the same wall clock, one tzinfo) is 1 hour, not 0.
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=CHI)
    last = dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=CHI)
    window = exposure.WindowSums(doses=2, first_dose_at=first, last_dose_at=last)
    trend = exposure.trend_from_window_sums(dt.date(2026, 11, 1), window, exposure.WindowSums())
    assert trend.recent_mean_gap_hours == 1.0


_chicago_doses = st.lists(
    st.builds(
        DoseEvent,
        taken_at=st.integers(min_value=0, max_value=36 * 24 * 60).map(
            lambda m: dt.datetime(2026, 10, 5, tzinfo=UTC) + dt.timedelta(minutes=m)
        ),
        mitragynine_mg=st.none() | st.floats(min_value=0.0, max_value=500.0),
        seven_oh_mg=st.none(),
    ),
    max_size=60,
)


@given(doses=_chicago_doses, tzname=st.sampled_from(["America/Chicago", "Europe/London", "Asia/Kolkata"]))
def test_trend_equals_its_definition_over_daily_rows_and_gaps(doses: list[DoseEvent], tzname: str) -> None:
    """The trend through window sums equals the module docstring computed directly: means over the daily rows of
    each window (empty days count 0) and the mean of the consecutive inter-dose gaps (the windows cross DST)."""
    tz = ZoneInfo(tzname)
    as_of = dt.date(2026, 11, 8)
    trend = exposure.trend(doses, tz, as_of)
    recent_start, base_start = exposure.window_bounds(as_of)
    assert (recent_start, base_start) == (dt.date(2026, 11, 2), dt.date(2026, 10, 5))
    days = exposure.daily_exposure(doses, tz, start=base_start, end=as_of)
    recent = [d for d in days if d.day >= recent_start]
    base = [d for d in days if d.day < recent_start]
    assert (len(recent), len(base)) == (7, 28)
    assert trend.recent_mean_mg == fmean(d.mitragynine_mg for d in recent)
    assert trend.baseline_mean_mg == fmean(d.mitragynine_mg for d in base)
    assert trend.recent_doses_per_day == fmean(d.doses for d in recent)
    assert trend.baseline_doses_per_day == fmean(d.doses for d in base)
    for rows, got in ((recent, trend.recent_mean_first_dose_minute), (base, trend.baseline_mean_first_dose_minute)):
        minutes = [r.first_dose_minute for r in rows if r.first_dose_minute is not None]
        assert got == (fmean(minutes) if minutes else None)
    for lo, hi, got in (
        (recent_start, as_of, trend.recent_mean_gap_hours),
        (base_start, recent_start - dt.timedelta(days=1), trend.baseline_mean_gap_hours),
    ):
        gaps = exposure.inter_dose_gaps_hours(
            [d.taken_at for d in doses if lo <= exposure.local_date(d.taken_at, tz) <= hi]
        )
        assert got == (pytest.approx(fmean(gaps), rel=1e-12) if gaps else None)
