"""Times in the zone a person lives in, across daylight-saving changes in both directions and two zones."""

from __future__ import annotations

import datetime as dt

from kratomwatch.web.templatetags.kwtime import local, local_date, local_time, utc, zone_abbr


def test_chicago_winter_and_summer() -> None:
    # 2026-12-01 16:00 UTC is 10:00 CST (UTC-6); 2026-07-01 15:00 UTC is 10:00 CDT (UTC-5).
    assert local(dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC), "America/Chicago") == "Tue 1 Dec 2026, 10:00 CST"
    assert local(dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC), "America/Chicago") == "Wed 1 Jul 2026, 10:00 CDT"


def test_across_the_us_spring_forward_and_fall_back() -> None:
    # US DST 2026 starts Sun 8 Mar 02:00 local and ends Sun 1 Nov 02:00 local.
    before, after = dt.datetime(2026, 3, 8, 7, 59, tzinfo=dt.UTC), dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC)
    assert (local_time(before, "America/Chicago"), local_time(after, "America/Chicago")) == ("01:59", "03:00")
    first, second = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC)
    assert local(first, "America/Chicago") == "Sun 1 Nov 2026, 01:30 CDT"
    assert local(second, "America/Chicago") == "Sun 1 Nov 2026, 01:30 CST"  # the repeated hour, told apart


def test_europe_and_a_zone_without_dst() -> None:
    # EU DST 2026 ends Sun 25 Oct 01:00 UTC; Bangkok has no DST (UTC+7), so the local day can differ from UTC's.
    assert zone_abbr(dt.datetime(2026, 10, 25, 0, 59, tzinfo=dt.UTC), "Europe/Berlin") == "CEST"
    assert zone_abbr(dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC), "Europe/Berlin") == "CET"
    late = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    assert local_date(late, "Asia/Bangkok") == "Wed 2 Dec 2026"
    assert local_time(late, "Asia/Bangkok") == "03:00"


def test_none_a_bad_zone_and_utc() -> None:
    assert local(None, "America/Chicago") == ""
    assert local_time(dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC), "Not/AZone") == "16:00"
    assert utc(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6)))) == "2026-12-01 16:00 UTC"
    assert local_date(dt.date(2026, 12, 1)) == "Tue 1 Dec 2026"
