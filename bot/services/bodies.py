"""The Assembly's bodies and their members; roles follow from who sits where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, roles, schedule
from bot.services.errors import InvalidInput, NotFound
from bot.services.permissions import require_role
from models import (
    Body,
    BodyKind,
    CouncilCategory,
    MemberRole,
    Membership,
    Role,
    ScheduledJob,
    User,
)
from models.base import utcnow
from models.bodies import SINGLE_BODIES

SECRETARIAT = (Role.SECRETARIAT,)
NAME_MAX = 200
DIRECTION_MAX = 1000
EXPIRE_KIND = "membership.expire"


async def single(session: AsyncSession, kind: BodyKind) -> Body:
    """The council, presidium, executive committee or secretariat (created on first use)."""
    if kind not in SINGLE_BODIES:
        raise ValueError(f"{kind} is not a single body")
    body = await session.scalar(select(Body).where(Body.kind == kind).order_by(Body.id).limit(1))
    if body is None:
        body = Body(kind=kind)
        session.add(body)
        await session.flush()
    return body


async def all_bodies(session: AsyncSession) -> list[Body]:
    for kind in SINGLE_BODIES:
        await single(session, kind)
    rows = await session.scalars(select(Body).order_by(Body.id))
    return list(rows)


async def get(session: AsyncSession, body_id: int) -> Body:
    body = await session.get(Body, body_id)
    if body is None:
        raise NotFound("bodies-not-found")
    return body


async def create(
    session: AsyncSession, actor: User | None, kind: BodyKind, name: str, direction: str
) -> Body:
    """A committee, working group or commission, with a name and a direction."""
    actor = require_role(actor, *SECRETARIAT)
    if kind in SINGLE_BODIES:
        raise InvalidInput("bodies-single-exists")
    name = " ".join(name.split())
    direction = direction.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput("bodies-bad-name", max=NAME_MAX)
    if len(direction) > DIRECTION_MAX:
        raise InvalidInput("bodies-bad-direction", max=DIRECTION_MAX)
    body = Body(kind=kind, name=name, direction=direction or None)
    session.add(body)
    await session.flush()
    await audit.record(session, actor, "body.create", "body", body.id, kind=kind.value, name=name)
    return body


async def members(session: AsyncSession, body_id: int) -> list[Membership]:
    rows = await session.scalars(
        select(Membership).where(Membership.body_id == body_id).order_by(Membership.id)
    )
    return list(rows)


async def member_count(session: AsyncSession, body_id: int) -> int:
    query = select(func.count()).select_from(Membership).where(Membership.body_id == body_id)
    return await session.scalar(query) or 0


async def add_member(
    session: AsyncSession,
    actor: User | None,
    body_id: int,
    user_id: int,
    role: MemberRole = MemberRole.MEMBER,
    category: CouncilCategory | None = None,
    until: datetime | None = None,
) -> Membership:
    """Seat a person in a body; council members carry a category, elected ones a term end."""
    actor = require_role(actor, *SECRETARIAT)
    body = await get(session, body_id)
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("bodies-person-not-found")
    if body.kind == BodyKind.COUNCIL and category is None:
        raise InvalidInput("bodies-category-required")
    if body.kind != BodyKind.COUNCIL:
        category = None
    if category == CouncilCategory.ELECTED and until is None:
        raise InvalidInput("bodies-term-required")
    if until is not None and until <= utcnow():
        raise InvalidInput("bodies-term-past")
    membership = await session.scalar(
        select(Membership).where(Membership.body_id == body.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(body=body, user=user)
        session.add(membership)
    membership.role = role
    membership.council_category = category
    membership.until = until if category == CouncilCategory.ELECTED else None
    await session.flush()
    await audit.record(
        session,
        actor,
        "body.add_member",
        "body",
        body.id,
        user_id=user.id,
        role=role.value,
        category=category.value if category else None,
        until=until.isoformat() if until else None,
    )
    # An elected term ends on its own: the scheduler takes the role away at `until`.
    if membership.until is not None:
        await schedule.schedule(session, EXPIRE_KIND, "membership", membership.id, membership.until)
    else:
        await schedule.cancel(session, "membership", membership.id, EXPIRE_KIND)
    await roles.sync_roles(session, user)
    return membership


async def expire_term(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
    """Scheduled at a term's end: the person's roles follow their remaining memberships."""
    membership = await session.get(Membership, job.object_id)
    if membership is None:
        return {"skipped": "membership removed"}
    _, lost = await roles.sync_roles(session, membership.user)
    return {"user_id": membership.user_id, "lost": sorted(role.value for role in lost)}


async def remove_member(
    session: AsyncSession, actor: User | None, body_id: int, user_id: int
) -> User:
    actor = require_role(actor, *SECRETARIAT)
    membership = await session.scalar(
        select(Membership).where(Membership.body_id == body_id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("bodies-member-not-found")
    user = membership.user
    await schedule.cancel(session, "membership", membership.id, EXPIRE_KIND)
    await session.delete(membership)
    await session.flush()
    await audit.record(session, actor, "body.remove_member", "body", body_id, user_id=user_id)
    await roles.sync_roles(session, user)
    return user


async def set_secretariat(
    session: AsyncSession, actor: User | None, user_id: int, grant: bool
) -> User:
    """Admins grant and revoke the Secretariat role: a seat in the secretariat body."""
    actor = require_role(actor, Role.ADMIN)
    body = await single(session, BodyKind.SECRETARIAT)
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("bodies-person-not-found")
    membership = await session.scalar(
        select(Membership).where(Membership.body_id == body.id, Membership.user_id == user.id)
    )
    if grant == (membership is not None):
        return user  # already as asked: nothing to record, nobody to notify twice
    if grant:
        session.add(Membership(body=body, user=user, role=MemberRole.MEMBER))
    else:
        await session.delete(membership)
    await session.flush()
    await audit.record(
        session,
        actor,
        "role.grant_secretariat" if grant else "role.revoke_secretariat",
        "user",
        user.id,
    )
    await roles.sync_roles(session, user)
    return user
