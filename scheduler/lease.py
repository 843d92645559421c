"""A named lease in the database: the one process holding it is the scheduler.

A lease is renewed by its holder and taken over by another process only once it has expired, so
with several replicas exactly one runs the jobs, and a dead one is replaced within the lease's time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected
from models import Lease
from models.base import utcnow


async def acquire(
    session: AsyncSession, name: str, holder: str, ttl: timedelta, *, now: datetime | None = None
) -> bool:
    """Take or renew a named lease; True if `holder` has it now. Another holder's lease is taken
    over only once it has expired (its process died or hangs)."""
    now = now or utcnow()
    result = await session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if affected(result) == 1:
        return True
    if await session.get(Lease, name) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False  # another process created it first
    return True


async def release(session: AsyncSession, name: str, holder: str) -> None:
    await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=utcnow() - timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )
