"""Who may see a vote, organize it or vote in it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import bodies
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.permissions import PRESIDIUM, SECRETARIAT, has_any_role
from models import Body, BodyKind, MemberRole, Membership, User, Vote, VoteStatus, VoteVoter

ORGANIZING_MEMBERS = (MemberRole.CHAIR, MemberRole.SECRETARY)


def organizes_every_vote(user: User | None) -> bool:
    """The presidium (and admins) organize the votes of every body."""
    return has_any_role(user, *PRESIDIUM)


def can_organize(user: User | None, body: Body | None, memberships: Sequence[Membership]) -> bool:
    """The presidium and admins organize every vote; a committee's chair and secretary their
    committee's."""
    if organizes_every_vote(user):
        return True
    if user is None or body is None or body.kind in (BodyKind.COUNCIL, BodyKind.PRESIDIUM):
        return False
    return any(
        m.body_id == body.id and m.user_id == user.id and m.role in ORGANIZING_MEMBERS
        for m in memberships
    )


async def organizable_bodies(session: AsyncSession, user: User | None) -> list[Body]:
    """The bodies whose votes this person may organize, the council first."""
    if user is None:
        return []
    if organizes_every_vote(user):
        await bodies.single(session, BodyKind.COUNCIL)  # the council is always there to choose
        rows = await session.scalars(
            select(Body)
            .where(Body.kind.not_in([BodyKind.SECRETARIAT, BodyKind.EXECUTIVE]))
            .order_by(Body.kind != BodyKind.COUNCIL, Body.id)
        )
        return list(rows)
    rows = await session.scalars(
        select(Body)
        .join(Membership, Membership.body_id == Body.id)
        .where(
            Membership.user_id == user.id,
            Membership.role.in_(ORGANIZING_MEMBERS),
            Body.kind.not_in([BodyKind.COUNCIL, BodyKind.PRESIDIUM]),
        )
        .order_by(Body.id)
    )
    return list(rows)


async def _require_organizer(session: AsyncSession, user: User | None, vote: Vote) -> User:
    body = await session.get(Body, vote.body_id) if vote.body_id is not None else None
    memberships: list[Membership] = []
    if user is not None and body is not None:
        memberships = list(
            await session.scalars(
                select(Membership).where(
                    Membership.user_id == user.id, Membership.body_id == body.id
                )
            )
        )
    if user is None or not can_organize(user, body, memberships):
        raise NotAllowed()
    return user


async def get(session: AsyncSession, vote_id: int) -> Vote:
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise NotFound("votes-not-found")
    return vote


async def get_for_organizer(session: AsyncSession, actor: User | None, vote_id: int) -> Vote:
    vote = await get(session, vote_id)
    await _require_organizer(session, actor, vote)
    return vote


async def get_for_viewer(
    session: AsyncSession, actor: User | None, vote_id: int
) -> tuple[Vote, bool]:
    """The vote and whether this person organizes it. Voters and the Secretariat may see a vote
    that is not a draft; anyone else is refused."""
    vote = await get(session, vote_id)
    try:
        await _require_organizer(session, actor, vote)
        return vote, True
    except NotAllowed:
        pass
    seen = await is_voter(session, actor, vote.id) or has_any_role(actor, *SECRETARIAT)
    if vote.status == VoteStatus.DRAFT or not seen:
        raise NotAllowed()
    return vote, False


async def closed_for_viewer(session: AsyncSession, actor: User | None, vote_id: int) -> Vote:
    """A vote whose protocol this person may have: closed, and theirs to see."""
    vote, _ = await get_for_viewer(session, actor, vote_id)
    if vote.status != VoteStatus.CLOSED:
        raise InvalidInput("votes-not-closed")
    return vote


async def is_voter(session: AsyncSession, user: User | None, vote_id: int) -> bool:
    if user is None:
        return False
    found = await session.scalar(
        select(VoteVoter.id).where(VoteVoter.vote_id == vote_id, VoteVoter.user_id == user.id)
    )
    return found is not None
