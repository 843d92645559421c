"""Priorities polls: the council (or a committee) asks the citizens of a district, or of the city,
to choose among the most supported open needs.

A poll is a vote of the vote engine (a question, one choice per ballot, no quorum) whose roll is
the citizens (`VoterUnit.CITIZEN`, see bot/services/votes/citizens.py); its `PriorityPoll` row
names the district and its `PriorityPollNeed` rows the needs at their options' positions. The
engine sends the ballots, closes the poll on time, sends the results with the chart, and records
each need's place beside it (`Need.priority_rank`, and a public `NeedEventKind.PRIORITY` event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import votes
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.votes.citizens import SUBJECT, citizens_query
from models import Body, District, Majority, Quorum, User, Vote, VoteKind, VoterUnit
from models.base import utcnow
from models.needs import OPEN_STATUSES, Need, PriorityPoll, PriorityPollNeed

CANDIDATES = 10  # the most supported open needs proposed for a ballot
MIN_NEEDS = 2
MAX_NEEDS = 10
DURATIONS = (1, 3, 7)  # days
LABEL_MAX = 60  # a ballot's button shows this many characters of an option


async def organizing_body(session: AsyncSession, user: User | None) -> Body:
    """The body on whose behalf this person asks the citizens: the council for the presidium,
    their committee for a committee's chair or secretary; anyone else is refused."""
    bodies = await votes.organizable_bodies(session, user)
    if not bodies:
        raise NotAllowed()
    return bodies[0]


async def district_or_city(session: AsyncSession, district_id: int | None) -> District | None:
    if district_id is None:
        return None
    district = await session.get(District, district_id)
    if district is None:
        raise NotFound("priorities-no-district")
    return district


async def candidates(
    session: AsyncSession, district_id: int | None, limit: int = CANDIDATES
) -> list[Need]:
    """The open needs of the district (of the city) with the most supports, the older first
    among equals."""
    query = select(Need).where(Need.status.in_(OPEN_STATUSES))
    if district_id is not None:
        query = query.where(Need.district_id == district_id)
    query = query.order_by(Need.support_count.desc(), Need.created_at, Need.id).limit(limit)
    return list(await session.scalars(query))


async def roll_size(session: AsyncSession, district_id: int | None) -> int:
    """How many citizens the poll's roll would hold if it opened now."""
    inner = citizens_query(district_id).subquery()
    return await session.scalar(select(func.count()).select_from(inner)) or 0


def option_label(need: Need) -> str:
    """ "No. N · short text" (the engine keeps options within 100 characters)."""
    label = f"№{need.id} · " + " ".join(need.description.split())
    if len(label) > LABEL_MAX:
        label = label[: LABEL_MAX - 1].rstrip() + "…"
    return label


@dataclass(frozen=True)
class PollInput:
    district_id: int | None
    need_ids: Sequence[int]
    days: int
    question: str
    secret: bool = False
    text: str = ""  # what the ballot explains under the question


async def create(
    session: AsyncSession,
    actor: User | None,
    data: PollInput,
    *,
    timezone: str,
    buttons: votes.BallotButtons,
    now: datetime | None = None,
) -> Vote:
    """Draft the poll's vote, note its needs, and open it: the citizens get their ballots. The
    audit log has it as the vote's draft and opening (its options are the needs)."""
    now = now or utcnow()
    body = await organizing_body(session, actor)
    await district_or_city(session, data.district_id)
    if data.days not in DURATIONS:
        raise InvalidInput("priorities-bad-duration")
    wanted = list(dict.fromkeys(data.need_ids))
    if not MIN_NEEDS <= len(wanted) <= MAX_NEEDS:
        raise InvalidInput("priorities-pick-count", min=MIN_NEEDS, max=MAX_NEEDS)
    allowed = {need.id: need for need in await candidates(session, data.district_id)}
    if any(need_id not in allowed for need_id in wanted):
        # Only the proposed needs: open, of this district, still among the most supported.
        raise InvalidInput("priorities-need-not-candidate")
    chosen = [allowed[need_id] for need_id in wanted]
    vote = await votes.create_draft(
        session,
        actor,
        votes.DraftInput(
            body_id=body.id,
            kind=VoteKind.QUESTION,
            question=data.question,
            closes_at=now + timedelta(days=data.days),
            text=data.text,
            options=[option_label(need) for need in chosen],
            secret=data.secret,
            changeable=True,
            quorum=Quorum.NONE,
            majority=Majority.OF_CAST,
            unit=VoterUnit.CITIZEN,
            subject_type=SUBJECT,
        ),
    )
    poll = PriorityPoll(
        vote_id=vote.id, district_id=data.district_id, created_by_id=actor.id if actor else None
    )
    session.add(poll)
    await session.flush()
    vote.subject_id = poll.id
    session.add_all(
        PriorityPollNeed(poll_id=poll.id, need_id=need.id, position=position)
        for position, need in enumerate(chosen)
    )
    await session.flush()
    await votes.open_vote(session, actor, vote.id, timezone=timezone, buttons=buttons, now=now)
    return vote
