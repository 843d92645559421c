"""Announcements: the executive committee, the presidium and the Secretariat write to a chosen
audience, now or at a set time, and follow the delivery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.delivery import channel
from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.permissions import AUTHORS, SECRETARIAT, has_any_role, require_role
from models import Body, District, Outbox, OutboxStatus, Role, Topic, User
from models.base import utcnow

# Roles an audience can name directly (the first three are offered as one-tap choices).
AUDIENCE_ROLES = (
    Role.CITIZEN,
    Role.REPRESENTATIVE,
    Role.COUNCIL,
    Role.PRESIDIUM,
    Role.COMMITTEE,
    Role.EXECUTIVE,
    Role.SECRETARIAT,
)
LATEST_SEND_AT = timedelta(days=365)


def require_author(actor: User | None) -> User:
    """The executive committee, the presidium and the Secretariat write announcements."""
    return require_role(actor, *AUTHORS)


def toggle(
    audience: Mapping[str, Any], part: str, value: int | str | None = None
) -> dict[str, Any]:
    """The audience with one choice switched: everyone, or a role, a district, a body."""
    result: dict[str, Any] = {
        key: list(val) if isinstance(val, list) else val for key, val in audience.items()
    }
    if part == "everyone":
        if result.get("everyone"):
            result.pop("everyone")
        else:
            result["everyone"] = True
        return result
    valid = (part == "roles" and value in {role.value for role in AUDIENCE_ROLES}) or (
        part in ("districts", "bodies") and isinstance(value, int) and value > 0
    )
    if not valid:
        raise InvalidInput("announcements-bad-audience")
    chosen = set(result.get(part, []))
    chosen ^= {value}
    if chosen:
        result[part] = sorted(chosen, key=str)
    else:
        result.pop(part, None)
    return result


def is_empty(audience: Mapping[str, Any]) -> bool:
    return not any(audience.get(part) for part in delivery.AUDIENCE_KEYS)


@dataclass(frozen=True)
class AudienceNames:
    everyone: bool
    roles: list[Role]
    districts: list[str]
    bodies: list[Body]


async def describe(session: AsyncSession, audience: Mapping[str, Any]) -> AudienceNames:
    """The audience's parts by name, for the preview and the list of announcements."""
    district_ids = [int(d) for d in audience.get("districts", [])]
    body_ids = [int(b) for b in audience.get("bodies", [])]
    districts = (
        (await session.scalars(select(District.name).where(District.id.in_(district_ids)))).all()
        if district_ids
        else []
    )
    bodies = (
        list((await session.scalars(select(Body).where(Body.id.in_(body_ids)))).all())
        if body_ids
        else []
    )
    return AudienceNames(
        everyone=bool(audience.get("everyone")),
        roles=[Role(r) for r in audience.get("roles", []) if r in {role.value for role in Role}],
        districts=list(districts),
        bodies=bodies,
    )


async def count(session: AsyncSession, audience: Mapping[str, Any]) -> int:
    """How many people the announcement would reach now (those who muted announcements do not)."""
    if is_empty(audience):
        return 0
    return await delivery.count_audience(session, audience, Topic.ANNOUNCEMENTS)


