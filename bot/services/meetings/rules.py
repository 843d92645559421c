"""A meeting's statuses and the moves between them, and the checks on what an organizer types.
Every change of status goes through `require_move`, whatever the buttons offered."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services.errors import InvalidInput
from models.base import utcnow
from models.meetings import MeetingStatus

TITLE_MAX = 200
PLACE_MAX = 300
ITEM_MAX = 300
SPEAKER_MAX = 100
TEXT_MAX = 20_000
REASON_MAX = 1000
# A meeting lasts this long unless its organizer says otherwise: the window for "I'm here".
DEFAULT_DURATION = timedelta(hours=3)
MAX_DURATION = timedelta(days=3)
# How far ahead a meeting may be set.
HORIZON = timedelta(days=2 * 366)
AGENDA_MAX = 30

MOVES: dict[MeetingStatus, frozenset[MeetingStatus]] = {
    MeetingStatus.DRAFT: frozenset({MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED}),
    MeetingStatus.PUBLISHED: frozenset({MeetingStatus.MINUTED, MeetingStatus.CANCELLED}),
    MeetingStatus.MINUTED: frozenset(),
    MeetingStatus.CANCELLED: frozenset(),
}


def may_move(status: MeetingStatus, to: MeetingStatus) -> bool:
    return to in MOVES[status]


def require_move(status: MeetingStatus, to: MeetingStatus) -> None:
    if not may_move(status, to):
        raise InvalidInput(f"meetings-cannot-{to.value}", status_key=f"meetings-status-{status}")


def clean_line(text: str | None, limit: int, key: str) -> str:
    """One line of text (a title, a place): spaces folded, not empty, not over `limit`."""
    value = " ".join((text or "").split())
    if not value or len(value) > limit:
        raise InvalidInput(key, max=limit)
    return value


def clean_text(text: str | None, limit: int = TEXT_MAX, key: str = "meetings-bad-text") -> str:
    value = (text or "").strip()
    if not value or len(value) > limit:
        raise InvalidInput(key, max=limit)
    return value


def check_start(starts_at: datetime, now: datetime | None = None) -> datetime:
    """A start in the future and within the horizon (an aware datetime)."""
    now = now or utcnow()
    if starts_at.tzinfo is None or starts_at <= now:
        raise InvalidInput("meetings-start-past")
    if starts_at > now + HORIZON:
        raise InvalidInput("meetings-start-too-far")
    return starts_at


def check_end(starts_at: datetime, ends_at: datetime) -> datetime:
    if ends_at <= starts_at or ends_at - starts_at > MAX_DURATION:
        raise InvalidInput("meetings-bad-end")
    return ends_at


def is_past(ends_at: datetime, now: datetime | None = None) -> bool:
    return ends_at <= (now or utcnow())
