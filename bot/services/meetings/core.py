"""A meeting's life as its organizer leads it: a draft with its agenda and guests; publishing
(who is invited is fixed, each gets a notice with the .ics, the reminders are scheduled); a
change of time or place (everyone invited is told, the calendar event is replaced); a
cancellation. Every move is checked by `rules.require_move` and recorded in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.meetings import access, notify, reminders, roll, rules
from bot.services.meetings.notify import NoticeButtons
from bot.services.votes.access import organizable_bodies
from models import Body, District, Quorum, User
from models.base import utcnow
from models.meetings import (
    AgendaItem,
    AgendaStatus,
    InviteReason,
    Meeting,
    MeetingInvitee,
    MeetingKind,
    MeetingStatus,
)


@dataclass
class MeetingInput:
    kind: MeetingKind
    title: str
    starts_at: datetime
    body_id: int | None = None  # the body that sits; None for a conference
    ends_at: datetime | None = None  # default: rules.DEFAULT_DURATION after the start
    place: str = ""
    district_id: int | None = None
    agenda_deadline: datetime | None = None
    votes_planned: bool = False
    quorum: Quorum = Quorum.MORE_THAN_HALF


async def creatable_bodies(session: AsyncSession, actor: User | None) -> list[Body]:
    """The bodies whose sessions this person may call (the same as whose votes they organize)."""
    return await organizable_bodies(session, actor)


async def create(session: AsyncSession, actor: User | None, data: MeetingInput) -> Meeting:
    """A meeting in draft: nobody but its organizers sees it until it is published."""
    if actor is None:
        raise NotAllowed()
    body_id: int | None = None
    if data.kind == MeetingKind.CONFERENCE:
        if not access.convenes_conferences(actor):
            raise NotAllowed()
    else:
        allowed = {body.id for body in await creatable_bodies(session, actor)}
        if data.body_id is None or data.body_id not in allowed:
            raise NotAllowed()
        body_id = data.body_id
    title = rules.clean_line(data.title, rules.TITLE_MAX, "meetings-bad-title")
    starts_at = rules.check_start(data.starts_at)
    ends_at = rules.check_end(starts_at, data.ends_at or starts_at + rules.DEFAULT_DURATION)
    place = " ".join(data.place.split())
    if len(place) > rules.PLACE_MAX:
        raise InvalidInput("meetings-bad-place", max=rules.PLACE_MAX)
    if data.district_id is not None and await session.get(District, data.district_id) is None:
        raise NotFound("districts-not-found")
    if data.agenda_deadline is not None and data.agenda_deadline >= starts_at:
        raise InvalidInput("meetings-bad-agenda-deadline")
    meeting = Meeting(
        kind=data.kind,
        body_id=body_id,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        district_id=data.district_id,
        agenda_deadline=data.agenda_deadline,
        votes_planned=data.votes_planned,
        quorum=data.quorum,
        created_by_id=actor.id,
        agenda=[],
    )
    session.add(meeting)
    await session.flush()
    await audit.record(
        session, actor, "meeting.create", "meeting", meeting.id, kind=data.kind.value, title=title
    )
    return meeting


async def edit(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    *,
    title: str | None = None,
    agenda_deadline: datetime | None = None,
    votes_planned: bool | None = None,
    quorum: Quorum | None = None,
) -> Meeting:
    """What may change without telling anyone: the title while a draft; the proposals' deadline,
    whether votes are planned and their quorum until the minutes."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED):
        raise InvalidInput("meetings-closed")
    if title is not None:
        if meeting.status != MeetingStatus.DRAFT:
            raise InvalidInput("meetings-title-fixed")
        meeting.title = rules.clean_line(title, rules.TITLE_MAX, "meetings-bad-title")
    if agenda_deadline is not None:
        if agenda_deadline >= meeting.starts_at:
            raise InvalidInput("meetings-bad-agenda-deadline")
        meeting.agenda_deadline = agenda_deadline
    if votes_planned is not None:
        meeting.votes_planned = votes_planned
    if quorum is not None:
        meeting.quorum = quorum
    await session.flush()
    await audit.record(session, actor, "meeting.edit", "meeting", meeting.id)
    return meeting


# --- The agenda and the guests, by the organizer --------------------------------------------


