"""One-time links (`/start <token>`): a colleague joining an organization, or a person taking
over the account the Secretariat opened for them."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected
from bot.services.errors import InvalidInput, NotFound
from models import Invite, InviteKind, User
from models.base import utcnow


async def create(
    session: AsyncSession,
    kind: InviteKind,
    created_by: User,
    ttl: timedelta,
    *,
    organization_id: int | None = None,
    user_id: int | None = None,
) -> Invite:
    # 16 random bytes: unguessable, and the link stays well inside the 64 characters of a payload.
    invite = Invite(
        token=secrets.token_urlsafe(16),
        kind=kind,
        organization_id=organization_id,
        user_id=user_id,
        created_by_id=created_by.id,
        expires_at=utcnow() + ttl,
    )
    session.add(invite)
    await session.flush()
    return invite


async def peek(session: AsyncSession, token: str) -> Invite | None:
    return await session.scalar(select(Invite).where(Invite.token == token))


async def claim(session: AsyncSession, token: str, kind: InviteKind, user: User) -> Invite:
    """Use a token: exactly one person can, and only before it expires."""
    invite = await session.scalar(select(Invite).where(Invite.token == token, Invite.kind == kind))
    if invite is None:
        raise NotFound("invites-not-found")
    if invite.used_at is not None:
        raise InvalidInput("invites-used")
    if invite.expires_at <= utcnow():
        raise InvalidInput("invites-expired")
    # Conditional: two people pressing the same link at once cannot both get in.
    result = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=utcnow(), used_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if affected(result) == 0:
        raise InvalidInput("invites-used")
    await session.refresh(invite)
    return invite
