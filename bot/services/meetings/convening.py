"""The decision that convenes a conference, on record either way: a council vote whose subject
is the conference (the vote engine runs it; when it closes adopted the conference is convened),
or, where the Regulations' practice allows, the presidium's recorded decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, bodies
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.meetings import access, rules
from bot.services.votes.drafting import DraftInput, create_draft
from models import BodyKind, Outcome, User, Vote, VoteKind, VoteStatus
from models.base import utcnow
from models.meetings import DecisionSource, Meeting, MeetingKind, MeetingStatus

# A council vote convening a conference has the conference as its subject; the vote engine
# calls `on_vote_closed` for it and keeps it out of the recommendations registry.
SUBJECT = "conference"


async def _conference_to_convene(
    session: AsyncSession, actor: User | None, meeting_id: int
) -> Meeting:
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=True)
    if meeting.kind != MeetingKind.CONFERENCE:
        raise InvalidInput("meetings-not-conference")
    if meeting.status != MeetingStatus.DRAFT:
        raise InvalidInput("meetings-not-draft")
    if meeting.decided_at is not None:
        raise InvalidInput("meetings-already-convened")
    return meeting


async def record_decision(
    session: AsyncSession, actor: User | None, meeting_id: int, text: str
) -> Meeting:
    """The presidium records its decision to convene (its wording, e.g. the protocol's number)."""
    meeting = await _conference_to_convene(session, actor, meeting_id)
    if not access.convenes_conferences(actor):
        raise NotAllowed()
    meeting.decision_source = DecisionSource.PRESIDIUM
    meeting.decision_text = rules.clean_text(text, rules.REASON_MAX, "meetings-bad-decision")
    meeting.decided_at = utcnow()
    meeting.decided_by_id = actor.id if actor else None
    await session.flush()
    await audit.record(session, actor, "meeting.convene", "meeting", meeting.id, source="presidium")
    return meeting


async def put_to_council(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    *,
    question: str,
    addressee: str,
    closes_at: datetime,
) -> Vote:
    """A draft council vote on convening the conference; the presidium opens it from the vote's
    card like any other vote. A vote already running for it is refused."""
    meeting = await _conference_to_convene(session, actor, meeting_id)
    if meeting.decision_vote_id is not None:
        running = await session.get(Vote, meeting.decision_vote_id)
        if running is not None and running.status in (VoteStatus.DRAFT, VoteStatus.OPEN):
            raise InvalidInput("meetings-vote-running", vote=running.id)
    council = await bodies.single(session, BodyKind.COUNCIL)
    vote = await create_draft(
        session,
        actor,
        DraftInput(
            body_id=council.id,
            kind=VoteKind.RECOMMENDATION,
            question=question,
            text=meeting.title,
            addressee=addressee,
            closes_at=closes_at,
            subject_type=SUBJECT,
            subject_id=meeting.id,
        ),
    )
    meeting.decision_vote_id = vote.id
    await session.flush()
    return vote


async def on_vote_closed(session: AsyncSession, vote: Vote) -> None:
    """Called by the vote engine when a vote on convening a conference closes."""
    if vote.subject_type != SUBJECT or vote.subject_id is None:
        return
    meeting = await session.get(Meeting, vote.subject_id)
    if meeting is None or meeting.decision_vote_id != vote.id or meeting.decided_at is not None:
        return
    if vote.outcome == Outcome.ADOPTED:
        meeting.decision_source = DecisionSource.VOTE
        meeting.decided_at = vote.closed_at or utcnow()
        await session.flush()
        await audit.record(session, None, "meeting.convene", "meeting", meeting.id, vote=vote.id)
