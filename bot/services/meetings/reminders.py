"""A published meeting's reminders, through the scheduler: 7 days and 1 day before to those who
have not declined, 3 days before a nudge to those who have not answered, 2 hours before to those
coming. Each says when and where, with the answer buttons to change one's answer. A reminder
checks when it runs that the meeting is still on at the time it was set for, and goes only to
the invitees of that moment; each fires once (the scheduler records it), also after a restart."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.meetings import forecast, notify
from bot.services.meetings.notify import NoticeButtons
from models import ScheduledJob
from models.base import utcnow
from models.meetings import Answer, Meeting, MeetingInvitee, MeetingStatus
from scheduler import jobs

# kind → (how long before the start, who is reminded: the answers that get it)
REMINDERS: dict[str, tuple[timedelta, tuple[Answer, ...]]] = {
    "meeting.remind_7d": (timedelta(days=7), (Answer.YES, Answer.MAYBE, Answer.NONE)),
    "meeting.nudge_3d": (timedelta(days=3), (Answer.NONE,)),
    "meeting.remind_1d": (timedelta(days=1), (Answer.YES, Answer.MAYBE, Answer.NONE)),
    "meeting.remind_2h": (timedelta(hours=2), (Answer.YES,)),
}
SUBJECT = "meeting"


async def schedule(session: AsyncSession, meeting: Meeting, now: datetime | None = None) -> None:
    """Put the meeting's reminders in the schedule (again, after a change of time): those whose
    moment has passed are not scheduled."""
    now = now or utcnow()
    for kind, (before, _answers) in REMINDERS.items():
        due = meeting.starts_at - before
        if due > now and meeting.status == MeetingStatus.PUBLISHED:
            await jobs.schedule(session, kind, SUBJECT, meeting.id, due)
        else:
            await jobs.cancel(session, SUBJECT, meeting.id, kind)
    # The organizers' quorum check moves with the reminders (bot/services/meetings/forecast.py).
    await forecast.schedule_check(session, meeting, now)


async def cancel(session: AsyncSession, meeting: Meeting) -> None:
    for kind in REMINDERS:
        await jobs.cancel(session, SUBJECT, meeting.id, kind)
    await forecast.cancel_check(session, meeting)


async def recipients(
    session: AsyncSession, meeting_id: int, answers: tuple[Answer, ...]
) -> list[int]:
    rows = await session.scalars(
        select(MeetingInvitee.user_id)
        .where(MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.answer.in_(answers))
        .order_by(MeetingInvitee.user_id)
    )
    return list(rows)


async def run(
    session: AsyncSession,
    job: ScheduledJob,
    *,
    timezone: str,
    buttons: NoticeButtons,
) -> dict[str, Any]:
    meeting = await session.get(Meeting, job.object_id)
    if meeting is None or meeting.status != MeetingStatus.PUBLISHED:
        return {"skipped": "not on"}
    before, answers = REMINDERS[job.kind]
    if meeting.starts_at - before != job.due_at:
        # Moved since: the reminder for the new time is already in the schedule.
        return {"skipped": "moved"}
    if meeting.starts_at <= utcnow():
        return {"skipped": "started"}
    people = await recipients(session, meeting.id, answers)
    if not people:
        return {"reminded": 0}
    key = f"meetings-{job.kind.split('.', 1)[1].replace('_', '-')}"
    outbox = await notify.to_invitees(
        session,
        meeting,
        key,
        timezone=timezone,
        buttons=buttons,
        users=people,
        with_calendar=False,
        kind="reminder",
    )
    return {"reminded": outbox.total if outbox is not None else 0}
