"""Dates and times as people read them: the reader's language, the Moscow clock, never UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from bot import dates

TZ = "Europe/Moscow"
# 21:30 UTC is 00:30 the next day in Moscow (UTC+3 all year).
LATE = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)


def test_a_moment_is_shown_on_the_moscow_clock_in_each_language():
    assert dates.format_datetime(LATE, "ru", TZ) == "26.11.2026 00:30"
    assert dates.format_datetime(LATE, "en", TZ) == "11/26/2026 12:30\u202fAM"
    assert dates.format_date(LATE, "ru", TZ) == "26.11.2026"
    assert dates.format_date(date(2030, 12, 31), "en", TZ) == "12/31/2030"
    assert dates.format_day_time(LATE, "ru", TZ) == "26.11 00:30"
    assert dates.local_day(LATE, TZ) == date(2026, 11, 26)


def test_times_of_day_follow_the_language():
    assert dates.format_time_of_day(22 * 60, "ru") == "22:00"
    assert dates.format_time_of_day(8 * 60, "en") == "8:00\u202fAM"


def test_a_notice_moment_keeps_its_clock_until_it_is_written_for_a_reader():
    stored = dates.moment_param(LATE, TZ)
    assert stored == "2026-11-26T00:30:00+03:00"
    assert dates.format_moment_param(stored, "ru") == "26.11.2026 00:30"
    assert dates.format_moment_param(stored, "en") == "11/26/2026 12:30\u202fAM"


def test_typed_times_are_read_on_the_moscow_clock():
    typed = dates.parse_local_time(" 26.11.2026 00:30 ", TZ)
    assert typed is not None and typed.astimezone(UTC) == LATE
    assert typed.utcoffset() == timedelta(hours=3)
    for bad in ("26.11.2026", "31.02.2026 10:00", "завтра"):
        assert dates.parse_local_time(bad, TZ) is None
    assert dates.format_datetime(typed, "ru", TZ) == "26.11.2026 00:30"
    # Whatever zone a moment comes in, it is shown on the Assembly's clock.
    elsewhere = LATE.astimezone(timezone(timedelta(hours=-5)))
    assert dates.format_datetime(elsewhere, "ru", TZ) == "26.11.2026 00:30"