async def add_item(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    title: str,
    *,
    speaker_id: int | None = None,
    speaker_name: str | None = None,
) -> AgendaItem:
    """An item on the agenda, with its speaker (a registered person or a typed name)."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED):
        raise InvalidInput("meetings-closed")
    accepted = [item for item in meeting.agenda if item.status == AgendaStatus.ACCEPTED]
    if len(accepted) >= rules.AGENDA_MAX:
        raise InvalidInput("meetings-agenda-full", max=rules.AGENDA_MAX)
    item = AgendaItem(
        meeting_id=meeting.id,
        position=await _next_position(session, meeting.id),
        title=rules.clean_line(title, rules.ITEM_MAX, "meetings-bad-item"),
        status=AgendaStatus.ACCEPTED,
        proposed_by_id=actor.id if actor else None,
        decided_at=utcnow(),
    )
    await _set_speaker(session, item, speaker_id, speaker_name)
    session.add(item)
    await session.flush()
    await session.refresh(meeting, ["agenda"])
    await audit.record(session, actor, "meeting.add_item", "meeting", meeting.id, item=item.id)
    return item


async def _next_position(session: AsyncSession, meeting_id: int) -> int:
    last = await session.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting_id)
    )
    return (last or 0) + 1


async def _set_speaker(
    session: AsyncSession, item: AgendaItem, speaker_id: int | None, speaker_name: str | None
) -> None:
    if speaker_id is not None:
        speaker = await session.get(User, speaker_id)
        if speaker is None or not speaker.is_registered:
            raise NotFound("meetings-person-not-found")
        item.speaker_id, item.speaker_name = speaker.id, None
    elif speaker_name:
        item.speaker_id = None
        item.speaker_name = rules.clean_line(
            speaker_name, rules.SPEAKER_MAX, "meetings-bad-speaker"
        )


async def remove_item(
    session: AsyncSession, actor: User | None, meeting_id: int, item_id: int
) -> Meeting:
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED):
        raise InvalidInput("meetings-closed")
    found = await session.scalar(
        delete(AgendaItem)
        .where(AgendaItem.id == item_id, AgendaItem.meeting_id == meeting.id)
        .returning(AgendaItem.id)
    )
    if found is None:
        raise NotFound("meetings-item-not-found")
    await session.flush()
    await session.refresh(meeting, ["agenda"])
    await audit.record(session, actor, "meeting.remove_item", "meeting", meeting.id, item=item_id)
    return meeting


async def add_guest(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    user_id: int,
    *,
    timezone: str,
    buttons: NoticeButtons | None,
) -> MeetingInvitee:
    """Invite a registered person by name; once the meeting is published they are told at once."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED):
        raise InvalidInput("meetings-closed")
    guest = await session.get(User, user_id)
    if guest is None or not guest.is_registered:
        raise NotFound("meetings-person-not-found")
    found = await access.invitee(session, guest, meeting.id)
    if found is not None:
        return found
    row = MeetingInvitee(meeting_id=meeting.id, user_id=guest.id, reason=InviteReason.GUEST)
    session.add(row)
    await session.flush()
    if meeting.status == MeetingStatus.PUBLISHED:
        await notify.to_invitees(
            session,
            meeting,
            "meetings-notice-invited",
            timezone=timezone,
            buttons=buttons,
            users=[guest.id],
        )
    await audit.record(session, actor, "meeting.add_guest", "meeting", meeting.id, user_id=guest.id)
    return row


async def remove_guest(
    session: AsyncSession, actor: User | None, meeting_id: int, user_id: int
) -> None:
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    result = await session.scalar(
        delete(MeetingInvitee)
        .where(
            MeetingInvitee.meeting_id == meeting.id,
            MeetingInvitee.user_id == user_id,
            MeetingInvitee.reason == InviteReason.GUEST,
        )
        .returning(MeetingInvitee.id)
    )
    if result is None:
        raise NotFound("meetings-person-not-found")
    await audit.record(
        session, actor, "meeting.remove_guest", "meeting", meeting.id, user_id=user_id
    )


async def guests(session: AsyncSession, meeting_id: int) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(MeetingInvitee, MeetingInvitee.user_id == User.id)
        .where(MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.reason == InviteReason.GUEST)
        .order_by(MeetingInvitee.id)
    )
    return list(rows)


# --- Publishing, changing, cancelling ----------------------------------------------------------


