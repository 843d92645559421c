"""Who came to a meeting: an invitee registers with "I'm here" during the meeting's time window;
the secretary (the organizers and the Secretariat) marks those who answered "I'll come" in one
step and corrects anyone by hand. The present are those a vote opened during the meeting
reaches (the conference votes read `MeetingInvitee.present`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.meetings import access
from bot.services.meetings.agenda import OutOfTime
from bot.services.paging import Page, page_bounds
from models import User
from models.base import utcnow
from models.meetings import Answer, Meeting, MeetingInvitee, MeetingStatus, Presence

PER_PAGE = 10


@dataclass(frozen=True)
class Row:
    invitee: MeetingInvitee
    name: str


@dataclass
class Roll:
    """One page of the attendance list and its totals."""

    meeting: Meeting
    page: Page[Row]
    present: int
    # Whether the secretary may change it now (the meeting has started and has no minutes yet).
    editable: bool


def in_window(meeting: Meeting, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return meeting.status == MeetingStatus.PUBLISHED and meeting.starts_at <= now < meeting.ends_at


async def here(
    session: AsyncSession, actor: User | None, meeting_id: int, now: datetime | None = None
) -> tuple[MeetingInvitee, bool]:
    """An invitee registers their attendance during the meeting's window; returns the row and
    whether it changed (a second press changes nothing)."""
    now = now or utcnow()
    meeting = await access.get(session, meeting_id, lock=True)
    row = await access.invitee(session, actor, meeting.id)
    if row is None:
        raise NotAllowed()
    if meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput("meetings-closed")
    if not in_window(meeting, now):
        raise OutOfTime("meetings-here-outside", starts=meeting.starts_at, ends=meeting.ends_at)
    if row.present:
        return row, False
    row.present = True
    row.present_source = Presence.SELF
    row.present_at = now
    await session.flush()
    await audit.record(session, actor, "meeting.here", "meeting", meeting.id)
    return row, True


def _editable(meeting: Meeting, now: datetime | None = None) -> bool:
    return meeting.status == MeetingStatus.PUBLISHED and meeting.starts_at <= (now or utcnow())


async def roll(session: AsyncSession, actor: User | None, meeting_id: int, number: int) -> Roll:
    """The invitees with present or absent, by name, page by page (the secretary's view)."""
    meeting = await access.get_for_secretary(session, actor, meeting_id)
    if meeting.status not in (MeetingStatus.PUBLISHED, MeetingStatus.MINUTED):
        raise InvalidInput("meetings-closed")
    total = (
        await session.scalar(
            select(func.count())
            .select_from(MeetingInvitee)
            .where(MeetingInvitee.meeting_id == meeting.id)
        )
        or 0
    )
    present = (
        await session.scalar(
            select(func.count())
            .select_from(MeetingInvitee)
            .where(MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.present.is_(True))
        )
        or 0
    )
    number, pages = page_bounds(number, total, PER_PAGE)
    rows = await session.execute(
        select(MeetingInvitee, User.name)
        .join(User, User.id == MeetingInvitee.user_id)
        .where(MeetingInvitee.meeting_id == meeting.id)
        .order_by(User.name_key, MeetingInvitee.id)
        .offset(number * PER_PAGE)
        .limit(PER_PAGE)
    )
    items = [Row(invitee, name or "—") for invitee, name in rows]
    return Roll(meeting, Page(items, number, pages, total), present, _editable(meeting))


async def _for_marking(session: AsyncSession, actor: User | None, meeting_id: int) -> Meeting:
    meeting = await access.get_for_secretary(session, actor, meeting_id, lock=True)
    if meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput("meetings-closed")
    if not _editable(meeting):
        raise OutOfTime("meetings-attendance-not-started", starts=meeting.starts_at)
    return meeting


async def mark_answered(session: AsyncSession, actor: User | None, meeting_id: int) -> int:
    """Everyone who answered "I'll come" and is not registered yet is marked present by the
    secretary, once the meeting has started; returns how many were marked."""
    meeting = await _for_marking(session, actor, meeting_id)
    now = utcnow()
    rows = list(
        await session.scalars(
            select(MeetingInvitee).where(
                MeetingInvitee.meeting_id == meeting.id,
                MeetingInvitee.answer == Answer.YES,
                MeetingInvitee.present.is_(False),
            )
        )
    )
    for row in rows:
        row.present, row.present_source, row.present_at = True, Presence.SECRETARY, now
    count = len(rows)
    await session.flush()
    await audit.record(
        session, actor, "meeting.attendance_mark", "meeting", meeting.id, marked=count
    )
    return count


async def toggle(
    session: AsyncSession, actor: User | None, meeting_id: int, user_id: int
) -> MeetingInvitee:
    """The secretary marks one invitee present, or takes the mark back."""
    meeting = await _for_marking(session, actor, meeting_id)
    row = await session.scalar(
        select(MeetingInvitee).where(
            MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.user_id == user_id
        )
    )
    if row is None:
        raise NotFound("meetings-person-not-found")
    if row.present:
        row.present, row.present_source, row.present_at = False, None, None
    else:
        row.present, row.present_source, row.present_at = True, Presence.SECRETARY, utcnow()
    await session.flush()
    await audit.record(
        session,
        actor,
        "meeting.attendance_toggle",
        "meeting",
        meeting.id,
        user_id=user_id,
        present=row.present,
    )
    return row


async def present_ids(session: AsyncSession, meeting_id: int) -> list[int]:
    """The people registered as present (those a vote opened during the meeting reaches)."""
    rows = await session.scalars(
        select(MeetingInvitee.user_id)
        .where(MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.present.is_(True))
        .order_by(MeetingInvitee.user_id)
    )
    return list(rows)
