"""The notices of a meeting, through the delivery engine: published, changed, cancelled; each in
the recipient's language, with the .ics and the answer buttons. Invitations are duty; the news of
a conference for everyone not invited goes on the "conferences" topic they may mute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates, delivery
from bot.delivery import channel
from bot.services.meetings import calendar, roll
from models import Body, Delivery, DeliveryStatus, District, Outbox, OutboxStatus, Topic
from models.base import utcnow
from models.meetings import Meeting, MeetingKind

# The rows of buttons under a meeting's notice ({"text_key" | "text", "data"}): the handlers'
# keyboards make them (answer buttons for the invited, "open" for everyone).
NoticeButtons = Callable[[Meeting, bool], list[list[dict[str, str]]]]

# The channel's post states the conference as it stands (a moved one keeps its agenda), so its
# texts are the channel's own; a notice without one here is posted in its own words.
CHANNEL_KEYS = {
    "meetings-notice-public": "channel-meeting",
    "meetings-notice-public-changed": "channel-meeting-changed",
    "meetings-notice-public-cancelled": "channel-meeting-cancelled",
}


async def params(session: AsyncSession, meeting: Meeting, timezone: str) -> dict[str, Any]:
    """What every notice of a meeting says: what, which body, when, where, the agenda."""
    body = await session.get(Body, meeting.body_id) if meeting.body_id is not None else None
    district = (
        await session.get(District, meeting.district_id)
        if meeting.district_id is not None
        else None
    )
    agenda = calendar.agenda_lines(meeting)
    return {
        "number": meeting.id,
        "kind_key": f"meetings-kind-{meeting.kind.value}",
        "title": meeting.title,
        "body": (body.name or "") if body is not None else "",
        "body_kind_key": (
            f"body-kind-{body.kind.value}" if body is not None else "meetings-body-assembly"
        ),
        "starts_at": dates.moment_param(meeting.starts_at, timezone),
        "ends_at": dates.moment_param(meeting.ends_at, timezone),
        "place": meeting.place or "—",
        "district": district.name if district is not None else "—",
        "agenda": "\n".join(agenda) if agenda else "—",
        "agenda_count": len(agenda),
    }


def attach_calendar(outbox: Outbox, meeting: Meeting) -> Outbox:
    outbox.media_kind = "document"
    outbox.media_data = calendar.ics(meeting, description="\n".join(calendar.agenda_lines(meeting)))
    outbox.media_name = calendar.file_name(meeting)
    return outbox


async def to_invitees(
    session: AsyncSession,
    meeting: Meeting,
    key: str,
    *,
    timezone: str,
    buttons: NoticeButtons | None,
    users: list[int] | None = None,
    extra: dict[str, Any] | None = None,
    with_calendar: bool = True,
    kind: str = "meeting",
) -> Outbox | None:
    """Queue `key` for the invitees (or the named `users` among them), with the .ics and the
    answer buttons; returns the outbox, or None when there is nobody to tell."""
    people = users if users is not None else await roll.invitee_ids(session, meeting.id)
    if not people:
        return None
    outbox = Outbox(
        kind=kind,
        topic=Topic.DUTY,
        text_key=key,
        text_params={**await params(session, meeting, timezone), **(extra or {})},
        buttons=buttons(meeting, True) if buttons is not None else None,
    )
    if with_calendar:
        attach_calendar(outbox, meeting)
    await delivery.enqueue(session, outbox, {"users": people})
    return outbox


async def to_public(
    session: AsyncSession,
    meeting: Meeting,
    key: str,
    *,
    timezone: str,
    buttons: NoticeButtons | None,
    extra: dict[str, Any] | None = None,
) -> Outbox | None:
    """A conference's news for every registered person who keeps the "conferences" topic and is
    not invited (the invited get their own notice), and in the public channel, where one post
    per conference is edited as it changes."""
    if meeting.kind != MeetingKind.CONFERENCE:
        return None
    invited = set(await roll.invitee_ids(session, meeting.id))
    said = {**await params(session, meeting, timezone), **(extra or {})}
    # The public channel's post of the conference says the same, edited as it changes (only
    # when the app has a channel: bot.delivery.channel).
    await channel.post(session, channel.MEETING, meeting.id, CHANNEL_KEYS.get(key, key), said)
    outbox = Outbox(
        kind="meeting",
        topic=Topic.CONFERENCES,
        text_key=key,
        text_params=said,
        buttons=buttons(meeting, False) if buttons is not None else None,
    )
    attach_calendar(outbox, meeting)
    await delivery.enqueue(session, outbox, {"everyone": True})
    if invited:
        # The invited already have their invitation: the public copy is skipped for them.
        await _skip(session, outbox, invited)
    return outbox


async def _skip(session: AsyncSession, outbox: Outbox, user_ids: set[int]) -> None:
    await session.execute(
        update(Delivery)
        .where(
            Delivery.outbox_id == outbox.id,
            Delivery.user_id.in_(sorted(user_ids)),
            Delivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.SKIPPED, error="invited")
    )
    if (await delivery.progress(session, outbox.id)).finished:
        # Everyone it named is invited: nothing is left for a worker, which would otherwise be
        # the one to mark it done.
        outbox.status = OutboxStatus.DONE
        outbox.finished_at = utcnow()
    await session.flush()
