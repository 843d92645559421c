"""The yearly rule: the council convenes the conference at least once a year (Regulations).

When no conference has been held or scheduled within 11 months of the last one (the start of
the latest conference announced or held), the presidium and the Secretariat are reminded, once
a week, until one is announced. A draft or a cancelled conference does not count. With no
conference on record at all, the 11 months count from the bot's first start (the first yearly
check it scheduled): a new installation is not nagged on its first day, and an Assembly that
has run the bot for 11 months without a conference in it is reminded.

A daily check at 10:00 Moscow time decides; each check records in its result when the last
reminder went out, so the next one knows whether a week has passed (also after a restart)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services import roles
from bot.services.notices import notify
from models import JobStatus, Role, ScheduledJob, User
from models.base import utcnow
from models.meetings import Meeting, MeetingKind, MeetingStatus
from scheduler import jobs

KIND = "meeting.yearly_check"
SUBJECT = "assembly"
HOUR = 10
LAPSE_MONTHS = 11
EVERY_DAYS = 7
COUNTED = (MeetingStatus.PUBLISHED, MeetingStatus.MINUTED)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Status:
    due: bool
    last: datetime | None  # the latest conference's start; None: there has been none
    counted_from: datetime
    due_at: datetime


async def last_conference(session: AsyncSession) -> datetime | None:
    found: datetime | None = await session.scalar(
        select(func.max(Meeting.starts_at)).where(
            Meeting.kind == MeetingKind.CONFERENCE, Meeting.status.in_(COUNTED)
        )
    )
    return found


async def first_start(session: AsyncSession) -> datetime | None:
    found: datetime | None = await session.scalar(
        select(ScheduledJob.created_at)
        .where(ScheduledJob.kind == KIND)
        .order_by(ScheduledJob.created_at)
        .limit(1)
    )
    return found


async def status(session: AsyncSession, now: datetime | None = None) -> Status:
    now = now or utcnow()
    last = await last_conference(session)
    counted_from = last or await first_start(session) or now
    due_at = add_months(counted_from, LAPSE_MONTHS)
    return Status(due=now >= due_at, last=last, counted_from=counted_from, due_at=due_at)


async def ensure_scheduled(
    session: AsyncSession, timezone: str, now: datetime | None = None
) -> None:
    """Keep one check in the schedule: the next 10:00 (a restart adds nothing twice)."""
    pending = await session.scalar(
        select(ScheduledJob.id).where(
            ScheduledJob.kind == KIND, ScheduledJob.status == JobStatus.PENDING
        )
    )
    if pending is not None:
        return
    due = dates.next_at_hour(now or utcnow(), timezone, HOUR)
    day = dates.day_number(due, timezone)
    exists = await session.scalar(
        select(ScheduledJob.id).where(ScheduledJob.kind == KIND, ScheduledJob.object_id == day)
    )
    if exists is None:
        await jobs.schedule(session, KIND, SUBJECT, day, due)


async def last_reminded(session: AsyncSession) -> datetime | None:
    """When the latest reminder went out, as the latest finished check recorded it."""
    result = await session.scalar(
        select(ScheduledJob.result)
        .where(ScheduledJob.kind == KIND, ScheduledJob.status == JobStatus.DONE)
        .order_by(ScheduledJob.finished_at.desc(), ScheduledJob.id.desc())
        .limit(1)
    )
    value = (result or {}).get("reminded_at")
    return datetime.fromisoformat(value) if value else None


async def recipients(session: AsyncSession) -> list[User]:
    people: dict[int, User] = {}
    for role in (Role.PRESIDIUM, Role.SECRETARIAT):
        for holder in await roles.holders(session, role):
            people.setdefault(holder.id, holder)
    return list(people.values())


async def run(session: AsyncSession, job: ScheduledJob, *, timezone: str) -> dict[str, Any]:
    """Remind the presidium and the Secretariat when the rule is due and a week has passed
    since the last reminder; then put the next day's check in the schedule."""
    now = utcnow()
    found = await status(session, now)
    result: dict[str, Any] = {"due": found.due, "reminded_at": None}
    if found.due:
        previous = await last_reminded(session)
        days = (
            None
            if previous is None
            else (dates.local_day(now, timezone) - dates.local_day(previous, timezone)).days
        )
        if days is not None and days < EVERY_DAYS:
            result["reminded_at"] = previous.isoformat() if previous else None
            result["skipped"] = "reminded this week"
        else:
            people = await recipients(session)
            if found.last is not None:
                await notify(
                    session,
                    people,
                    "meetings-yearly-remind",
                    last_at=dates.moment_param(found.last, timezone),
                )
            else:
                await notify(
                    session,
                    people,
                    "meetings-yearly-remind-never",
                    since_at=dates.moment_param(found.counted_from, timezone),
                )
            result["reminded_at"] = now.isoformat()
            result["reminded"] = len(people)
    # The next one comes after this one, whenever this one actually ran.
    await ensure_scheduled(session, timezone, max(now, job.due_at) + timedelta(seconds=1))
    return result
