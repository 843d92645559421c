"""The daily digest (opt-in): at 09:00 each subscriber gets the deadlines of the next 7 days
that concern them, and the news of the past day of the needs they filed or support.

A deadline is any pending scheduled job whose payload carries
`{"digest": {"title": "...", "audience": {...}}}`; features (votes, reports, conferences)
add that when they schedule their deadlines.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates, delivery
from bot.i18n import PoI18n
from bot.languages import language_of
from bot.services.needs import notices as need_notices
from bot.services.projects import deadlines as project_deadlines
from models import Delivery, JobStatus, Outbox, OutboxStatus, ScheduledJob, Topic, User
from models.base import utcnow
from scheduler import jobs

KIND = "digest.daily"
HORIZON = timedelta(days=7)
HOUR = 9
# A morning digest later than this (the bot was down) is not sent; the next morning's is.
SEND_WITHIN = timedelta(hours=1)


def next_run(now: datetime, timezone: str, hour: int = HOUR) -> datetime:
    """The next `hour`:00 in the time zone, after `now`."""
    return dates.next_at_hour(now, timezone, hour)


day_number = dates.day_number


async def ensure_scheduled(
    session: AsyncSession, timezone: str, now: datetime | None = None
) -> None:
    """Keep the next digest in the schedule (one job per day, so a restart adds nothing twice)."""
    due = next_run(now or utcnow(), timezone)
    exists = await session.scalar(
        select(ScheduledJob.id).where(
            ScheduledJob.kind == KIND,
            ScheduledJob.object_id == day_number(due, timezone),
        )
    )
    if exists is None:
        await jobs.schedule(session, KIND, "digest", day_number(due, timezone), due)


async def run(
    session: AsyncSession,
    job: ScheduledJob,
    timezone: str,
    default_language: str,
    i18n: PoI18n | None = None,
) -> dict[str, Any]:
    """Send today's digests, each in its reader's language; a person gets at most one digest a
    day, however often this runs; none when it is too late for this morning's. With `i18n`,
    the news of the needs people follow since the last digest go out too (their own message)."""
    now = utcnow()
    if now - job.due_at > SEND_WITHIN:
        await ensure_scheduled(session, timezone, now)
        return {"skipped": "too late"}
    deadlines = (
        await session.scalars(
            select(ScheduledJob)
            .where(
                ScheduledJob.status == JobStatus.PENDING,
                ScheduledJob.due_at > now,
                ScheduledJob.due_at <= now + HORIZON,
                ScheduledJob.kind != KIND,
            )
            .order_by(ScheduledJob.due_at)
        )
    ).all()
    lines: dict[int, list[str]] = defaultdict(list)
    for deadline in deadlines:
        spec = (deadline.payload or {}).get("digest")
        if not spec:
            continue
        audience = delivery.audience_query(spec["audience"], Topic.DIGEST)
        recipients = await session.execute(audience.add_columns(User.language))
        for user_id, language in recipients.all():
            when = dates.format_day_time(
                deadline.due_at, language_of(language, default_language), timezone
            )
            lines[user_id].append(f"• {when} — {spec['title']}")
    if i18n is not None:
        # Projects' deadlines are read now, not fixed when scheduled: their people change.
        ours = await project_deadlines.digest_lines(session, i18n, default_language, timezone, now)
        for user_id, items in ours.items():
            lines[user_id].extend(items)
    sent = await _send_once(session, f"digest:{job.object_id}", "digest-text", lines, now)
    result = {"digests": sent, "deadlines": len(deadlines)}
    if i18n is not None:
        # Since the previous morning's digest, up to this one's time: no news told twice.
        news = await need_notices.digest_lines(
            session, job.due_at - timedelta(days=1), job.due_at, i18n, default_language
        )
        kind = f"digest-needs:{job.object_id}"
        result["needs"] = await _send_once(session, kind, "needs-notice-digest", news, now)
    await session.flush()
    # The next one comes after this one, whenever this one actually ran.
    await ensure_scheduled(session, timezone, max(now, job.due_at))
    return result


async def _send_once(
    session: AsyncSession, kind: str, key: str, lines: dict[int, list[str]], now: datetime
) -> int:
    """One message of `kind` to each person with lines, unless they already have it."""
    sent = 0
    for user_id, items in lines.items():
        already = await session.scalar(
            select(Outbox.id)
            .join(Delivery, Delivery.outbox_id == Outbox.id)
            .where(Outbox.kind == kind, Delivery.user_id == user_id)
        )
        if already is not None:
            continue
        outbox = Outbox(
            kind=kind,
            topic=Topic.DIGEST,
            text_key=key,
            text_params={"lines": "\n".join(items)},
            status=OutboxStatus.SENDING,
            total=1,
            started_at=now,
        )
        session.add(outbox)
        await session.flush()
        session.add(Delivery(outbox_id=outbox.id, user_id=user_id))
        sent += 1
    return sent
