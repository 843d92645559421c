"""The documents of an agenda item (a draft resolution, a report, a photo of a plan): sent to
the bot by the organizer and kept by their Telegram file id, so the bot can send them on to
anyone who may see the meeting."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import InvalidInput, NotFound
from bot.services.meetings import access
from models import User
from models.meetings import AgendaItem, AgendaStatus, Meeting, MeetingFile, MeetingStatus

FILES_PER_ITEM = 10
NAME_MAX = 200
KINDS = ("document", "photo")


async def _item(session: AsyncSession, meeting: Meeting, item_id: int) -> AgendaItem:
    item = await session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound("meetings-item-not-found")
    return item


async def count(session: AsyncSession, item_id: int) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(MeetingFile)
            .where(MeetingFile.agenda_item_id == item_id)
        )
        or 0
    )


async def add(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    item_id: int,
    *,
    kind: str,
    file_id: str,
    name: str | None = None,
) -> int:
    """Attach a document or a photo to an agenda item (its organizers, until the meeting is
    over), at most FILES_PER_ITEM an item; returns how many the item has now."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED):
        raise InvalidInput("meetings-closed")
    if kind not in KINDS or not file_id:
        raise InvalidInput("meetings-convene-files-hint")
    item = await _item(session, meeting, item_id)
    held = await count(session, item.id)
    if held >= FILES_PER_ITEM:
        raise InvalidInput("meetings-convene-files-limit", max=FILES_PER_ITEM)
    session.add(
        MeetingFile(
            meeting_id=meeting.id,
            agenda_item_id=item.id,
            kind=kind,
            file_id=file_id,
            name=(name or "")[:NAME_MAX] or None,
            added_by_id=actor.id if actor else None,
        )
    )
    await session.flush()
    await audit.record(session, actor, "meeting.add_file", "meeting", meeting.id, item=item.id)
    return held + 1


async def of_meeting(
    session: AsyncSession, actor: User | None, meeting_id: int
) -> tuple[Meeting, list[tuple[AgendaItem, list[MeetingFile]]]]:
    """The documents of each accepted item, for a person who may see the meeting."""
    meeting, _ = await access.get_for_viewer(session, actor, meeting_id)
    rows = list(
        await session.scalars(
            select(MeetingFile).where(MeetingFile.meeting_id == meeting.id).order_by(MeetingFile.id)
        )
    )
    by_item: dict[int | None, list[MeetingFile]] = {}
    for row in rows:
        by_item.setdefault(row.agenda_item_id, []).append(row)
    accepted = [item for item in meeting.agenda if item.status == AgendaStatus.ACCEPTED]
    return meeting, [(item, by_item[item.id]) for item in accepted if item.id in by_item]
