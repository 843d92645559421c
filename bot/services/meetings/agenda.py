"""Agenda proposals: an invitee of a published meeting proposes an item (and may offer to speak
to it) until the meeting's proposals deadline; the organizer accepts it (it goes to the end of
the agenda) or declines it with a reason, and the proposer is told either way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.meetings import access, rules
from models import User
from models.base import utcnow
from models.meetings import AgendaItem, AgendaStatus, Meeting, MeetingStatus

# Pending proposals one person may have at a meeting, and in all at a meeting: enough for real
# proposals, too few to flood the organizer.
PENDING_MAX = 5
PROPOSALS_MAX = 60


class OutOfTime(InvalidInput):
    """A refusal that names moments (a deadline, a time window): the handler shows them on the
    reader's clock and in their language, which a service does not know."""

    def __init__(self, key: str, **moments: datetime) -> None:
        super().__init__(key)
        self.moments = moments


@dataclass
class Agenda:
    """What the agenda panel shows this person."""

    meeting: Meeting
    accepted: list[AgendaItem]
    organizer: bool
    # The organizer's queue: proposals waiting for a decision (empty for anyone else).
    pending: list[AgendaItem] = field(default_factory=list)
    # The viewer's own proposals, whatever became of them.
    mine: list[AgendaItem] = field(default_factory=list)
    # Whether the viewer may propose now (an invitee, proposals open, below the limit).
    may_propose: bool = False
    # The deadline for proposals, when they are open (None: closed or never opened).
    deadline: datetime | None = None
    names: dict[int, str] = field(default_factory=dict)


def _closed(meeting: Meeting) -> bool:
    return meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED)


def proposals_open(meeting: Meeting, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        meeting.status == MeetingStatus.PUBLISHED
        and meeting.agenda_deadline is not None
        and now < meeting.agenda_deadline
    )


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(sorted(ids))))
    return {user_id: name or "—" for user_id, name in rows}


async def _pending_of(session: AsyncSession, meeting_id: int, user_id: int | None = None) -> int:
    statement = (
        select(func.count())
        .select_from(AgendaItem)
        .where(AgendaItem.meeting_id == meeting_id, AgendaItem.status == AgendaStatus.PROPOSED)
    )
    if user_id is not None:
        statement = statement.where(AgendaItem.proposed_by_id == user_id)
    return await session.scalar(statement) or 0


async def _require_panel(
    session: AsyncSession, actor: User | None, meeting_id: int
) -> tuple[Meeting, access.Viewer]:
    """The panel is for the organizers and the invited (as the card offers it)."""
    meeting, seen = await access.get_for_viewer(session, actor, meeting_id)
    if not (seen.organizer or seen.invited):
        raise NotAllowed()
    return meeting, seen


async def view(session: AsyncSession, actor: User | None, meeting_id: int) -> Agenda:
    """The accepted agenda for everyone the panel is for; the organizer also sees the pending
    proposals, an invitee their own."""
    meeting, seen = await _require_panel(session, actor, meeting_id)
    assert actor is not None
    await session.refresh(meeting, ["agenda"])
    items = list(meeting.agenda)
    accepted = [item for item in items if item.status == AgendaStatus.ACCEPTED]
    pending = (
        sorted(
            (item for item in items if item.status == AgendaStatus.PROPOSED),
            key=lambda item: item.id,
        )
        if seen.organizer
        else []
    )
    mine = sorted(
        (
            item
            for item in items
            if item.proposed_by_id == actor.id and item.status != AgendaStatus.ACCEPTED
        ),
        key=lambda item: item.id,
    )
    open_now = proposals_open(meeting)
    may_propose = (
        seen.invited
        and open_now
        and sum(1 for item in mine if item.status == AgendaStatus.PROPOSED) < PENDING_MAX
    )
    people = {item.speaker_id for item in accepted if item.speaker_id is not None}
    people |= {item.proposed_by_id for item in pending if item.proposed_by_id is not None}
    return Agenda(
        meeting=meeting,
        accepted=accepted,
        organizer=seen.organizer,
        pending=pending,
        mine=mine,
        may_propose=may_propose,
        deadline=meeting.agenda_deadline if open_now else None,
        names=await _names(session, people),
    )


async def require_proposer(session: AsyncSession, actor: User | None, meeting_id: int) -> Meeting:
    """An invitee of a published meeting while proposals are open and below their limit;
    checked when the dialog starts and again when the proposal is made."""
    meeting = await access.get(session, meeting_id)
    if actor is None or await access.invitee(session, actor, meeting.id) is None:
        raise NotAllowed()
    if _closed(meeting) or meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput("meetings-closed")
    if meeting.agenda_deadline is None:
        raise InvalidInput("meetings-agenda-proposals-closed")
    if utcnow() >= meeting.agenda_deadline:
        raise OutOfTime("meetings-agenda-deadline-passed", deadline=meeting.agenda_deadline)
    if await _pending_of(session, meeting.id, actor.id) >= PENDING_MAX:
        raise InvalidInput("meetings-agenda-too-many", max=PENDING_MAX)
    if await _pending_of(session, meeting.id) >= PROPOSALS_MAX:
        raise InvalidInput("meetings-agenda-queue-full", max=PROPOSALS_MAX)
    return meeting


