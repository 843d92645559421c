"""The recommendations registry: adopted recommendations to local government, numbered, and what
became of them (sent → answered → implemented), with the reply deadline watched by the
scheduler."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.delivery import channel
from bot.services import audit, notices, roles
from bot.services.errors import InvalidInput, NotFound
from bot.services.paging import Page, page_bounds
from bot.services.permissions import SECRETARIAT, has_any_role, require_role
from models import FollowUp, Recommendation, Role, ScheduledJob, User, Vote
from models.base import utcnow
from models.meetings import Meeting, MeetingDecision
from scheduler import jobs

REMIND_KIND = "recommendation.remind"
OVERDUE_KIND = "recommendation.overdue"
REMIND_BEFORE = timedelta(days=5)
ANSWER_MAX = 3000
PER_PAGE = 8


async def register(
    session: AsyncSession, vote: Vote, now: datetime, reply_days: int
) -> Recommendation:
    """Enter an adopted recommendation under the next number; the reply deadline is watched."""
    return await _enter(
        session, None, now, reply_days, addressee=vote.addressee or "—", vote_id=vote.id
    )


async def register_decision(
    session: AsyncSession,
    actor: User | None,
    decision: MeetingDecision,
    addressee: str,
    now: datetime,
    reply_days: int,
) -> Recommendation:
    """Enter a decision a meeting's minutes record, under the next number like any other
    recommendation, once per decision; the reply deadline is watched."""
    return await _enter(
        session, actor, now, reply_days, addressee=addressee, decision_id=decision.id
    )


async def _enter(
    session: AsyncSession,
    actor: User | None,
    now: datetime,
    reply_days: int,
    *,
    addressee: str,
    vote_id: int | None = None,
    decision_id: int | None = None,
) -> Recommendation:
    for _ in range(5):
        number = (await session.scalar(select(func.max(Recommendation.number))) or 0) + 1
        recommendation = Recommendation(
            number=number,
            vote_id=vote_id,
            decision_id=decision_id,
            adopted_at=now,
            addressee=addressee,
            reply_due=now + timedelta(days=reply_days),
        )
        try:
            async with session.begin_nested():
                session.add(recommendation)
        except IntegrityError:
            # Another entry took this number at the same moment; or this very decision was
            # entered meanwhile, which no retry would cure.
            if decision_id is not None and await for_decision(session, decision_id) is not None:
                raise InvalidInput("recommendations-already-registered") from None
            continue
        break
    else:
        raise RuntimeError("could not number the recommendation")
    remind_at = recommendation.reply_due - REMIND_BEFORE
    if remind_at > now:
        await jobs.schedule(session, REMIND_KIND, "recommendation", recommendation.id, remind_at)
    await jobs.schedule(
        session, OVERDUE_KIND, "recommendation", recommendation.id, recommendation.reply_due
    )
    await audit.record(
        session,
        actor,
        "recommendation.register",
        "recommendation",
        recommendation.id,
        number=recommendation.number,
    )
    await post_to_channel(session, recommendation)
    return recommendation


# The channel's post of a recommendation, by its follow-up: the answer is shown once there is one.
CHANNEL_KEYS = {
    FollowUp.SENT: "channel-recommendation",
    FollowUp.ANSWERED: "channel-recommendation-answered",
    FollowUp.IMPLEMENTED: "channel-recommendation-answered",
}
# The recommendation's text and the answer are cut to these in the post, so that the whole
# stays within one message of 4096 characters.
CHANNEL_TEXT_MAX = 2000
CHANNEL_ANSWER_MAX = 1200


async def post_to_channel(session: AsyncSession, recommendation: Recommendation) -> None:
    """Post the adopted recommendation in the public channel, or edit its post to its present
    follow-up (nothing without a channel)."""
    if channel.configured(session) is None:
        return
    await session.refresh(recommendation, ["vote", "decision"])
    await channel.post(
        session,
        channel.RECOMMENDATION,
        recommendation.id,
        CHANNEL_KEYS[recommendation.status],
        {
            "number": recommendation.number,
            "adopted_at": recommendation.adopted_at.isoformat(),
            "title": _cut(recommendation.title, 300),
            "text": _cut(recommendation.full_text, CHANNEL_TEXT_MAX),
            "addressee": recommendation.addressee,
            "status_key": f"recommendations-status-{recommendation.status.value}",
            "answer": _cut(recommendation.answer or "", CHANNEL_ANSWER_MAX),
        },
    )


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def for_vote(session: AsyncSession, vote_id: int) -> Recommendation | None:
    return await session.scalar(select(Recommendation).where(Recommendation.vote_id == vote_id))


async def for_decision(session: AsyncSession, decision_id: int) -> Recommendation | None:
    return await session.scalar(
        select(Recommendation).where(Recommendation.decision_id == decision_id)
    )


async def origin(session: AsyncSession, item: Recommendation) -> Meeting | None:
    """The meeting whose minutes record the decision a recommendation comes from (None for one
    a vote adopted)."""
    if item.vote_id is not None or item.decision is None:
        return None
    return await session.get(Meeting, item.decision.meeting_id)


async def get(session: AsyncSession, recommendation_id: int) -> Recommendation:
    found = await session.get(Recommendation, recommendation_id)
    if found is None:
        raise NotFound("recommendations-not-found")
    return found


async def page(session: AsyncSession, number: int, per_page: int = PER_PAGE) -> Page:
    """Newest first; anyone may browse."""
    total = await session.scalar(select(func.count()).select_from(Recommendation)) or 0
    number, pages = page_bounds(number, total, per_page)
    rows = await session.scalars(
        select(Recommendation)
        .order_by(Recommendation.number.desc())
        .offset(number * per_page)
        .limit(per_page)
    )
    return Page(list(rows), number, pages, total)


def may_follow_up(user: User | None) -> bool:
    """The Secretariat follows an adopted recommendation up (answered, implemented)."""
    return has_any_role(user, *SECRETARIAT)


def require_follow_up(actor: User | None) -> User:
    """The actor, if they may follow recommendations up; otherwise NotAllowed."""
    return require_role(actor, *SECRETARIAT)


async def mark_answered(
    session: AsyncSession, actor: Any, recommendation_id: int, answer: str
) -> Recommendation:
    """The Secretariat records local government's answer; the deadline watch ends."""
    actor = require_follow_up(actor)
    recommendation = await get(session, recommendation_id)
    answer = answer.strip()
    if not answer or len(answer) > ANSWER_MAX:
        raise InvalidInput("recommendations-bad-answer", max=ANSWER_MAX)
    if recommendation.status == FollowUp.IMPLEMENTED:
        raise InvalidInput("recommendations-already-implemented")
    recommendation.status = FollowUp.ANSWERED
    recommendation.answer = answer
    recommendation.answered_at = utcnow()
    recommendation.overdue = False
    recommendation.updated_by_id = actor.id
    await jobs.cancel(session, "recommendation", recommendation.id)
    await session.flush()
    await audit.record(
        session, actor, "recommendation.answered", "recommendation", recommendation.id
    )
    await post_to_channel(session, recommendation)
    return recommendation


