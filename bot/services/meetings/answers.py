"""An invitee's answer to a meeting's notice: I'll come, I can't, maybe.

Only the invited answer, only while the meeting is announced and has not started; the same
answer pressed again changes nothing. The answer is what the reminders (who is reminded), the
organizer's overview and the quorum forecast read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import InvalidInput, NotAllowed
from bot.services.meetings import access
from models import User
from models.base import utcnow
from models.meetings import Answer, Meeting, MeetingInvitee, MeetingStatus

# What a person may answer (NONE is where everyone starts).
ANSWERABLE = (Answer.YES, Answer.NO, Answer.MAYBE)


@dataclass(frozen=True)
class Answered:
    meeting: Meeting
    invitee: MeetingInvitee
    changed: bool


def require_answerable(meeting: Meeting, now: datetime | None = None) -> None:
    """Answers are taken while the meeting is announced and until it starts."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise InvalidInput("meetings-answers-cancelled")
    if meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput("meetings-answers-closed")
    if meeting.starts_at <= (now or utcnow()):
        raise InvalidInput("meetings-answers-started")


async def answer(
    session: AsyncSession, actor: User | None, meeting_id: int, chosen: Answer
) -> Answered:
    """Record an invitee's answer (with its time); pressing the same answer again is harmless."""
    if chosen not in ANSWERABLE:
        raise InvalidInput("meetings-answers-bad")
    meeting = await access.get(session, meeting_id)
    # Who is not invited learns nothing about the meeting's state.
    row = await access.invitee(session, actor, meeting.id)
    if row is None or actor is None or actor.deleted_at is not None:
        raise NotAllowed("meetings-answers-not-invited")
    require_answerable(meeting)
    if row.answer == chosen:
        return Answered(meeting, row, changed=False)
    row.answer = chosen
    row.answered_at = utcnow()
    await session.flush()
    return Answered(meeting, row, changed=True)
