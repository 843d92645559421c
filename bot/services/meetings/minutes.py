"""The minutes of a meeting and the decisions taken there. Once the meeting has started, its
secretary (the organizers and the Secretariat) records the decisions and publishes the minutes
— a text, a document, or both —; the meeting becomes minuted, every invitee receives the
minutes and the decisions through the delivery engine, and everyone who may see the meeting
reads them. A decision can then become a recommendation in the registry, once, by the
presidium or the meeting's organizers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.services import audit, recommendations
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.meetings import access, notify, reminders, roll, rules
from bot.services.meetings.agenda import OutOfTime
from bot.services.meetings.notify import NoticeButtons
from bot.services.permissions import PRESIDIUM, has_any_role
from models import Outbox, Recommendation, Topic, User
from models.base import utcnow
from models.meetings import Meeting, MeetingDecision, MeetingStatus

DECISION_MAX = 3000
DECISIONS_MAX = 50
FILE_NAME_MAX = 200


@dataclass(frozen=True)
class MinutesFile:
    """A document the secretary sent (kept by its Telegram file id)."""

    file_id: str
    name: str | None = None


@dataclass
class Minutes:
    """What the minutes panel shows this person."""

    meeting: Meeting
    decisions: list[MeetingDecision]
    # Decision id → the number of the recommendation it became.
    recommended: dict[int, int] = field(default_factory=dict)
    # The secretary, before the minutes are published and once the meeting has started.
    editable: bool = False
    # The secretary of a meeting that has not started yet (they see the panel, may not edit).
    waiting: bool = False
    # The presidium or the organizers, after publishing: decisions → recommendations.
    may_recommend: bool = False
    author: str | None = None


def started(meeting: Meeting, now: datetime | None = None) -> bool:
    return meeting.starts_at <= (now or utcnow())


async def decisions(session: AsyncSession, meeting_id: int) -> list[MeetingDecision]:
    rows = await session.scalars(
        select(MeetingDecision)
        .where(MeetingDecision.meeting_id == meeting_id)
        .order_by(MeetingDecision.position, MeetingDecision.id)
    )
    return list(rows)


async def _recommended(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Recommendation.decision_id, Recommendation.number).where(
            Recommendation.decision_id.in_(ids)
        )
    )
    return {decision_id: number for decision_id, number in rows if decision_id is not None}


async def may_recommend(session: AsyncSession, user: User | None, meeting: Meeting) -> bool:
    """The presidium, or the meeting's organizers, enter its decisions in the registry."""
    return has_any_role(user, *PRESIDIUM) or await access.organizes(session, user, meeting)


async def view(session: AsyncSession, actor: User | None, meeting_id: int) -> Minutes:
    """Published minutes are read by everyone who may see the meeting; before that the panel is
    the secretary's, to record the decisions and publish."""
    meeting, seen = await access.get_for_viewer(session, actor, meeting_id)
    if meeting.status == MeetingStatus.MINUTED:
        found = await decisions(session, meeting.id)
        author = (
            await session.get(User, meeting.minutes_by_id)
            if meeting.minutes_by_id is not None
            else None
        )
        return Minutes(
            meeting=meeting,
            decisions=found,
            recommended=await _recommended(session, [d.id for d in found]),
            may_recommend=await may_recommend(session, actor, meeting),
            author=(author.name or "—") if author is not None else None,
        )
    if not seen.secretary or meeting.status != MeetingStatus.PUBLISHED:
        raise NotAllowed()
    return Minutes(
        meeting=meeting,
        decisions=await decisions(session, meeting.id),
        editable=started(meeting),
        waiting=not started(meeting),
    )


async def require_editor(session: AsyncSession, actor: User | None, meeting_id: int) -> Meeting:
    """The secretary of a published meeting that has started (checked when a dialog starts and
    again when it ends)."""
    meeting = await access.get_for_secretary(session, actor, meeting_id)
    if meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput(
            "meetings-minutes-already"
            if meeting.status == MeetingStatus.MINUTED
            else "meetings-closed"
        )
    if not started(meeting):
        raise OutOfTime("meetings-minutes-not-started", starts=meeting.starts_at)
    return meeting


async def add_decision(
    session: AsyncSession, actor: User | None, meeting_id: int, text: str
) -> MeetingDecision:
    """A decision taken at the meeting, appended to the list."""
    text = rules.clean_text(text, DECISION_MAX, "meetings-decision-bad-text")
    await access.get(session, meeting_id, lock=True)
    meeting = await require_editor(session, actor, meeting_id)
    count = (
        await session.scalar(
            select(func.count())
            .select_from(MeetingDecision)
            .where(MeetingDecision.meeting_id == meeting.id)
        )
        or 0
    )
    if count >= DECISIONS_MAX:
        raise InvalidInput("meetings-decisions-full", max=DECISIONS_MAX)
    last = await session.scalar(
        select(func.max(MeetingDecision.position)).where(MeetingDecision.meeting_id == meeting.id)
    )
    decision = MeetingDecision(
        meeting_id=meeting.id,
        position=(last or 0) + 1,
        text=text,
        recorded_by_id=actor.id if actor is not None else None,
        recorded_at=utcnow(),
    )
    session.add(decision)
    await session.flush()
    await audit.record(
        session, actor, "meeting.decision_add", "meeting", meeting.id, decision=decision.id
    )
    return decision