def has_decision(meeting: Meeting) -> bool:
    """A conference is convened by a decision on record; a session needs none."""
    return meeting.kind != MeetingKind.CONFERENCE or meeting.decided_at is not None


async def publish(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    *,
    timezone: str,
    buttons: NoticeButtons,
) -> Meeting:
    """Fix who is invited and send each a notice with the .ics and the answer buttons; a
    conference's news also goes to everyone keeping the "conferences" topic."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    rules.require_move(meeting.status, MeetingStatus.PUBLISHED)
    if not has_decision(meeting):
        raise InvalidInput("meetings-no-decision")
    rules.check_start(meeting.starts_at)
    meeting.status = MeetingStatus.PUBLISHED
    meeting.published_at = utcnow()
    await roll.sync(session, meeting)
    invited = await roll.invitee_ids(session, meeting.id)
    if not invited:
        raise InvalidInput("meetings-nobody-invited")
    await session.flush()
    await notify.to_invitees(
        session, meeting, "meetings-notice-published", timezone=timezone, buttons=buttons
    )
    await notify.to_public(
        session, meeting, "meetings-notice-public", timezone=timezone, buttons=buttons
    )
    await reminders.schedule(session, meeting)
    await audit.record(
        session, actor, "meeting.publish", "meeting", meeting.id, invited=len(invited)
    )
    return meeting


async def change(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    *,
    timezone: str,
    buttons: NoticeButtons,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    place: str | None = None,
    district_id: int | None = None,
) -> Meeting:
    """Move the meeting or change its place. A published meeting's invitees are all told, with
    the calendar event replaced, and the reminders move with it."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED):
        raise InvalidInput("meetings-closed")
    before = (meeting.starts_at, meeting.ends_at, meeting.place, meeting.district_id)
    if starts_at is not None:
        duration = meeting.ends_at - meeting.starts_at
        meeting.starts_at = rules.check_start(starts_at)
        meeting.ends_at = meeting.starts_at + duration
        if meeting.agenda_deadline is not None and meeting.agenda_deadline >= meeting.starts_at:
            meeting.agenda_deadline = None
    if ends_at is not None:
        meeting.ends_at = rules.check_end(meeting.starts_at, ends_at)
    if place is not None:
        meeting.place = rules.clean_line(place, rules.PLACE_MAX, "meetings-bad-place")
    if district_id is not None:
        if await session.get(District, district_id) is None:
            raise NotFound("districts-not-found")
        meeting.district_id = district_id
    after = (meeting.starts_at, meeting.ends_at, meeting.place, meeting.district_id)
    if after == before:
        return meeting
    await session.flush()
    if meeting.status == MeetingStatus.PUBLISHED:
        meeting.sequence += 1
        await session.flush()
        await notify.to_invitees(
            session, meeting, "meetings-notice-changed", timezone=timezone, buttons=buttons
        )
        await notify.to_public(
            session, meeting, "meetings-notice-public-changed", timezone=timezone, buttons=buttons
        )
        await reminders.schedule(session, meeting)
    await audit.record(
        session,
        actor,
        "meeting.change",
        "meeting",
        meeting.id,
        starts=meeting.starts_at.isoformat(),
        place=meeting.place,
    )
    return meeting


async def cancel(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    *,
    timezone: str,
    reason: str = "",
) -> Meeting:
    """Call the meeting off: a published one's invitees get a cancellation (the .ics removes
    the event), its reminders are dropped."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    rules.require_move(meeting.status, MeetingStatus.CANCELLED)
    if len(reason) > rules.REASON_MAX:
        raise InvalidInput("meetings-bad-reason", max=rules.REASON_MAX)
    was_published = meeting.status == MeetingStatus.PUBLISHED
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancelled_at = utcnow()
    meeting.cancel_reason = reason.strip() or None
    if was_published:
        meeting.sequence += 1
    await session.flush()
    await reminders.cancel(session, meeting)
    if was_published:
        extra = {"reason": meeting.cancel_reason or "—"}
        await notify.to_invitees(
            session,
            meeting,
            "meetings-notice-cancelled",
            timezone=timezone,
            buttons=None,
            extra=extra,
        )
        await notify.to_public(
            session,
            meeting,
            "meetings-notice-public-cancelled",
            timezone=timezone,
            buttons=None,
            extra=extra,
        )
    await audit.record(session, actor, "meeting.cancel", "meeting", meeting.id)
    return meeting
