"""The outbox side of delivery: who an audience names, a message queued as one pending row per
recipient, how far it has gone out, and stopping it. The worker (bot/delivery/worker.py) sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected
from bot.delivery import wakeup
from models import (
    Delivery,
    DeliveryStatus,
    Membership,
    Outbox,
    OutboxStatus,
    Role,
    Topic,
    User,
    UserRole,
)
from models.base import UTCDateTime, utcnow

# --- Audiences -----------------------------------------------------------------------------------

AUDIENCE_KEYS = frozenset({"everyone", "roles", "districts", "bodies", "users"})


def audience_query(
    audience: Mapping[str, Any],
    topic: Topic = Topic.ANNOUNCEMENTS,
    *,
    now: datetime | None = None,
) -> Select[int]:
    """Ids of the people an audience names (the union of its parts) who can be written to: with a
    Telegram id, registered, not erased, not blocking the bot, and, unless the topic is duty, not
    muting it."""
    unknown = set(audience) - AUDIENCE_KEYS
    if unknown:
        raise ValueError(f"unknown audience parts: {sorted(unknown)}")
    now = now or utcnow()
    parts: list[ColumnElement[bool]] = []
    if audience.get("everyone"):
        parts.append(true())
    if roles := audience.get("roles"):
        wanted = [Role(role) for role in roles]
        parts.append(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(wanted))))
    if districts := audience.get("districts"):
        parts.append(User.district_id.in_([int(d) for d in districts]))
    if people := audience.get("users"):
        # Named people: a notice about their own application, membership, vote.
        parts.append(User.id.in_([int(u) for u in people]))
    if bodies := audience.get("bodies"):
        current = or_(Membership.until.is_(None), Membership.until > now)
        members = select(Membership.user_id).where(
            Membership.body_id.in_([int(b) for b in bodies]), current
        )
        parts.append(User.id.in_(members))
    query = select(User.id).where(
        or_(*parts) if parts else false(),
        User.telegram_id.is_not(None),
        # Someone who consented but never finished registering has not joined anything yet.
        User.registered_at.is_not(None),
        User.deleted_at.is_(None),
        User.blocked_at.is_(None),
    )
    if Topic(topic) is not Topic.DUTY:
        # preferences.receives, in SQL. The JSON list is matched as text so that one query
        # serves SQLite and PostgreSQL; topics are plain words, so '"digest"' matches only
        # the element "digest".
        muted = cast(User.muted_topics, Text).contains(f'"{Topic(topic).value}"', autoescape=True)
        query = query.where(~muted)
    return query


async def count_audience(
    session: AsyncSession, audience: Mapping[str, Any], topic: Topic = Topic.ANNOUNCEMENTS
) -> int:
    """How many people a message to this audience on this topic would reach now."""
    recipients = audience_query(audience, topic).subquery()
    return await session.scalar(select(func.count()).select_from(recipients)) or 0


# --- Enqueueing, progress, cancelling ------------------------------------------------------------

# Recipients added per transaction to a message queued in the background: a short hold of
# SQLite's single writer lock (tens of milliseconds), so nobody's tap waits behind it.
QUEUE_CHUNK = 5000


def _insert_for(session: AsyncSession) -> Any:
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def _timing(outbox: Outbox, now: datetime) -> tuple[bool, datetime]:
    """Whether the message waits for its send_at, and from when its deliveries are due."""
    scheduled = outbox.send_at is not None and outbox.send_at > now
    return scheduled, outbox.send_at if scheduled and outbox.send_at else now


async def _insert(
    session: AsyncSession, outbox: Outbox, recipients: Select[Any], now: datetime
) -> int:
    """A pending delivery for each of `recipients` (a select of user ids) who has none yet."""
    _scheduled, not_before = _timing(outbox, now)
    source = recipients.with_only_columns(
        literal(outbox.id),
        User.id,
        literal(DeliveryStatus.PENDING, Delivery.__table__.c.status.type),
        literal(not_before, UTCDateTime()),
        literal(0),
        literal(now, UTCDateTime()),
    )
    columns = ["outbox_id", "user_id", "status", "not_before", "attempts", "updated_at"]
    # One statement, run inside the database: memory does not grow with the audience.
    statement = (
        _insert_for(session)(Delivery)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["outbox_id", "user_id"])
    )
    created = affected(await session.execute(statement))
    if created:
        wakeup.queued(session.sync_session)
    return created


async def enqueue(
    session: AsyncSession, outbox: Outbox, audience: Mapping[str, Any] | None = None
) -> int:
    """Each recipient gets one pending delivery however often this runs (held until send_at when
    that is in the future), and the count of new ones is returned; the caller commits."""
    if outbox.status == OutboxStatus.CANCELLED:
        raise ValueError("a cancelled message cannot be sent")
    if audience is not None:
        outbox.audience = dict(audience)
    session.add(outbox)
    await session.flush()
    now = utcnow()
    created = await _insert(session, outbox, audience_query(outbox.audience, outbox.topic), now)
    await _settle(session, outbox, now)
    return created


async def enqueue_in_background(
    session: AsyncSession, outbox: Outbox, audience: Mapping[str, Any], *, expected: int
) -> None:
    """Queue a message for a large audience without making anyone wait: it is saved as QUEUING
    with its audience, and the delivery workers add its recipients QUEUE_CHUNK at a time
    (queue_next_chunk), each chunk a short transaction of its own, sending the first while the
    rest are added. `expected` (the audience counted now) is its total until the last chunk."""
    outbox.audience = dict(audience)
    outbox.status = OutboxStatus.QUEUING
    outbox.total = expected
    outbox.queued_up_to = 0
    session.add(outbox)
    await session.flush()
    wakeup.queued(session.sync_session)


async def queuing(session: AsyncSession) -> list[int]:
    """The messages whose recipients are being added, oldest first."""
    rows = await session.scalars(
        select(Outbox.id).where(Outbox.status == OutboxStatus.QUEUING).order_by(Outbox.id)
    )
    return list(rows)


def queued_in_background(expected: int) -> bool:
    """Whether a message for this many people is queued by the workers rather than at once."""
    return expected > QUEUE_CHUNK


async def queue_next_chunk(session: AsyncSession, outbox_id: int, size: int | None = None) -> bool:
    """Add the next `size` (QUEUE_CHUNK) recipients, by id, of a message being queued; returns
    whether any
    remain. After the last chunk the message is sending (or scheduled, or done). Two workers
    doing this at once add nobody twice: a recipient has one delivery per message."""
    outbox = await session.get(Outbox, outbox_id, with_for_update=True)
    if outbox is None or outbox.status != OutboxStatus.QUEUING:
        return False  # cancelled meanwhile, or finished by another worker
    now = utcnow()
    after = outbox.queued_up_to or 0
    rest = audience_query(outbox.audience, outbox.topic, now=now).where(User.id > after)
    chunk = rest.order_by(User.id).limit(size or QUEUE_CHUNK).subquery()
    upper = await session.scalar(select(func.max(chunk.c.id)))
    if upper is not None:
        await _insert(session, outbox, rest.where(User.id <= upper), now)
        outbox.queued_up_to = upper
        await session.flush()
        return True
    outbox.queued_up_to = None
    await _settle(session, outbox, now)
    return False


async def _settle(session: AsyncSession, outbox: Outbox, now: datetime) -> None:
    """The message's total and status once all its recipients are queued."""
    scheduled, _not_before = _timing(outbox, now)
    counts = await _counts(session, outbox.id)
    outbox.total = sum(counts.values())
    if counts.get(DeliveryStatus.PENDING, 0) == 0:
        outbox.status = OutboxStatus.DONE
        outbox.finished_at = outbox.finished_at or now
    else:
        outbox.status = OutboxStatus.SCHEDULED if scheduled else OutboxStatus.SENDING
        outbox.finished_at = None
        if not scheduled and outbox.started_at is None:
            outbox.started_at = now
    await session.flush()


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    pending: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


