"""What people type into the plan's dialogs, read or refused with a clear answer: dates
(DD.MM.YYYY, on the Assembly's clock), a report's period, progress in percent, money in
roubles."""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.services.errors import InvalidInput
from bot.services.projects import deadlines

SPENT_MAX = 10**12
_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
_PERIOD = re.compile(
    r"^\s*(\d{1,2}\.\d{1,2}\.\d{4})\s*(?:[-–—]|по|to)?\s*(\d{1,2}\.\d{1,2}\.\d{4})\s*$"
)


def parse_date(text: str | None) -> date:
    match = _DATE.match(text or "")
    if match is None:
        raise InvalidInput("projects-work-bad-date")
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput("projects-work-bad-date") from None


def parse_due(text: str | None, timezone: str, now: datetime | None = None) -> date:
    """A due date (DD.MM.YYYY) from today on, within ten years."""
    chosen = parse_date(text)
    today = deadlines.today(timezone, now)
    if chosen < today:
        raise InvalidInput("projects-work-date-past")
    if chosen.year > today.year + 10:
        raise InvalidInput("projects-work-bad-date")
    return chosen


def parse_period(text: str | None) -> tuple[date, date]:
    match = _PERIOD.match(text or "")
    if match is None:
        raise InvalidInput("projects-work-bad-period")
    start, end = parse_date(match[1]), parse_date(match[2])
    if end < start:
        raise InvalidInput("projects-work-bad-period")
    return start, end


def parse_progress(text: str | None) -> int:
    digits = (text or "").strip().rstrip("%").strip()
    if not digits.isdigit() or int(digits) > 100:
        raise InvalidInput("projects-work-bad-progress")
    return int(digits)


def parse_spent(text: str | None) -> int:
    digits = re.sub(r"[\s ₽]|руб\.?|rub", "", (text or "").strip().lower())
    if not digits.isdigit() or int(digits) > SPENT_MAX:
        raise InvalidInput("projects-work-bad-spent")
    return int(digits)
