"""The clock: APScheduler wakes the bot; the `scheduled_jobs` table says what is due.

Every process runs a heartbeat that takes or renews a lease in the database; only the lease
holder looks for due jobs, so with several webhook replicas exactly one schedules. If it dies,
its lease expires and another process takes over within `lease_ttl`.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Mapping
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import ScheduledJob
from models.base import utcnow
from scheduler import jobs, lease
from scheduler.kinds import LATE_AFTER, JobHandler, JobSpec

__all__ = ["JobHandler", "JobSpec", "Scheduler"]

logger = logging.getLogger("scheduler")

LEASE_NAME = "scheduler"
MAX_ATTEMPTS = 3


def process_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class Scheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        specs: Mapping[str, JobSpec],
        *,
        holder: str | None = None,
        tick_seconds: float = 5.0,
        lease_ttl: timedelta = timedelta(seconds=30),
        timezone: str = "Europe/Moscow",
    ) -> None:
        self.sessionmaker = sessionmaker
        self.specs = dict(specs)
        # Only reminders may be skipped for lateness; everything else runs however late.
        self.skip_after = {
            kind: spec.skip_after for kind, spec in self.specs.items() if spec.skip_after
        }
        self.holder = holder or process_id()
        self.tick_seconds = tick_seconds
        self.lease_ttl = lease_ttl
        self.timezone = timezone
        self.is_leader = False
        self._clock: AsyncIOScheduler | None = None

    async def start(self) -> None:
        self._clock = AsyncIOScheduler(timezone=self.timezone)
        # max_instances=1 and coalesce: a slow tick is never run twice at once or caught up.
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        self._clock.add_job(
            self.heartbeat,
            IntervalTrigger(seconds=max(1.0, self.lease_ttl.total_seconds() / 3)),
            id="heartbeat",
            **common,
        )
        self._clock.add_job(
            self.tick, IntervalTrigger(seconds=self.tick_seconds), id="tick", **common
        )
        self._clock.start()
        # Do not wait for the first interval: jobs that fell due while the bot was down run now.
        await self.heartbeat()
        await self.tick()

    async def stop(self) -> None:
        if self._clock is not None:
            self._clock.shutdown(wait=False)
            self._clock = None
        if self.is_leader:
            async with self.sessionmaker.begin() as session:
                await lease.release(session, LEASE_NAME, self.holder)
            self.is_leader = False

    async def heartbeat(self) -> bool:
        try:
            async with self.sessionmaker.begin() as session:
                leader = await lease.acquire(session, LEASE_NAME, self.holder, self.lease_ttl)
        except Exception:  # a database hiccup: stay a follower until the next beat
            logger.exception("scheduler heartbeat failed")
            leader = False
        if leader != self.is_leader:
            logger.info("scheduler %s is now %s", self.holder, "leader" if leader else "follower")
        self.is_leader = leader
        return leader

    async def tick(self) -> int:
        """Run what is due (only on the leader); returns how many jobs ran."""
        if not self.is_leader:
            return 0
        async with self.sessionmaker.begin() as session:
            claimed = await jobs.claim_due(session, self.holder, skip_after=self.skip_after)
        for job in claimed.missed:
            logger.warning(
                "reminder %s (%s) skipped: its time %s passed too long ago",
                job.id,
                job.kind,
                job.due_at.isoformat(),
            )
        for job in claimed.run:
            await self._run(job.id)
        return len(claimed.run)

    async def _run(self, job_id: int) -> None:
        try:
            async with self.sessionmaker.begin() as session:
                job = await session.get(ScheduledJob, job_id)
                spec = self.specs.get(job.kind) if job else None
                if job is None:
                    return
                if spec is None:
                    await jobs.finish(session, job, {"error": "no handler"}, failed=True)
                    return
                late = utcnow() - job.due_at
                if late > LATE_AFTER:
                    logger.warning(
                        "job %s (%s) runs late: it was due at %s, %s ago",
                        job.id,
                        job.kind,
                        job.due_at.isoformat(),
                        late,
                    )
                result = await spec.handler(session, job)
                if late > LATE_AFTER:
                    result = {**result, "late_seconds": int(late.total_seconds())}
                await jobs.finish(session, job, result)
        except Exception:  # one job's failure must not stop the others
            logger.exception("job %s failed", job_id)
            async with self.sessionmaker.begin() as session:
                job = await session.get(ScheduledJob, job_id)
                if job is not None and job.attempts >= MAX_ATTEMPTS:
                    await jobs.finish(session, job, {"error": "failed"}, failed=True)
                # Otherwise the claim expires and the job is tried again.