async def _counts(session: AsyncSession, outbox_id: int) -> dict[DeliveryStatus, int]:
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.outbox_id == outbox_id)
        .group_by(Delivery.status)
    )
    return {DeliveryStatus(status): count for status, count in rows}


async def progress(session: AsyncSession, outbox_id: int) -> Progress:
    """How far a message has gone out, counted per delivery status in one query."""
    counts = await _counts(session, outbox_id)
    return Progress(
        total=sum(counts.values()),
        sent=counts.get(DeliveryStatus.SENT, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        blocked=counts.get(DeliveryStatus.BLOCKED, 0),
        skipped=counts.get(DeliveryStatus.SKIPPED, 0),
        pending=counts.get(DeliveryStatus.PENDING, 0),
    )


async def cancel(session: AsyncSession, outbox_id: int) -> int:
    """Whatever has not gone out is skipped, even rows a worker holds, and a finished message
    stays done; returns how many were stopped, and the caller commits."""
    outbox = await session.get(Outbox, outbox_id)
    if outbox is None or outbox.status in (OutboxStatus.DONE, OutboxStatus.CANCELLED):
        return 0
    now = utcnow()
    result = await session.execute(
        update(Delivery)
        .where(Delivery.outbox_id == outbox_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, error="cancelled", updated_at=now)
    )
    outbox.status = OutboxStatus.CANCELLED
    outbox.finished_at = now
    await session.flush()
    return affected(result)