async def mark_implemented(
    session: AsyncSession, actor: Any, recommendation_id: int
) -> Recommendation:
    actor = require_follow_up(actor)
    recommendation = await get(session, recommendation_id)
    if recommendation.status != FollowUp.ANSWERED:
        raise InvalidInput("recommendations-answer-first")
    recommendation.status = FollowUp.IMPLEMENTED
    recommendation.implemented_at = utcnow()
    recommendation.updated_by_id = actor.id
    await session.flush()
    await audit.record(
        session, actor, "recommendation.implemented", "recommendation", recommendation.id
    )
    await post_to_channel(session, recommendation)
    return recommendation


async def run_remind(session: AsyncSession, job: ScheduledJob, timezone: str) -> dict[str, Any]:
    """Days before the reply deadline: the Secretariat is reminded to chase the answer."""
    recommendation = await session.get(Recommendation, job.object_id)
    if recommendation is None or recommendation.status != FollowUp.SENT:
        return {"skipped": "answered"}
    if recommendation.reply_due <= utcnow():
        # Too late to chase: the overdue job says the deadline passed.
        return {"skipped": "deadline passed"}
    people = await roles.holders(session, Role.SECRETARIAT)
    await notices.notify(
        session,
        people,
        "recommendations-reply-soon",
        number=recommendation.number,
        addressee=recommendation.addressee,
        due_at=dates.moment_param(recommendation.reply_due, timezone),
    )
    return {"notified": len(people)}


async def run_overdue(session: AsyncSession, job: ScheduledJob, timezone: str) -> dict[str, Any]:
    """The deadline passed without an answer: flagged in the registry, the Secretariat told."""
    recommendation = await session.get(Recommendation, job.object_id)
    if recommendation is None or recommendation.status != FollowUp.SENT:
        return {"skipped": "answered"}
    recommendation.overdue = True
    await session.flush()
    people = await roles.holders(session, Role.SECRETARIAT)
    await notices.notify(
        session,
        people,
        "recommendations-overdue",
        number=recommendation.number,
        addressee=recommendation.addressee,
    )
    await audit.record(session, None, "recommendation.overdue", "recommendation", recommendation.id)
    return {"overdue": recommendation.number}
