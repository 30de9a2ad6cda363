"""Tracker file readers (core.trackers): the four formats from small files written from the apps' export code,
malformed files named by line or JSON path, and arbitrary text never crashing (hypothesis)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kratomwatch.core import trackers
from kratomwatch.core.errors import InputError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "trackers"


def _read(name: str) -> str:
    return str(trackers.decode((FIXTURES / name).read_bytes()))


def test_herbal_csv_reads_local_times_grams_and_names() -> None:
    parsed = trackers.parse(_read("herbal_tracker.csv"))
    assert parsed.format == trackers.HERBAL_CSV
    assert parsed.names == ["Green Maeng Da", "Red Bali"]
    first, second, third = parsed.entries
    assert (first.amount, first.unit, first.local, first.instant) == (2.5, "g", dt.datetime(2026, 11, 28, 8, 15), None)
    assert first.location == "line 2" and first.entry_id == ""
    assert second.name == "Red Bali" and second.amount == 3.0
    assert third.instant == dt.datetime(2026, 11, 29, 15, 5, tzinfo=dt.UTC) and third.local is None


def test_herbal_json_uses_strain_names_ids_and_skips_orphans() -> None:
    parsed = trackers.parse(_read("herbal_tracker.json"))
    assert parsed.format == trackers.HERBAL_JSON
    assert [e.entry_id for e in parsed.entries] == ["d-1", "d-2", "d-3"]
    assert [e.name for e in parsed.entries] == ["Green Maeng Da", "Red Bali", "Green Maeng Da"]
    assert parsed.skipped == (
        trackers.SkippedEntry("dosages[3]", "its strain is not in the file (the app drops these too)"),
    )


def test_teataper_json_reads_utc_instants_in_ml_and_skips_zero() -> None:
    parsed = trackers.parse(_read("teataper.json"))
    assert parsed.format == trackers.TEATAPER_JSON
    assert parsed.zone_hint == "America/Chicago"
    assert [(e.amount, e.unit) for e in parsed.entries] == [(250.0, "mL"), (200.0, "mL"), (225.0, "mL")]
    assert parsed.entries[0].instant == dt.datetime(2026, 11, 28, 14, 30, tzinfo=dt.UTC)
    assert parsed.names == [trackers.TEA_NAME]
    assert [s.location for s in parsed.skipped] == ['days["2026-11-29"].entries[0]']


def test_teataper_csv_turns_day_totals_into_noon_entries() -> None:
    parsed = trackers.parse(_read("teataper.csv"))
    assert parsed.format == trackers.TEATAPER_CSV
    assert [(e.local, e.amount) for e in parsed.entries] == [
        (dt.datetime(2026, 11, 27, 12, 0), 450.0),
        (dt.datetime(2026, 11, 29, 12, 0), 300.0),
    ]
    assert "12:00" in parsed.entries[0].note
    assert [s.location for s in parsed.skipped] == ["line 3"]


def test_a_teataper_entry_without_time_is_placed_at_noon_as_the_app_does() -> None:
    text = '{"days": {"2026-11-20": {"entries": [{"id": "a", "ml": 100}]}}}'
    (entry,) = trackers.parse(text).entries
    assert entry.local == dt.datetime(2026, 11, 20, 12, 0) and "12:00" in entry.note


@pytest.mark.parametrize(
    ("text", "fmt", "where", "words"),
    [
        (
            "date,time,iso_timestamp,strain_code,strain_name,amount_g,notes\n2026-11-28,08:15,2026-11-28T08:15:00,"
            "G,Green,2.5,\n2026-11-28,09:00,2026-11-28T09:00:00,G,Green,lots,\n",
            None,
            "line 3",
            "is not a number",
        ),
        (
            "date,time,iso_timestamp,strain_code,strain_name,amount_g,notes\n2026-11-28,08:15,yesterday,G,Green,2,\n",
            None,
            "line 2",
            "is not a date and time",
        ),
        (
            "date,time,iso_timestamp,strain_code,strain_name,amount_g,notes\n2026-11-28,08:15\n",
            None,
            "line 2",
            "columns",
        ),
        (
            '{"version": 1, "strains": [], "dosages": [{"id": "x", "strainId": "s", "amount": -1,'
            ' "timestamp": "2026-11-28T08:15:00"}]}',
            None,
            "dosages[0].amount",
            "greater than zero",
        ),
        ('{"version": 3, "dosages": []}', None, "version", "version 3"),
        (
            '{"days": {"2026-11-28": {"entries": [{"id": "a", "ts": "2026-11-28T10:00:00Z", "ml": "lots"}]}}}',
            None,
            'days["2026-11-28"].entries[0].ml',
            "not a number",
        ),
        ('{"days": {"someday": {"entries": []}}}', None, 'days["someday"]', "not a date"),
        ('{"days": {\n"2026-11-28": [}', None, "line 2", "not valid JSON"),
        ('"date","total_ml","entries_count"\n"2026-13-40","100","1"\n', None, "line 2", "not a date"),
        ("hello,world\n1,2\n", None, "line 1", "not a file this import knows"),
        ("hello,world\n1,2\n", trackers.HERBAL_CSV, "line 1", "not a Herbal Tracker+ CSV"),
        ("[1, 2]", trackers.TEATAPER_JSON, "days", "Tea Taper backup"),
    ],
)
def test_a_malformed_file_names_the_place_and_the_reason(text: str, fmt: str | None, where: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        trackers.parse(text, fmt)
    assert caught.value.field == "file"
    assert caught.value.value == where
    assert caught.value.message.startswith(f"{where}: ")
    assert words in caught.value.message


def test_an_unknown_format_choice_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        trackers.parse("x", "myapp")
    assert caught.value.field == "format"


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        trackers.decode(b"\xff\xfe\x00d")


def test_the_entry_key_is_stable_and_tells_entries_apart() -> None:
    a, b, c = trackers.parse(_read("herbal_tracker.csv")).entries
    again = trackers.parse(_read("herbal_tracker.csv")).entries[0]
    assert trackers.entry_key(trackers.HERBAL_CSV, a) == trackers.entry_key(trackers.HERBAL_CSV, again)
    keys = {trackers.entry_key(trackers.HERBAL_CSV, e) for e in (a, b, c)}
    assert len(keys) == 3 and all(k.startswith("tracker:") and len(k) <= 128 for k in keys)
    assert trackers.entry_key(trackers.HERBAL_JSON, a) != trackers.entry_key(trackers.HERBAL_CSV, a)


HEADERS = st.sampled_from(
    [
        "",
        "date,time,iso_timestamp,strain_code,strain_name,amount_g,notes\n",
        '"date","total_ml","target_ml","entries_count"\n',
        '{"days": ',
        '{"version": 1, "strains": [], "dosages": ',
        "[",
    ]
)


@settings(max_examples=300, deadline=None)
@given(head=HEADERS, body=st.text(max_size=300), fmt=st.sampled_from([None, *trackers.FORMATS]))
def test_arbitrary_text_never_crashes_a_reader(head: str, body: str, fmt: str | None) -> None:
    try:
        parsed = trackers.parse(head + body, fmt)
    except InputError as exc:
        assert exc.field in {"file", "format"}
        assert isinstance(exc.value, str) and exc.value
        assert exc.message.startswith(f"{exc.value}: ")
    else:
        for entry in parsed.entries:
            assert entry.amount > 0 and (entry.local is None) != (entry.instant is None)


@settings(max_examples=200, deadline=None)
@given(
    amount=st.floats(min_value=0.01, max_value=99, allow_nan=False),
    minute=st.integers(min_value=0, max_value=60 * 24 * 365),
    name=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30),
)
def test_a_written_herbal_csv_row_reads_back(amount: float, minute: int, name: str) -> None:
    when = dt.datetime(2026, 1, 1) + dt.timedelta(minutes=minute)
    cell = '"' + name.replace('"', '""') + '"'
    text = (
        "\ufeffdate,time,iso_timestamp,strain_code,strain_name,amount_g,notes\n"
        f"{when:%Y-%m-%d},{when:%H:%M},{when.isoformat()}.000,X,{cell},{amount:.2f},\n"
    )
    (entry,) = trackers.parse(text).entries
    assert entry.local == when
    assert entry.amount == pytest.approx(round(amount, 2))
    assert entry.name == (name.strip() or "X")
