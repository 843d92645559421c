"""What a person sees of meetings: the lists (/meetings: what is coming and the drafts one
organizes; /meetings_archive: what is over) and the facts a meeting's card shows (the agenda
with its speakers and documents, the answers so far, the decision that convened it).

The lists show what `access.get_for_viewer` would let the person open: a conference to every
registered person once it was published; a body's session to those invited, the body's current
members, its organizers and the Secretariat; a draft to its organizers alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotAllowed
from bot.services.meetings import access, core, roll
from bot.services.paging import Page, page_bounds
from bot.services.permissions import PRESIDIUM, SECRETARIAT, has_any_role
from models import Body, District, Membership, User, Vote
from models.base import utcnow
from models.meetings import (
    AgendaItem,
    AgendaStatus,
    Answer,
    Meeting,
    MeetingFile,
    MeetingInvitee,
    MeetingKind,
    MeetingStatus,
)

PER_PAGE = 8


async def _visible(session: AsyncSession, user: User) -> ColumnElement[bool]:
    """The condition on `Meeting` for what this person may open."""
    if has_any_role(user, *PRESIDIUM):
        # The presidium organizes every meeting (admins pass as well).
        return true()
    now = utcnow()
    organized = [body.id for body in await core.creatable_bodies(session, user)]
    organizes: ColumnElement[bool] = (
        and_(Meeting.kind == MeetingKind.SESSION, Meeting.body_id.in_(organized))
        if organized
        else false()
    )
    if has_any_role(user, *SECRETARIAT):
        seen: ColumnElement[bool] = true()
    else:
        member_of = select(Membership.body_id).where(
            Membership.user_id == user.id,
            (Membership.until.is_(None)) | (Membership.until > now),
        )
        invited = select(MeetingInvitee.meeting_id).where(MeetingInvitee.user_id == user.id)
        seen = or_(
            Meeting.kind == MeetingKind.CONFERENCE,
            Meeting.body_id.in_(member_of),
            Meeting.id.in_(invited),
        )
    # Published at some time: a draft called off before it was published stays its organizers'.
    return or_(and_(Meeting.published_at.is_not(None), seen), organizes)


async def _page(
    session: AsyncSession, condition: ColumnElement[bool], order: Any, page: int, per_page: int
) -> Page[Meeting]:
    total = await session.scalar(select(func.count()).select_from(Meeting).where(condition)) or 0
    page, pages = page_bounds(page, total, per_page)
    rows = await session.scalars(
        select(Meeting)
        .where(condition)
        .order_by(order, Meeting.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    return Page(list(rows), page, pages, total)


def _registered(user: User | None) -> User:
    if user is None or not user.is_registered:
        raise NotAllowed("error-not-registered")
    return user


async def upcoming(
    session: AsyncSession, user: User | None, page: int = 0, per_page: int = PER_PAGE
) -> Page[Meeting]:
    """Published meetings not yet over, and the drafts one organizes, soonest first."""
    user = _registered(user)
    now = utcnow()
    coming = or_(
        Meeting.status == MeetingStatus.DRAFT,
        and_(Meeting.status == MeetingStatus.PUBLISHED, Meeting.ends_at > now),
    )
    condition = and_(coming, await _visible(session, user))
    return await _page(session, condition, Meeting.starts_at.asc(), page, per_page)


async def archive(
    session: AsyncSession, user: User | None, page: int = 0, per_page: int = PER_PAGE
) -> Page[Meeting]:
    """Meetings that are over (held, minuted) or were called off, the latest first."""
    user = _registered(user)
    now = utcnow()
    over = or_(
        Meeting.status.in_((MeetingStatus.MINUTED, MeetingStatus.CANCELLED)),
        and_(Meeting.status == MeetingStatus.PUBLISHED, Meeting.ends_at <= now),
    )
    condition = and_(over, await _visible(session, user))
    return await _page(session, condition, Meeting.starts_at.desc(), page, per_page)


# --- The card ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaLine:
    item: AgendaItem
    speaker: str | None  # a registered person's name, or the name the organizer typed
    files: int


@dataclass(frozen=True)
class Card:
    meeting: Meeting
    viewer: access.Viewer
    body: Body | None
    district: District | None
    agenda: list[AgendaLine]
    # Who recorded the presidium's decision; the council's vote on convening, if one was put.
    decided_by: str | None
    decision_vote: Vote | None
    # The organizers' figure: how many invitees answered what.
    answers: dict[Answer, int] | None


async def agenda(session: AsyncSession, meeting: Meeting) -> list[AgendaLine]:
    """The accepted agenda in its order, each item with its speaker and how many documents."""
    items = [item for item in meeting.agenda if item.status == AgendaStatus.ACCEPTED]
    if not items:
        return []
    ids = [item.id for item in items]
    counted = await session.execute(
        select(MeetingFile.agenda_item_id, func.count())
        .where(MeetingFile.agenda_item_id.in_(ids))
        .group_by(MeetingFile.agenda_item_id)
    )
    counts: dict[int | None, int] = {item_id: n for item_id, n in counted}
    speaker_ids = [item.speaker_id for item in items if item.speaker_id is not None]
    names: dict[int, str | None] = {}
    if speaker_ids:
        found = await session.execute(select(User.id, User.name).where(User.id.in_(speaker_ids)))
        names = {user_id: name for user_id, name in found}
    lines = []
    for item in items:
        speaker = names.get(item.speaker_id) if item.speaker_id is not None else item.speaker_name
        lines.append(AgendaLine(item, speaker, counts.get(item.id, 0)))
    return lines


async def answers(session: AsyncSession, meeting_id: int) -> dict[Answer, int]:
    rows = await session.execute(
        select(MeetingInvitee.answer, func.count())
        .where(MeetingInvitee.meeting_id == meeting_id)
        .group_by(MeetingInvitee.answer)
    )
    found: dict[Answer, int] = {answer: n for answer, n in rows}
    return {answer: found.get(answer, 0) for answer in Answer}


async def card(session: AsyncSession, actor: User | None, meeting_id: int) -> Card:
    """Everything the card shows, for a person who may see the meeting (else NotAllowed)."""
    meeting, seen = await access.get_for_viewer(session, actor, meeting_id)
    body = await session.get(Body, meeting.body_id) if meeting.body_id is not None else None
    district = (
        await session.get(District, meeting.district_id)
        if meeting.district_id is not None
        else None
    )
    decided_by = None
    if meeting.decided_by_id is not None:
        who = await session.get(User, meeting.decided_by_id)
        decided_by = who.name if who is not None else None
    vote = (
        await session.get(Vote, meeting.decision_vote_id)
        if meeting.decision_vote_id is not None
        else None
    )
    counts = await answers(session, meeting.id) if seen.organizer else None
    return Card(
        meeting=meeting,
        viewer=seen,
        body=body,
        district=district,
        agenda=await agenda(session, meeting),
        decided_by=decided_by,
        decision_vote=vote,
        answers=counts,
    )


async def invite_forecast(session: AsyncSession, meeting: Meeting) -> int:
    """How many people publishing would invite now: those the roll expects, and the guests."""
    wanted = set(await roll.expected(session, meeting))
    guests = {guest.id for guest in await core.guests(session, meeting.id)}
    return len(wanted | guests)
