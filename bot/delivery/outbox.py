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


def _insert_for(session: AsyncSession) -> Any:
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


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
    scheduled = outbox.send_at is not None and outbox.send_at > now
    not_before = outbox.send_at if scheduled and outbox.send_at else now
    source = audience_query(outbox.audience, outbox.topic, now=now).with_only_columns(
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
    return created


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
