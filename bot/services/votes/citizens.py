"""Votes whose roll is the citizens (`VoterUnit.CITIZEN`): a priorities poll of a district or of
the city. The vote's `PriorityPoll` row names the district (None: the city) and the needs on the
ballot; at the close their places are recorded beside the needs.

The roll is fixed at the opening inside the database (one INSERT … SELECT: a city-wide roll of
200,000 people never passes through Python), and the ballots and the results reach people through
an audience the delivery engine also resolves in SQL (the district, or everyone), not through a
list of ids: a list that long would not fit a statement's parameters on SQLite.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import audience_query
from models import Topic, User, Vote, VoteVoter
from models.needs import Need, NeedEvent, NeedEventKind, PriorityPoll, PriorityPollNeed

SUBJECT = "priority_poll"


def place_audience(district_id: int | None) -> dict[str, Any]:
    return {"everyone": True} if district_id is None else {"districts": [district_id]}


def citizens_query(district_id: int | None) -> Select[Any]:
    """The citizens who may take part: those the invitation reaches, as the delivery engine
    defines them (registered, not erased, with Telegram, not blocking the bot, not muting news
    about needs), of the district (any, for the city). The roll and the ballot's audience are
    the same people, so everyone on the roll has a ballot."""
    return audience_query(place_audience(district_id), Topic.NEEDS)


async def poll_of(session: AsyncSession, vote_id: int) -> PriorityPoll | None:
    return await session.scalar(select(PriorityPoll).where(PriorityPoll.vote_id == vote_id))


async def fill_roll(session: AsyncSession, vote: Vote) -> int:
    poll = await poll_of(session, vote.id)
    if poll is None:
        return 0
    source = citizens_query(poll.district_id).with_only_columns(literal(vote.id), User.id)
    await session.execute(insert(VoteVoter).from_select(["vote_id", "user_id"], source))
    await session.flush()
    return await count_roll(session, vote.id)


async def count_roll(session: AsyncSession, vote_id: int) -> int:
    query = select(func.count()).select_from(VoteVoter).where(VoteVoter.vote_id == vote_id)
    return await session.scalar(query) or 0


async def audience(session: AsyncSession, vote: Vote) -> dict[str, Any]:
    """Who the ballot and the results go to: the poll's district, or everyone."""
    poll = await poll_of(session, vote.id)
    if poll is None:
        return {"users": []}
    return place_audience(poll.district_id)


def places(counts: dict[int, int]) -> dict[int, int]:
    """Each position's place by votes: 1 for the most; ties share a place (1, 1, 3)."""
    return {
        position: 1 + sum(1 for other in counts.values() if other > votes)
        for position, votes in counts.items()
    }


async def record(
    session: AsyncSession, vote: Vote, counts: dict[int, int], cast: int, now: datetime
) -> None:
    """Write each need's place beside it (`Need.priority_rank`) with a public history event;
    once per poll. A poll nobody voted in ranks nothing."""
    poll = await poll_of(session, vote.id)
    if poll is None or poll.recorded_at is not None:
        return
    poll.recorded_at = now
    if cast > 0:
        on_ballot = list(
            await session.scalars(
                select(PriorityPollNeed).where(PriorityPollNeed.poll_id == poll.id)
            )
        )
        ranked = places({row.position: counts.get(row.position, 0) for row in on_ballot})
        for row in on_ballot:
            need = await session.get(Need, row.need_id)
            if need is None:
                continue
            need.priority_rank = ranked[row.position]
            session.add(
                NeedEvent(
                    need_id=need.id,
                    kind=NeedEventKind.PRIORITY,
                    # The place, as a number any language shows.
                    text=str(ranked[row.position]),
                    public=True,
                    subject_type=SUBJECT,
                    subject_id=poll.id,
                    created_at=now,
                )
            )
    await session.flush()
