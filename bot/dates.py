"""Dates and times as people read and type them: in the reader's language and the Assembly's time
zone (settings.timezone, Moscow), never in UTC.

Everything a person sees goes through `format_datetime`, `format_date` or `format_day_time` here,
formatted by Babel. Moments are stored in UTC; they are turned into local time only here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from babel import dates as babel_dates

# Numeric skeletons rather than Babel's "short"/"medium" formats: the short English date has a
# two-digit year, and the Russian forms stay exactly what people type (25.11.2026 18:00).
DATE_SKELETON = "yMMdd"
DAY_SKELETON = "MMdd"
TYPED_FORMAT = "%d.%m.%Y %H:%M"


def current_language() -> str:
    """The language of the update being handled (set by the i18n middleware, or by
    `i18n.use_locale` when a message is written for a recipient)."""
    return I18n.get_current(no_error=False).current_locale


def local(moment: datetime, timezone: str) -> datetime:
    """The moment on the Assembly's clock (a naive moment is taken as UTC, as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(timezone))


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day the moment falls on in the Assembly's town."""
    return local(moment, timezone).date()


def _day_and_clock(at: datetime, skeleton: str, language: str) -> str:
    # Day and clock joined by a space, without CLDR's comma: the Russian form stays the one typed.
    day = babel_dates.format_skeleton(skeleton, at, locale=language)
    clock = babel_dates.format_time(at, "short", locale=language)
    return f"{day} {clock}"


def format_datetime(moment: datetime, language: str, timezone: str) -> str:
    """25.11.2026 18:00 in Russian, 11/25/2026 6:00 PM in English."""
    return _day_and_clock(local(moment, timezone), DATE_SKELETON, language)


def format_date(value: datetime | date, language: str, timezone: str) -> str:
    """25.11.2026 in Russian, 11/25/2026 in English; a moment is dated on the local clock."""
    day = local_day(value, timezone) if isinstance(value, datetime) else value
    return babel_dates.format_skeleton(DATE_SKELETON, day, locale=language)


def format_day_time(moment: datetime, language: str, timezone: str) -> str:
    """A moment within the coming days, without the year: 25.11 18:00, 11/25 6:00 PM."""
    return _day_and_clock(local(moment, timezone), DAY_SKELETON, language)


def format_time_of_day(minute_of_day: int, language: str) -> str:
    """A time of day on the Assembly's clock (quiet hours, say): 22:00 in Russian, 10:00 PM in
    English."""
    hours, minutes = divmod(minute_of_day, 60)
    return babel_dates.format_time(time(hours % 24, minutes), "short", locale=language)


def shown_time_of_day(minute_of_day: int) -> str:
    """`format_time_of_day` in the language of the update being handled."""
    return format_time_of_day(minute_of_day, current_language())


def shown_datetime(moment: datetime, timezone: str) -> str:
    """`format_datetime` in the language of the update being handled (handler-side rendering)."""
    return format_datetime(moment, current_language(), timezone)


def shown_date(value: datetime | date, timezone: str) -> str:
    """`format_date` in the language of the update being handled (handler-side rendering)."""
    return format_date(value, current_language(), timezone)


def moment_param(moment: datetime, timezone: str) -> str:
    """A moment for a notice that is written later in each recipient's language (a text parameter
    named `<name>_at`): ISO on the Assembly's clock, so the offset travels with it."""
    return local(moment, timezone).isoformat()


def format_moment_param(value: str, language: str) -> str:
    """A `moment_param` as its reader sees it, on the clock it was stored with."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"a moment parameter without its offset: {value!r}")
    return _day_and_clock(moment, DATE_SKELETON, language)


def parse_local_time(text: str, timezone: str) -> datetime | None:
    """A moment typed as 25.11.2026 18:00 in the Assembly's town; None if it cannot be read."""
    try:
        typed = datetime.strptime(text.strip(), TYPED_FORMAT)
    except ValueError:
        return None
    return typed.replace(tzinfo=ZoneInfo(timezone))


def next_at_hour(now: datetime, timezone: str, hour: int) -> datetime:
    """The next `hour`:00 in the time zone, after `now` (a daily job's next run)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def day_number(moment: datetime, timezone: str) -> int:
    """The local day as YYYYMMDD: the object id of a daily job, one per day."""
    return int(moment.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d"))
