"""What is due, as data: reminders and deadlines tied to objects, claimed and run once.

The database is the source of truth; APScheduler (`scheduler.runner`) is only the clock that wakes
the bot to look at it. A job is claimed with a conditional update, so two processes — or a job run
twice — never do its work twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected
from models import JobStatus, ScheduledJob
from models.base import utcnow


async def schedule(
    session: AsyncSession,
    kind: str,
    object_type: str,
    object_id: int | None,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
) -> ScheduledJob:
    """Schedule `kind` for an object; scheduling it again for the same object moves it."""
    job = await session.scalar(
        select(ScheduledJob).where(
            ScheduledJob.kind == kind,
            ScheduledJob.object_type == object_type,
            ScheduledJob.object_id == object_id,
            ScheduledJob.status == JobStatus.PENDING,
        )
    )
    if job is None:
        job = ScheduledJob(kind=kind, object_type=object_type, object_id=object_id, due_at=due_at)
        session.add(job)
    job.due_at = due_at
    job.payload = dict(payload or {})
    await session.flush()
    return job


async def reschedule(
    session: AsyncSession, kind: str, object_type: str, object_id: int | None, due_at: datetime
) -> int:
    """Move the pending jobs of `kind` for an object to a new time; returns how many moved."""
    result = await session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.kind == kind,
            ScheduledJob.object_type == object_type,
            ScheduledJob.object_id == object_id,
            ScheduledJob.status == JobStatus.PENDING,
        )
        .values(due_at=due_at)
    )
    return affected(result)


async def cancel(
    session: AsyncSession, object_type: str, object_id: int | None, kind: str | None = None
) -> int:
    """Cancel an object's pending jobs (all kinds, or one)."""
    statement = update(ScheduledJob).where(
        ScheduledJob.object_type == object_type,
        ScheduledJob.object_id == object_id,
        ScheduledJob.status == JobStatus.PENDING,
    )
    if kind is not None:
        statement = statement.where(ScheduledJob.kind == kind)
    result = await session.execute(statement.values(status=JobStatus.CANCELLED))
    return affected(result)


async def pending_for(
    session: AsyncSession, object_type: str, object_id: int
) -> list[ScheduledJob]:
    rows = await session.scalars(
        select(ScheduledJob)
        .where(
            ScheduledJob.object_type == object_type,
            ScheduledJob.object_id == object_id,
            ScheduledJob.status == JobStatus.PENDING,
        )
        .order_by(ScheduledJob.due_at)
    )
    return list(rows)


@dataclass(frozen=True)
class Claimed:
    run: list[ScheduledJob]
    missed: list[ScheduledJob]


async def claim_due(
    session: AsyncSession,
    worker: str,
    *,
    now: datetime | None = None,
    skip_after: Mapping[str, timedelta] | None = None,
    lease: timedelta = timedelta(minutes=5),
    limit: int = 100,
) -> Claimed:
    """Take the jobs that are due, claimed by `worker` (a job whose claim expired — its worker
    died — is due again). Only the kinds in `skip_after` (reminders) are recorded as missed when
    later than their limit; every other job runs, however late."""
    now = now or utcnow()
    skip_after = skip_after or {}
    due = (
        await session.scalars(
            select(ScheduledJob)
            .where(
                ScheduledJob.due_at <= now,
                or_(
                    ScheduledJob.status == JobStatus.PENDING,
                    (ScheduledJob.status == JobStatus.RUNNING) & (ScheduledJob.claimed_until < now),
                ),
            )
            .order_by(ScheduledJob.due_at, ScheduledJob.id)
            .limit(limit)
        )
    ).all()
    run: list[ScheduledJob] = []
    missed: list[ScheduledJob] = []
    for job in due:
        limit_for_kind = skip_after.get(job.kind)
        # Measured from its time, not from a claim: a reminder claimed by a process that died
        # is as late as one nobody claimed.
        late = limit_for_kind is not None and job.due_at < now - limit_for_kind
        values: dict[str, Any] = (
            {"status": JobStatus.MISSED, "finished_at": now, "claimed_until": None}
            if late
            else {
                "status": JobStatus.RUNNING,
                "claimed_by": worker,
                "claimed_until": now + lease,
                "attempts": job.attempts + 1,
            }
        )
        # Conditional on what we read: if another process took it meanwhile, we get 0 rows.
        result = await session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.id == job.id,
                ScheduledJob.status == job.status,
                ScheduledJob.attempts == job.attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if affected(result) == 1:
            await session.refresh(job)
            (missed if late else run).append(job)
    return Claimed(run, missed)


async def finish(
    session: AsyncSession, job: ScheduledJob, result: dict[str, Any], *, failed: bool = False
) -> None:
    """Record what a job did; it will not run again."""
    job.status = JobStatus.FAILED if failed else JobStatus.DONE
    job.result = result
    job.finished_at = utcnow()
    job.claimed_until = None
    await session.flush()
