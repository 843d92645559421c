"""The decisions the council's seat rules ask for, made directly through the session (the votes
and conferences that produce them have tests of their own): a closed conference election and
the council's adopted vote appointing the presidium."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import bodies
from models import (
    BodyKind,
    Outcome,
    Vote,
    VoteKind,
    VoteOption,
    VoterUnit,
    VoteStatus,
)
from models.base import utcnow
from models.meetings import Meeting, MeetingKind, MeetingStatus

# The presidium's appointment is numbered 0, so that the votes a test opens keep their numbers
# from 1 (SQLite numbers the next row after the largest, PostgreSQL's sequence is left alone).
APPOINTMENT_ID = 0


async def conference_election(
    session: AsyncSession, *winners: int, losers: tuple[int, ...] = (), closed: bool = True
) -> Vote:
    """A conference held a month ago and its election of council members, closed with these
    winners (user ids) unless `closed` is False."""
    ago = utcnow() - timedelta(days=30)
    meeting = Meeting(
        kind=MeetingKind.CONFERENCE,
        title="Ежегодная конференция",
        starts_at=ago,
        ends_at=ago + timedelta(hours=3),
        status=MeetingStatus.MINUTED,
    )
    session.add(meeting)
    await session.flush()
    candidates = [*winners, *losers]
    vote = Vote(
        kind=VoteKind.ELECTION,
        unit=VoterUnit.ORGANIZATION,
        subject_type="meeting",
        subject_id=meeting.id,
        question="Выборы членов ГОС",
        max_choices=max(len(winners), 1),
        status=VoteStatus.CLOSED if closed else VoteStatus.OPEN,
        closes_at=ago + timedelta(hours=2),
        opened_at=ago,
        closed_at=ago + timedelta(hours=2) if closed else None,
        outcome=Outcome.ADOPTED if closed and winners else None,
        result={"winners": list(range(len(winners)))} if closed else None,
        options=[
            VoteOption(position=position, candidate_id=candidate)
            for position, candidate in enumerate(candidates)
        ],
    )
    session.add(vote)
    await session.flush()
    return vote


async def council_vote(
    session: AsyncSession,
    *,
    outcome: Outcome = Outcome.ADOPTED,
    vote_id: int | None = None,
    body: BodyKind = BodyKind.COUNCIL,
) -> Vote:
    """A closed vote of the council (or of another single body) with this outcome."""
    voting = await bodies.single(session, body)
    ago = utcnow() - timedelta(days=7)
    vote = Vote(
        id=vote_id,
        kind=VoteKind.QUESTION,
        body_id=voting.id,
        question="Назначить состав президиума ГОС",
        status=VoteStatus.CLOSED,
        closes_at=ago,
        opened_at=ago - timedelta(days=3),
        closed_at=ago,
        outcome=outcome,
        result={"winners": [0] if outcome == Outcome.ADOPTED else []},
    )
    session.add(vote)
    await session.flush()
    return vote


async def appointment(session: AsyncSession) -> int:
    """The council's adopted decision appointing the presidium (one for every appointee)."""
    found = await session.get(Vote, APPOINTMENT_ID)
    if found is None:
        found = await council_vote(session, vote_id=APPOINTMENT_ID)
    return found.id