async def propose(
    session: AsyncSession, actor: User | None, meeting_id: int, title: str, *, speak: bool
) -> AgendaItem:
    """A proposed item, waiting for the organizer; the proposer speaks to it if they offered."""
    title = rules.clean_line(title, rules.ITEM_MAX, "meetings-bad-item")
    await access.get(session, meeting_id, lock=True)
    meeting = await require_proposer(session, actor, meeting_id)
    assert actor is not None
    item = AgendaItem(
        meeting_id=meeting.id,
        position=0,  # a proposal has no place on the agenda until it is accepted
        title=title,
        status=AgendaStatus.PROPOSED,
        speaker_id=actor.id if speak else None,
        proposed_by_id=actor.id,
        proposed_at=utcnow(),
    )
    session.add(item)
    await session.flush()
    if meeting.created_by_id is not None and meeting.created_by_id != actor.id:
        creator = await session.get(User, meeting.created_by_id)
        if creator is not None and await access.organizes(session, creator, meeting):
            await notices.notify(
                session,
                [creator],
                "meetings-agenda-notice-proposed",
                number=meeting.id,
                title=meeting.title,
                item=title,
                who=actor.name or "—",
            )
    await audit.record(
        session, actor, "meeting.agenda_propose", "meeting", meeting.id, item=item.id
    )
    return item


async def _proposal(
    session: AsyncSession, actor: User | None, meeting_id: int, item_id: int
) -> tuple[Meeting, AgendaItem]:
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if _closed(meeting):
        raise InvalidInput("meetings-closed")
    item = await session.scalar(
        select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.meeting_id == meeting.id)
    )
    if item is None:
        raise NotFound("meetings-item-not-found")
    if item.status != AgendaStatus.PROPOSED:
        raise InvalidInput(
            "meetings-agenda-already-accepted"
            if item.status == AgendaStatus.ACCEPTED
            else "meetings-agenda-already-declined"
        )
    return meeting, item


async def require_decider(
    session: AsyncSession, actor: User | None, meeting_id: int, item_id: int
) -> AgendaItem:
    """The organizer, and a proposal still waiting (checked before asking for a reason)."""
    _, item = await _proposal(session, actor, meeting_id, item_id)
    return item


async def _proposer(session: AsyncSession, item: AgendaItem) -> list[User]:
    if item.proposed_by_id is None:
        return []
    person = await session.get(User, item.proposed_by_id)
    return [person] if person is not None and person.deleted_at is None else []


async def accept(
    session: AsyncSession, actor: User | None, meeting_id: int, item_id: int
) -> AgendaItem:
    """The proposal goes to the end of the agenda; the proposer is told."""
    meeting, item = await _proposal(session, actor, meeting_id, item_id)
    accepted = [entry for entry in meeting.agenda if entry.status == AgendaStatus.ACCEPTED]
    if len(accepted) >= rules.AGENDA_MAX:
        raise InvalidInput("meetings-agenda-full", max=rules.AGENDA_MAX)
    last = await session.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
    )
    item.status = AgendaStatus.ACCEPTED
    item.position = (last or 0) + 1
    item.decided_at = utcnow()
    await session.flush()
    await session.refresh(meeting, ["agenda"])
    await notices.notify(
        session,
        await _proposer(session, item),
        "meetings-agenda-notice-accepted",
        number=meeting.id,
        title=meeting.title,
        item=item.title,
    )
    await audit.record(session, actor, "meeting.agenda_accept", "meeting", meeting.id, item=item.id)
    return item


async def decline(
    session: AsyncSession, actor: User | None, meeting_id: int, item_id: int, reason: str
) -> AgendaItem:
    """The proposal is declined with a reason the proposer reads."""
    reason = rules.clean_text(reason, rules.REASON_MAX, "meetings-bad-reason")
    meeting, item = await _proposal(session, actor, meeting_id, item_id)
    item.status = AgendaStatus.DECLINED
    item.decline_reason = reason
    item.decided_at = utcnow()
    await session.flush()
    await notices.notify(
        session,
        await _proposer(session, item),
        "meetings-agenda-notice-declined",
        number=meeting.id,
        title=meeting.title,
        item=item.title,
        reason=reason,
    )
    await audit.record(
        session, actor, "meeting.agenda_decline", "meeting", meeting.id, item=item.id
    )
    return item
