"""Supporting a need ("me too") and taking the support back.

One support per person and need: the primary key of `need_supports` guarantees it, and the
need's `support_count` changes in the same transaction only when a row was really inserted (or
deleted), so a double press or two presses racing each other never count twice.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.db import affected
from bot.services.errors import DomainError
from bot.services.needs.browse import get_need
from bot.services.permissions import require_registered
from models import User
from models.needs import OPEN_STATUSES, Need, NeedSupport


class NeedClosed(DomainError):
    key = "needs-support-closed"


class OwnNeed(DomainError):
    key = "needs-support-own"


async def _count(session: AsyncSession, need: Need) -> int:
    count = await session.scalar(select(Need.support_count).where(Need.id == need.id)) or 0
    # The ORM copy follows the row the UPDATE changed (as loaded, so nothing is written back).
    set_committed_value(need, "support_count", count)
    return count


async def support(session: AsyncSession, user: User | None, need_id: int) -> tuple[Need, bool]:
    """Support an open need; (the need, whether this press added a support)."""
    person = require_registered(user)
    need = await get_need(session, need_id)
    if need.status not in OPEN_STATUSES:
        raise NeedClosed()
    if need.author_id == person.id:
        raise OwnNeed()
    values = {"need_id": need.id, "user_id": person.id}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = affected(
        await session.execute(dialect.insert(NeedSupport).values(values).on_conflict_do_nothing())
    )
    if inserted:
        await session.execute(
            update(Need)
            .where(Need.id == need.id)
            .values(support_count=Need.support_count + 1)
            .execution_options(synchronize_session=False)
        )
    await _count(session, need)
    return need, bool(inserted)


async def take_back(session: AsyncSession, user: User | None, need_id: int) -> tuple[Need, bool]:
    """Take one's support back (in any status: the person stops following the need too);
    (the need, whether a support was removed)."""
    person = require_registered(user)
    need = await get_need(session, need_id)
    removed = affected(
        await session.execute(
            delete(NeedSupport)
            .where(NeedSupport.need_id == need.id, NeedSupport.user_id == person.id)
            .execution_options(synchronize_session=False)
        )
    )
    if removed:
        await session.execute(
            update(Need)
            .where(Need.id == need.id)
            .values(support_count=Need.support_count - 1)
            .execution_options(synchronize_session=False)
        )
    await _count(session, need)
    return need, bool(removed)