def check_send_at(send_at: datetime | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    if send_at is None:
        return
    if send_at <= now:
        raise InvalidInput("announcements-time-past")
    if send_at > now + LATEST_SEND_AT:
        raise InvalidInput("announcements-time-too-far")


async def publish(
    session: AsyncSession,
    author: User | None,
    *,
    html: str,
    audience: Mapping[str, Any],
    media_kind: str | None = None,
    media_file_id: str | None = None,
    send_at: datetime | None = None,
    public: bool = False,
) -> Outbox:
    """Queue an announcement for everyone in the audience, now or at `send_at`; `public`: also
    in the public channel, at the same time (when there is one)."""
    author = require_author(author)
    if not html.strip() and media_file_id is None:
        raise InvalidInput("announcements-empty")
    check_send_at(send_at)
    expected = await count(session, audience)
    if expected == 0:
        raise InvalidInput("announcements-nobody")
    outbox = Outbox(
        kind="announcement",
        topic=Topic.ANNOUNCEMENTS,
        text=html,
        media_kind=media_kind,
        media_file_id=media_file_id,
        author_id=author.id,
        send_at=send_at,
    )
    if delivery.queued_in_background(expected):
        # The author is answered at once; the workers add the recipients in chunks.
        await delivery.enqueue_in_background(session, outbox, audience, expected=expected)
    else:
        await delivery.enqueue(session, outbox, dict(audience))
    posted = public and await channel.post(
        session,
        channel.ANNOUNCEMENT,
        outbox.id,
        text=html,
        media_kind=media_kind,
        media_file_id=media_file_id,
        not_before=send_at,
    )
    await audit.record(
        session,
        author,
        "announcement.publish",
        "outbox",
        outbox.id,
        recipients=outbox.total,
        send_at=send_at.isoformat() if send_at else None,
        public=posted,
    )
    return outbox


def channel_available(session: AsyncSession) -> bool:
    """Whether an announcement can also go to the public channel (PUBLIC_CHANNEL_ID is set)."""
    return channel.configured(session) is not None


async def get_own(session: AsyncSession, actor: User | None, outbox_id: int) -> Outbox:
    """An announcement its author (or the Secretariat, or an admin) may manage."""
    outbox = await session.get(Outbox, outbox_id)
    if outbox is None or outbox.kind != "announcement":
        raise NotFound("announcements-not-found")
    if actor is None or not (outbox.author_id == actor.id or has_any_role(actor, *SECRETARIAT)):
        raise NotAllowed()
    return outbox


async def stop(session: AsyncSession, actor: User | None, outbox_id: int) -> int:
    """Stop what has not gone out yet (its channel post too); returns how many deliveries were
    stopped."""
    outbox = await get_own(session, actor, outbox_id)
    stopped = await delivery.cancel(session, outbox.id)
    await channel.withdraw(session, channel.ANNOUNCEMENT, outbox.id)
    await audit.record(session, actor, "announcement.stop", "outbox", outbox.id, stopped=stopped)
    return stopped


async def attach_status(
    session: AsyncSession, outbox: Outbox, chat_id: int, message_id: int
) -> None:
    """Remember the author's status message, which the delivery progress edits in place."""
    outbox.progress_chat_id = chat_id
    outbox.progress_message_id = message_id
    await session.flush()


async def numbers(session: AsyncSession, outbox_ids: list[int]) -> dict[int, int]:
    """Announcements' own numbers (the first announcement is No. 1), not outbox ids, which
    notices and ballots share: an announcement's place among announcements by id."""
    if not outbox_ids:
        return {}
    first, last = min(outbox_ids), max(outbox_ids)
    before = await session.scalar(
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.kind == "announcement", Outbox.id < first)
    )
    span = await session.scalars(
        select(Outbox.id)
        .where(Outbox.kind == "announcement", Outbox.id >= first, Outbox.id <= last)
        .order_by(Outbox.id)
    )
    place = {outbox_id: (before or 0) + index for index, outbox_id in enumerate(span, start=1)}
    return {outbox_id: place[outbox_id] for outbox_id in outbox_ids if outbox_id in place}


async def number(session: AsyncSession, outbox: Outbox) -> int:
    """One announcement's own number."""
    return (await numbers(session, [outbox.id])).get(outbox.id, outbox.id)


@dataclass(frozen=True)
class Listed:
    outbox: Outbox
    number: int
    progress: delivery.Progress


async def recent(session: AsyncSession, actor: User | None, limit: int = 10) -> list[Listed]:
    """The latest announcements with their own numbers and delivery figures."""
    require_author(actor)
    rows = list(
        await session.scalars(
            select(Outbox)
            .where(Outbox.kind == "announcement", Outbox.status != OutboxStatus.DRAFT)
            .order_by(Outbox.id.desc())
            .limit(limit)
        )
    )
    own = await numbers(session, [outbox.id for outbox in rows])
    return [
        Listed(outbox, own[outbox.id], await delivery.progress(session, outbox.id))
        for outbox in rows
    ]
