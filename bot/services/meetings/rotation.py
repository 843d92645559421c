"""Conferences are held in turn in different districts (Regulations, item 6): the bot proposes
the district that hosted a conference longest ago, or never, and says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import District
from models.meetings import Meeting, MeetingKind, MeetingStatus

# Conferences that count as held or to be held in a district (a cancelled one hosted nothing).
HOSTING = (MeetingStatus.PUBLISHED, MeetingStatus.MINUTED)


@dataclass(frozen=True)
class Turn:
    district: District
    # When it last hosted a conference (the latest start), or None: never.
    last_hosted: datetime | None


async def turns(session: AsyncSession, *, exclude_meeting: int | None = None) -> list[Turn]:
    """Every district in the order of the rotation: never hosted first (by number), then the
    one that hosted longest ago."""
    last = (
        select(Meeting.district_id, func.max(Meeting.starts_at).label("last"))
        .where(
            Meeting.kind == MeetingKind.CONFERENCE,
            Meeting.status.in_(HOSTING),
            Meeting.district_id.is_not(None),
            Meeting.id != (exclude_meeting or 0),
        )
        .group_by(Meeting.district_id)
        .subquery()
    )
    rows = await session.execute(
        select(District, last.c.last)
        .outerjoin(last, last.c.district_id == District.id)
        .order_by(last.c.last.is_not(None), last.c.last, District.number)
    )
    return [Turn(district, hosted) for district, hosted in rows]


async def suggest(session: AsyncSession, *, exclude_meeting: int | None = None) -> Turn | None:
    """The district whose turn it is, or None when no district exists."""
    ordered = await turns(session, exclude_meeting=exclude_meeting)
    return ordered[0] if ordered else None
