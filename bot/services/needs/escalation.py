"""A new need that waits too long for a decision: its district's base organization is reminded
after NEED_REMIND_BASE_DAYS, and the Secretariat is told after NEED_ESCALATE_DAYS.

Both are scheduler jobs tied to the need (scheduler/jobs.py), so each fires once, also across a
restart, and runs however late (it records a NeedEvent). A decision meanwhile cancels them; a job
that finds the need decided anyway does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.needs import access
from bot.services.needs import notices as need_notices
from models import ScheduledJob
from models.base import utcnow
from models.needs import Need, NeedEvent, NeedEventKind, NeedStatus
from scheduler import jobs

REMIND_BASE_KIND = "need.remind_base"
ESCALATE_KIND = "need.escalate"
OBJECT = "need"


async def schedule(session: AsyncSession, need: Need, remind_days: int, escalate_days: int) -> None:
    """Call once a need is filed: its reminder and its escalation are scheduled."""
    start = need.created_at or utcnow()
    await jobs.schedule(
        session, REMIND_BASE_KIND, OBJECT, need.id, start + timedelta(days=remind_days)
    )
    await jobs.schedule(
        session, ESCALATE_KIND, OBJECT, need.id, start + timedelta(days=escalate_days)
    )


async def cancel(session: AsyncSession, need_id: int) -> None:
    """A decision was taken: nobody needs reminding."""
    await jobs.cancel(session, OBJECT, need_id, REMIND_BASE_KIND)
    await jobs.cancel(session, OBJECT, need_id, ESCALATE_KIND)


async def catch_up(
    session: AsyncSession, remind_days: int, escalate_days: int, now: datetime | None = None
) -> int:
    """At start: every new need without its jobs (filed by a path that did not schedule them,
    or before this capability existed) gets them. A job that already ran is not made again."""
    scheduled = select(ScheduledJob.object_id).where(
        ScheduledJob.object_type == OBJECT, ScheduledJob.kind == ESCALATE_KIND
    )
    rows = await session.scalars(
        select(Need).where(Need.status == NeedStatus.NEW, Need.id.not_in(scheduled))
    )
    made = 0
    for need in rows:
        await schedule(session, need, remind_days, escalate_days)
        made += 1
    return made


async def _waiting(session: AsyncSession, job: ScheduledJob) -> Need | None:
    need = await session.get(Need, job.object_id) if job.object_id is not None else None
    if need is None or need.status != NeedStatus.NEW or need.decided_at is not None:
        return None
    return need


async def _record(session: AsyncSession, need: Need, level: str) -> None:
    session.add(NeedEvent(need_id=need.id, kind=NeedEventKind.ESCALATED, public=False, text=level))
    await session.flush()


async def run_remind_base(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
    """Days without a decision: the district's base organization is reminded."""
    need = await _waiting(session, job)
    if need is None:
        return {"skipped": "decided"}
    base = await access.base_organization(session, need.district_id)
    people = await need_notices.base_representatives(session, base.id) if base else []
    await _record(session, need, "base")
    await audit.record(session, None, "need.remind_base", "need", need.id)
    if not people:
        # No base organization to remind: the Secretariat hears of it now, not days later.
        people = await need_notices.secretariat(session)
    await need_notices.to_people(
        session, people, need, "needs-escalate-remind-base", days=_days(need)
    )
    return {"notified": len(people)}


async def run_escalate(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
    """Still no decision: the Secretariat is told."""
    need = await _waiting(session, job)
    if need is None:
        return {"skipped": "decided"}
    people = await need_notices.secretariat(session)
    await _record(session, need, "secretariat")
    await audit.record(session, None, "need.escalate", "need", need.id)
    await need_notices.to_people(
        session, people, need, "needs-escalate-secretariat", days=_days(need)
    )
    return {"notified": len(people)}


def _days(need: Need) -> int:
    return max(1, (utcnow() - need.created_at).days)
