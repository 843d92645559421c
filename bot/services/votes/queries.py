"""What is read about votes: turnout, the tally, who has not voted, the lists a person sees, the
roll and the roll call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import InvalidInput
from bot.services.votes.access import get_for_organizer, organizable_bodies, organizes_every_vote
from models import (
    Ballot,
    BallotChoice,
    Organization,
    User,
    Vote,
    VoteOption,
    VoterUnit,
    VoteStatus,
    VoteVoter,
)


@dataclass(frozen=True)
class Turnout:
    eligible: int
    voted: int


async def turnout(session: AsyncSession, vote_id: int) -> Turnout:
    rows = await session.execute(
        select(VoteVoter.voted, func.count())
        .where(VoteVoter.vote_id == vote_id)
        .group_by(VoteVoter.voted)
    )
    counts = {bool(voted): n for voted, n in rows}
    return Turnout(counts.get(True, 0) + counts.get(False, 0), counts.get(True, 0))


def tally_query(vote_id: int) -> Any:
    """Votes per option, counted inside the database over ix_ballot_choices_tally."""
    return (
        select(BallotChoice.option_id, func.count())
        .where(BallotChoice.vote_id == vote_id)
        .group_by(BallotChoice.option_id)
    )


# The names an organizer is shown of those who have not voted; the rest are counted.
WAITING_SHOWN = 100


def non_voters_query(vote_id: int, limit: int = WAITING_SHOWN) -> Any:
    """The first who have not voted, in roll order: read from ix_vote_voters_waiting, so a
    page costs the same with a hundred thousand waiting as with ten."""
    first = (
        select(VoteVoter.user_id, VoteVoter.id)
        .where(VoteVoter.vote_id == vote_id, VoteVoter.voted.is_(False))
        .order_by(VoteVoter.id)
        .limit(limit)
        .subquery()
    )
    return select(User.id, User.name).join(first, first.c.user_id == User.id).order_by(first.c.id)


def waiting_count_query(vote_id: int) -> Any:
    return (
        select(func.count())
        .select_from(VoteVoter)
        .where(VoteVoter.vote_id == vote_id, VoteVoter.voted.is_(False))
    )


@dataclass(frozen=True)
class Waiting:
    total: int
    # The first WAITING_SHOWN of them in roll order, as (user id, name) sorted by name.
    shown: list[tuple[int, str]]


async def tally(session: AsyncSession, vote: Vote) -> dict[int, int]:
    """Votes per option position."""
    by_id = {option.id: option.position for option in vote.options}
    rows = await session.execute(tally_query(vote.id))
    return {by_id[option_id]: n for option_id, n in rows}


async def non_voters(session: AsyncSession, actor: User | None, vote_id: int) -> Waiting:
    """Who has not voted yet: what organizers see, open or secret, before the close. The first
    of them in roll order (all of them on any real roll), sorted by name; the rest counted."""
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.unit == VoterUnit.CITIZEN:
        # Citizens are invited, not called to a duty: nobody is shown a list of who stayed away.
        raise InvalidInput("priorities-no-waiting-list")
    total = await session.scalar(waiting_count_query(vote.id)) or 0
    rows = (await session.execute(non_voters_query(vote.id))).all() if total else []
    shown = sorted(((user_id, name or "—") for user_id, name in rows), key=lambda r: (r[1], r[0]))
    return Waiting(total, shown)


async def roll_user_ids(
    session: AsyncSession, vote_id: int, *, voted: bool | None = None
) -> list[int]:
    """The roll's people in roll order; only those who have (not) voted when `voted` is given."""
    query = select(VoteVoter.user_id).where(VoteVoter.vote_id == vote_id)
    if voted is not None:
        query = query.where(VoteVoter.voted.is_(voted))
    return list(await session.scalars(query.order_by(VoteVoter.id)))


@dataclass(frozen=True)
class MyVote:
    vote: Vote
    voted: bool


async def open_for_voter(session: AsyncSession, user: User) -> list[MyVote]:
    rows = await session.execute(
        select(Vote, VoteVoter.voted)
        .join(VoteVoter, VoteVoter.vote_id == Vote.id)
        .where(VoteVoter.user_id == user.id, Vote.status == VoteStatus.OPEN)
        .order_by(Vote.closes_at)
    )
    return [MyVote(vote, voted) for vote, voted in rows]


async def organized(session: AsyncSession, user: User | None, limit: int = 20) -> list[Vote]:
    """Recent votes of the bodies this person organizes, newest first."""
    ids = [body.id for body in await organizable_bodies(session, user)]
    query = select(Vote).order_by(Vote.id.desc()).limit(limit)
    if organizes_every_vote(user):
        rows = await session.scalars(query)
    else:
        rows = await session.scalars(query.where(Vote.body_id.in_(ids)))
    return list(rows)


async def recent_closed_for(session: AsyncSession, user: User, limit: int = 5) -> list[Vote]:
    rows = await session.scalars(
        select(Vote)
        .join(VoteVoter, VoteVoter.vote_id == Vote.id)
        .where(VoteVoter.user_id == user.id, Vote.status == VoteStatus.CLOSED)
        .order_by(Vote.closed_at.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class RollEntry:
    name: str
    positions: tuple[int, ...] | None  # None: did not vote


async def roll_call(session: AsyncSession, vote: Vote) -> list[RollEntry]:
    """An open vote's roll call, for its protocol; a secret vote has none, nor has a poll of
    citizens (how a citizen chose is theirs: the protocol gives the counts only)."""
    if vote.secret or vote.unit == VoterUnit.CITIZEN:
        return []
    seats = await session.execute(
        select(VoteVoter.id, User.name, Organization.name, Ballot.id)
        .join(User, User.id == VoteVoter.user_id)
        .outerjoin(Organization, Organization.id == VoteVoter.organization_id)
        .outerjoin(Ballot, Ballot.voter_id == VoteVoter.id)
        .where(VoteVoter.vote_id == vote.id)
        .order_by(User.name, VoteVoter.id)
    )
    choices: dict[str, list[int]] = {}
    rows = await session.execute(
        select(BallotChoice.ballot_id, VoteOption.position)
        .join(VoteOption, VoteOption.id == BallotChoice.option_id)
        .where(BallotChoice.vote_id == vote.id)
        .order_by(VoteOption.position)
    )
    for ballot_id, position in rows:
        choices.setdefault(ballot_id, []).append(position)
    entries = []
    for _seat, name, organization, ballot_id in seats:
        shown = f"{organization} ({name or '—'})" if organization else (name or "—")
        positions = tuple(choices.get(ballot_id, ())) if ballot_id else None
        entries.append(RollEntry(shown, positions))
    return entries
