"""Witnesses: the chain's head (an entry's number and signature) sent to the admins, daily, every
N entries and at start. The copy that matters is the message in their Telegram chats, out of
reach of whoever controls the database; the row kept here lets /audit compare by itself, and a
pasted code checks the chain against the admins' own copy when the rows were tampered with too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates, delivery
from bot.delivery import channel
from models import AuditWitness, JobStatus, Outbox, Role, ScheduledJob, Topic
from models.base import utcnow
from scheduler import jobs

KIND = "audit.witness"
HOUR = 9
# Why a witness was sent.
START, DAILY, EVERY = "start", "daily", "every"
# A code as the witness message shows it: `<entry number>:<signature>`; a prefix of the
# signature (16 hex digits or more) is enough to paste.
CODE = re.compile(r"(\d{1,12})\s*[:#-]\s*([0-9a-fA-F]{16,64})(?![0-9a-fA-F])")


def code(seq: int, mac: str) -> str:
    return f"{seq}:{mac}"


def parse_code(text: str) -> tuple[int, str] | None:
    """The entry number and (part of a) signature in a pasted witness message or code."""
    found = CODE.search(text)
    return (int(found.group(1)), found.group(2).lower()) if found else None


async def heads(session: AsyncSession) -> dict[int, set[str]]:
    """Every witnessed signature, by entry number."""
    rows = await session.execute(select(AuditWitness.seq, AuditWitness.mac))
    witnessed: dict[int, set[str]] = defaultdict(set)
    for seq, mac in rows.all():
        witnessed[seq].add(mac)
    return dict(witnessed)


async def last(session: AsyncSession) -> AuditWitness | None:
    return await session.scalar(
        select(AuditWitness).order_by(AuditWitness.seq.desc(), AuditWitness.id.desc()).limit(1)
    )


# Hex digits of the signature the channel shows: as many as a pasted code needs (CODE).
PUBLIC_PREFIX = 16

ADMINS_AUDIENCE = {"roles": [Role.ADMIN.value]}


async def _to_admins(session: AsyncSession, key: str, **params: str | int) -> None:
    """Queue a notice to every admin who can be written to (none yet: nothing is queued)."""
    if not await delivery.count_audience(session, ADMINS_AUDIENCE, Topic.DUTY):
        return
    # Urgent: a witness is worth something only once it has left the database.
    outbox = Outbox(
        kind=KIND, topic=Topic.DUTY, urgent=True, text_key=key, text_params=dict(params)
    )
    await delivery.enqueue(session, outbox, ADMINS_AUDIENCE)


async def send(session: AsyncSession, seq: int, mac: str, reason: str) -> AuditWitness:
    """Record the head and queue it to every admin; it goes out once the transaction commits."""
    witness = AuditWitness(seq=seq, mac=mac, reason=reason)
    session.add(witness)
    await _to_admins(session, "audit-witness", seq=seq, code=code(seq, mac))
    # And in the public channel, one post edited to the latest head: a copy anyone can compare
    # with what the bot says later (the code's prefix is enough for /audit to check against).
    await channel.post(
        session,
        channel.AUDIT,
        0,
        "channel-audit-head",
        {"seq": seq, "code": code(seq, mac[:PUBLIC_PREFIX]), "witnessed_at": utcnow().isoformat()},
    )
    return witness


async def alarm(session: AsyncSession, broken_at: int) -> None:
    """Tell the admins the chain is broken (and witness nothing: that would vouch for it)."""
    await _to_admins(session, "audit-witness-broken", seq=broken_at)


async def ensure_scheduled(session: AsyncSession, timezone: str, now: datetime) -> None:
    """Keep the next daily witness in the schedule (one job per day: a restart adds nothing)."""
    due = dates.next_at_hour(now, timezone, HOUR)
    day = dates.day_number(due, timezone)
    exists = await session.scalar(
        select(ScheduledJob.id).where(
            ScheduledJob.kind == KIND,
            ScheduledJob.object_id == day,
            ScheduledJob.status != JobStatus.CANCELLED,
        )
    )
    if exists is None:
        await jobs.schedule(session, KIND, "audit", day, due)
