"""A conference delegate hands their organization's vote to a proxy before voting: they find a
registered person by name, confirm, and the seat passes (`votes.hand_to_proxy`); the proxy gets
the ballot through the delivery engine. Every step checks again that the presser holds the seat
and has not voted, so a forged or an old button changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.services import users
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.votes import box
from bot.services.votes.access import get
from bot.services.votes.ballots import BallotButtons, ballot_params, hand_to_proxy
from models import Organization, Outbox, Topic, User, Vote, VoterUnit, VoteStatus, VoteVoter
from models.base import utcnow

QUERY_MAX = 100


@dataclass(frozen=True)
class Seat:
    """The organization's seat a delegate holds in an open vote."""

    vote: Vote
    organization: Organization | None


def offers_proxy(vote: Vote) -> bool:
    """Whether a ballot of this vote carries the proxy button."""
    return vote.unit == VoterUnit.ORGANIZATION and vote.status == VoteStatus.OPEN


async def seat_of(
    session: AsyncSession, actor: User | None, vote_id: int, now: datetime | None = None
) -> Seat:
    """The seat this person holds in an open conference vote, while they have not voted."""
    vote = await get(session, vote_id)
    if vote.unit != VoterUnit.ORGANIZATION:
        raise InvalidInput("votes-no-proxy")
    if vote.status == VoteStatus.DRAFT:
        raise NotFound("votes-not-found")
    if vote.status != VoteStatus.OPEN or vote.closes_at <= (now or utcnow()):
        raise InvalidInput("votes-closed")
    seat = None
    if actor is not None and actor.deleted_at is None:
        seat = await session.scalar(
            select(VoteVoter).where(VoteVoter.vote_id == vote.id, VoteVoter.user_id == actor.id)
        )
    if seat is None:
        raise NotAllowed("meetings-votes-proxy-not-holder")
    if seat.voted:
        raise InvalidInput("meetings-votes-proxy-voted")
    organization = (
        await session.get(Organization, seat.organization_id)
        if seat.organization_id is not None
        else None
    )
    return Seat(vote, organization)


async def find(session: AsyncSession, actor: User | None, vote_id: int, query: str) -> list[User]:
    """People the seat holder may name (by name, @username or Telegram id), themselves aside."""
    await seat_of(session, actor, vote_id)
    if len(query) > QUERY_MAX:
        raise InvalidInput("meetings-votes-bad-query", max=QUERY_MAX)
    assert actor is not None
    return [person for person in await users.search_people(session, query) if person.id != actor.id]


async def check(
    session: AsyncSession, actor: User | None, vote_id: int, proxy_id: int
) -> tuple[Seat, User]:
    """The seat and the person it would pass to, if it may: refused for oneself and for
    someone who already holds a seat in this vote (one person, one vote)."""
    seat = await seat_of(session, actor, vote_id)
    proxy = await session.get(User, proxy_id)
    if proxy is None or not proxy.is_registered:
        raise NotFound("votes-proxy-not-found")
    if actor is not None and proxy.id == actor.id:
        raise InvalidInput("meetings-votes-proxy-self")
    holds = await session.scalar(
        select(VoteVoter.id).where(VoteVoter.vote_id == vote_id, VoteVoter.user_id == proxy.id)
    )
    if holds is not None:
        raise InvalidInput("meetings-votes-proxy-has-seat", name=proxy.name or "")
    return seat, proxy


async def hand_over(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    proxy_id: int,
    *,
    timezone: str,
    buttons: BallotButtons,
) -> tuple[Seat, User]:
    """Pass the seat to the proxy and send them the ballot. Under the vote's lock, so a ballot
    the delegate casts at the same moment either counts (and the hand-over is refused) or is
    refused (the seat is no longer theirs)."""
    await box.lock_vote(session, vote_id)
    seat, proxy = await check(session, actor, vote_id, proxy_id)
    await hand_to_proxy(session, actor, vote_id, proxy.id)
    vote = seat.vote
    params = ballot_params(vote, timezone)
    outbox = Outbox(
        kind="ballot",
        topic=Topic.DUTY,
        text_key="meetings-votes-proxy-ballot",
        text_params={
            **params,
            "organization": seat.organization.name if seat.organization else "—",
            "delegate": actor.name if actor is not None and actor.name else "—",
        },
        buttons=buttons(vote),
        author_id=actor.id if actor else None,
    )
    await delivery.enqueue(session, outbox, {"users": [proxy.id]})
    return seat, proxy
