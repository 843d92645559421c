"""The audit log as admins read it: whether the chain is intact, and the latest entries with the
names of who made them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.audit import Verification
from bot.services.permissions import require_role
from models import Role, User

LATEST = 10


@dataclass(frozen=True)
class Line:
    seq: int
    at: datetime
    actor: str | None  # the actor's name; None for the system or an erased or nameless person
    action: str
    object_type: str
    object_id: int | None


@dataclass(frozen=True)
class Report:
    verification: Verification
    latest: list[Line]


async def report(session: AsyncSession, actor: User | None, limit: int = LATEST) -> Report:
    """Verify the whole chain and list the latest entries; for admins only."""
    require_role(actor, Role.ADMIN)
    verification = await audit.verify(session)
    entries = await audit.latest(session, limit)
    ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    names: dict[int, str | None] = {}
    if ids:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        names = {user_id: name for user_id, name in rows.all()}
    lines = [
        Line(
            seq=entry.seq,
            at=entry.at,
            actor=names.get(entry.actor_id) if entry.actor_id is not None else None,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
        )
        for entry in entries
    ]
    return Report(verification, lines)
