"""Shared by the tests of votes at a meeting: registering attendance (set directly, as the
attendance screens of another capability would), opening the organizer's votes panel, and
reading what people received."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.keyboards.meetings import PANEL_VOTES, CDMeetingPanel
from models import Vote
from models.base import utcnow
from models.meetings import MeetingDecision, MeetingInvitee, Presence


async def mark_present(running, meeting_id: int, *user_ids: int) -> None:
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(MeetingInvitee)
            .where(MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.user_id.in_(user_ids))
            .values(present=True, present_source=Presence.SECRETARY, present_at=utcnow())
        )


async def open_panel(person, meeting_id: int):
    """The votes panel, as the meeting card's button opens it; returns the panel message."""
    anchor = (await person.say("/help"))[0]
    data = CDMeetingPanel(id=meeting_id, panel=PANEL_VOTES).pack()
    replies = await person.click_data(anchor.message_id, data)
    return replies[-1]


def ballots(person, vote_id: int) -> list:
    return [
        m for m in person.bot_messages if (m.text or "").startswith(f"🗳 Голосование №{vote_id}\n")
    ]


def alerts(person) -> list[str]:
    return [answer.text or "" for answer in person.callback_answers]


async def meeting_votes(running, meeting_id: int) -> list[Vote]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(Vote)
            .where(Vote.subject_type == "meeting", Vote.subject_id == meeting_id)
            .order_by(Vote.id)
        )
        return list(rows)


async def decisions(running, meeting_id: int) -> list[MeetingDecision]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(MeetingDecision)
            .where(MeetingDecision.meeting_id == meeting_id)
            .order_by(MeetingDecision.position)
        )
        return list(rows)