async def remove_decision(
    session: AsyncSession, actor: User | None, meeting_id: int, decision_id: int
) -> None:
    """A decision recorded by mistake is removed, until the minutes are published."""
    await access.get(session, meeting_id, lock=True)
    meeting = await require_editor(session, actor, meeting_id)
    decision = await session.scalar(
        select(MeetingDecision).where(
            MeetingDecision.id == decision_id, MeetingDecision.meeting_id == meeting.id
        )
    )
    if decision is None:
        raise NotFound("meetings-decision-not-found")
    await session.delete(decision)
    await session.flush()
    await audit.record(
        session, actor, "meeting.decision_remove", "meeting", meeting.id, decision=decision_id
    )


def decision_lines(found: list[MeetingDecision]) -> str:
    return "\n".join(f"{index}. {d.text}" for index, d in enumerate(found, start=1))


async def publish(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    *,
    text: str | None,
    document: MinutesFile | None,
    timezone: str,
    buttons: NoticeButtons | None,
) -> Meeting:
    """The minutes — a text, a document or both — are published: the meeting is minuted, and
    every invitee receives them with the decisions (the document by its file id; a long text
    is split by the delivery engine)."""
    body = rules.clean_text(text, rules.TEXT_MAX, "meetings-minutes-bad-text") if text else None
    if body is None and document is None:
        raise InvalidInput("meetings-minutes-empty")
    await access.get(session, meeting_id, lock=True)
    meeting = await require_editor(session, actor, meeting_id)
    rules.require_move(meeting.status, MeetingStatus.MINUTED)
    meeting.status = MeetingStatus.MINUTED
    meeting.minutes_text = body
    meeting.minutes_file_id = document.file_id if document is not None else None
    meeting.minutes_file_name = (
        (document.name or "")[:FILE_NAME_MAX] or None if document is not None else None
    )
    meeting.minutes_at = utcnow()
    meeting.minutes_by_id = actor.id if actor is not None else None
    await session.flush()
    # Reminders of a meeting that has happened have nothing left to say.
    await reminders.cancel(session, meeting)
    found = await decisions(session, meeting.id)
    people = await roll.invitee_ids(session, meeting.id)
    if people:
        outbox = Outbox(
            kind="meeting",
            topic=Topic.DUTY,
            text_key="meetings-minutes-notice",
            text_params={
                **await notify.params(session, meeting, timezone),
                "decisions": decision_lines(found) or "—",
                "minutes": body or "",
            },
            buttons=buttons(meeting, False) if buttons is not None else None,
        )
        if document is not None:
            outbox.media_kind = "document"
            outbox.media_file_id = document.file_id
        await delivery.enqueue(session, outbox, {"users": people})
    await audit.record(
        session,
        actor,
        "meeting.minutes",
        "meeting",
        meeting.id,
        decisions=len(found),
        document=document is not None,
    )
    return meeting


async def require_recommender(
    session: AsyncSession, actor: User | None, decision_id: int
) -> tuple[Meeting, MeetingDecision]:
    """A decision of a minuted meeting not in the registry yet, and a person who may enter it."""
    decision = await session.get(MeetingDecision, decision_id)
    if decision is None:
        raise NotFound("meetings-decision-not-found")
    meeting = await access.get(session, decision.meeting_id)
    if not await may_recommend(session, actor, meeting):
        raise NotAllowed()
    if meeting.status != MeetingStatus.MINUTED:
        raise InvalidInput("meetings-recommend-after-minutes")
    existing = await recommendations.for_decision(session, decision.id)
    if existing is not None:
        raise InvalidInput("meetings-decision-recommended", number=existing.number)
    return meeting, decision


async def recommend(
    session: AsyncSession,
    actor: User | None,
    decision_id: int,
    addressee: str,
    *,
    reply_days: int,
) -> Recommendation:
    """The decision enters the recommendations registry under the next number, addressed to
    the body of local government named, with the usual reply deadline."""
    addressee = rules.clean_line(addressee, 200, "meetings-bad-addressee")
    decision = await session.get(MeetingDecision, decision_id)
    if decision is not None:
        await access.get(session, decision.meeting_id, lock=True)
    _, decision = await require_recommender(session, actor, decision_id)
    return await recommendations.register_decision(
        session, actor, decision, addressee, utcnow(), reply_days
    )
