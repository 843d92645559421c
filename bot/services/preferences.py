"""Notification preferences: which topics reach a person, and their quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import InvalidInput, NotAllowed
from models import Topic, User

# Topics a person may switch off; duty notices (a vote to cast, a report due) always arrive.
MUTABLE_TOPICS = (
    Topic.ANNOUNCEMENTS,
    Topic.PROJECTS,
    Topic.NEEDS,
    Topic.CONFERENCES,
    Topic.DIGEST,
)
# What /settings offers: the topics something sends today (needs: the news of the needs one
# filed or supports; projects: the news of the projects one follows or takes part in;
# conferences: a conference convened, moved or cancelled, for those not invited to it, whose
# invitations are duty).
OFFERED_TOPICS = (
    Topic.ANNOUNCEMENTS,
    Topic.PROJECTS,
    Topic.NEEDS,
    Topic.CONFERENCES,
    Topic.DIGEST,
)
# Quiet-hour choices offered in /settings, as (from, to) minutes after midnight.
QUIET_PRESETS: tuple[tuple[int, int] | None, ...] = (
    (22 * 60, 8 * 60),
    (23 * 60, 7 * 60),
    (21 * 60, 9 * 60),
    None,
)


def receives(user: User, topic: Topic) -> bool:
    """Whether a message on `topic` reaches this person (duty always does)."""
    return topic == Topic.DUTY or topic.value not in (user.muted_topics or [])


async def toggle_topic(session: AsyncSession, user: User, topic: Topic) -> bool:
    """Switch an offered topic on or off; returns whether it is now on. Duty cannot be muted."""
    if topic not in MUTABLE_TOPICS:
        raise NotAllowed("preferences-duty-locked")
    if topic not in OFFERED_TOPICS:
        raise InvalidInput("error-stale-button")
    muted = set(user.muted_topics or [])
    muted ^= {topic.value}
    user.muted_topics = sorted(muted)
    await session.flush()
    return topic.value not in muted


async def set_quiet_hours(
    session: AsyncSession, user: User, window: tuple[int, int] | None
) -> None:
    """Quiet hours from one time to another (they may wrap midnight), or none."""
    if window is not None:
        start, end = window
        if not (0 <= start < 24 * 60 and 0 <= end < 24 * 60) or start == end:
            raise InvalidInput("preferences-bad-quiet-hours")
    user.quiet_from, user.quiet_to = window if window else (None, None)
    await session.flush()


def quiet_until(user: User, now: datetime, timezone: str = "Europe/Moscow") -> datetime | None:
    """If `now` falls in the person's quiet hours, the moment they end (UTC); otherwise None."""
    if user.quiet_from is None or user.quiet_to is None:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = user.quiet_from, user.quiet_to
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    end_time = time(end // 60, end % 60)
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end_time, tzinfo=zone).astimezone(now.tzinfo)
