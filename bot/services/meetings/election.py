"""The conference elects the council's personally elected members (Regulations: the annual
conference elects or confirms them): when an election at a conference closes with winners, each
winner takes an elected seat in the council until the term the vote named, on the basis of that
vote, and is told. The seat's term ends by itself (`bodies.expire_term`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services import bodies, notices
from bot.services.errors import DomainError
from models import (
    BodyKind,
    CouncilCategory,
    MemberRole,
    Membership,
    Outcome,
    User,
    Vote,
    VoteKind,
    VoteStatus,
)
from models.base import utcnow
from models.meetings import Meeting, MeetingKind


def elects_council(vote: Vote, meeting: Meeting) -> bool:
    """A closed election at a conference with winners and a term still to come."""
    return (
        vote.kind == VoteKind.ELECTION
        and vote.status == VoteStatus.CLOSED
        and vote.outcome == Outcome.ADOPTED
        and meeting.kind == MeetingKind.CONFERENCE
        and vote.term_until is not None
        and vote.term_until > utcnow()
    )


def winners(vote: Vote) -> list[int]:
    """The elected, as user ids, in the order of the ballot."""
    won = set((vote.result or {}).get("winners", []))
    return [
        option.candidate_id
        for option in vote.options
        if option.position in won and option.candidate_id is not None
    ]


async def seat_winners(
    session: AsyncSession, vote: Vote, meeting: Meeting, *, timezone: str
) -> list[User]:
    """Seat the election's winners in the council (category ELECTED, until the vote's term,
    basis: the vote) and tell them; returns those seated. A winner who already holds a seat of
    another category keeps it: a term would only shorten it."""
    if not elects_council(vote, meeting):
        return []
    assert vote.term_until is not None
    council = await bodies.single(session, BodyKind.COUNCIL)
    seated: list[User] = []
    for user_id in winners(vote):
        current = await session.scalar(
            select(Membership).where(
                Membership.body_id == council.id, Membership.user_id == user_id
            )
        )
        if current is not None and current.council_category not in (None, CouncilCategory.ELECTED):
            continue
        try:
            membership = await bodies.seat(
                session,
                None,
                council.id,
                user_id,
                current.role if current is not None else MemberRole.MEMBER,
                CouncilCategory.ELECTED,
                vote.term_until,
                basis_vote_id=vote.id,
            )
        except DomainError:
            # A winner erased since the ballot, say: the others are seated all the same, and the
            # close that calls this must not fail.
            continue
        seated.append(membership.user)
    if seated:
        await notices.notify(
            session,
            seated,
            "meetings-votes-elected",
            conference=meeting.title,
            number=vote.id,
            until=dates.local_day(vote.term_until, timezone).strftime("%d.%m.%Y"),
        )
    return seated
