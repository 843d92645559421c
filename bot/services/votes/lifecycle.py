"""A vote's life after its draft: opening (the roll is fixed), the scheduled close and reminders,
moving the close, closing early, calling off, and the results."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates, delivery
from bot.services import audit, notices, recommendations
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.votes import box, citizens, presence
from bot.services.votes.access import get, get_for_organizer, organizes_every_vote
from bot.services.votes.ballots import BallotButtons, ballot_key, ballot_params, needs_document
from bot.services.votes.documents import text_docx
from bot.services.votes.drafting import check_closes_at
from bot.services.votes.queries import roll_user_ids, tally, turnout
from bot.services.votes.rules import Decision, decide
from models import (
    Membership,
    Organization,
    OrganizationStatus,
    Outbox,
    Outcome,
    Representative,
    RepresentativeRole,
    ScheduledJob,
    Topic,
    User,
    Vote,
    VoteKind,
    VoterUnit,
    VoteStatus,
    VoteVoter,
)
from models.base import utcnow
from scheduler import jobs
from scheduler.kinds import LATE_AFTER

CLOSE_KIND = "vote.close"
# The subject of a council vote convening a conference (bot/services/meetings/convening.py).
CONVENING_SUBJECT = "conference"
# Separate kinds, so scheduling one never moves the other (schedule() keeps one per kind).
REMINDERS = {"vote.remind_24h": timedelta(hours=24), "vote.remind_1h": timedelta(hours=1)}

# Renders the tally as a bar chart (PNG); the app passes one that writes labels in its language.
ChartMaker = Callable[[Vote], bytes | None]


async def _fill_roll(session: AsyncSession, vote: Vote, now: datetime) -> int:
    """Fix the roll: the body's members at this moment, or each member organization's delegate
    (its head, else another representative) in a conference vote; the citizens of a district
    (or of the city) in a priorities poll. A vote opened at a meeting reaches only those
    registered as present there (see presence.py)."""
    if vote.unit == VoterUnit.CITIZEN:
        return await citizens.fill_roll(session, vote)
    if vote.subject_type == presence.MEETING_SUBJECT and vote.subject_id is not None:
        seats = await presence.seats(session, vote.subject_id, vote.unit, vote.body_id, now)
        session.add_all(
            VoteVoter(vote_id=vote.id, user_id=user_id, organization_id=organization_id)
            for user_id, organization_id in seats
        )
        await session.flush()
        return len(seats)
    if vote.unit == VoterUnit.PERSON:
        source = (
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.body_id == vote.body_id,
                User.deleted_at.is_(None),
                (Membership.until.is_(None)) | (Membership.until > now),
            )
            .distinct()
        )
        people = list(await session.scalars(source))
        session.add_all(VoteVoter(vote_id=vote.id, user_id=user_id) for user_id in people)
        await session.flush()
        return len(people)
    rows = await session.execute(
        select(Organization.id, Representative.user_id, Representative.role)
        .join(Representative, Representative.organization_id == Organization.id)
        .join(User, User.id == Representative.user_id)
        .where(Organization.status == OrganizationStatus.APPROVED, User.deleted_at.is_(None))
        .order_by(Organization.id, Representative.role != RepresentativeRole.HEAD)
    )
    taken: set[int] = set()
    seated: set[int] = set()
    for organization_id, user_id, _role in rows:
        if organization_id in seated or user_id in taken:
            continue
        session.add(VoteVoter(vote_id=vote.id, user_id=user_id, organization_id=organization_id))
        seated.add(organization_id)
        taken.add(user_id)
    await session.flush()
    return len(seated)


async def open_vote(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    *,
    timezone: str,
    buttons: BallotButtons,
    now: datetime | None = None,
) -> Vote:
    """Fix the roll, send each voter a ballot through the delivery engine, and put the close and
    the reminders in the schedule. A long text goes with the ballot as a document."""
    now = now or utcnow()
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.DRAFT:
        raise InvalidInput("votes-not-draft")
    check_closes_at(vote.closes_at, now)
    eligible = await _fill_roll(session, vote, now)
    if eligible == 0:
        raise InvalidInput("votes-nobody-eligible")
    vote.eligible_count = eligible
    vote.status = VoteStatus.OPEN
    vote.opened_at = now
    await session.flush()
    await _schedule(session, vote, now)
    outbox = Outbox(
        kind="ballot",
        # A member's ballot is a duty; a citizen's is an invitation they may have muted.
        topic=Topic.NEEDS if vote.unit == VoterUnit.CITIZEN else Topic.DUTY,
        text_key=ballot_key(vote),
        text_params=ballot_params(vote, timezone),
        buttons=buttons(vote),
        author_id=actor.id if actor else None,
    )
    if needs_document(vote):
        outbox.media_kind = "document"
        outbox.media_data = text_docx(vote.question, vote.text)
        outbox.media_name = f"vote-{vote.id}.docx"
    await delivery.enqueue(session, outbox, await _audience(session, vote))
    await audit.record(
        session, actor, "vote.open", "vote", vote.id, eligible=eligible, secret=vote.secret
    )
    return vote


async def _audience(session: AsyncSession, vote: Vote) -> dict[str, Any]:
    """Who a vote's ballot and results go to: its roll, or for citizens the same people named
    in SQL (see citizens.py)."""
    if vote.unit == VoterUnit.CITIZEN:
        return await citizens.audience(session, vote)
    return {"users": await roll_user_ids(session, vote.id)}


async def _schedule(session: AsyncSession, vote: Vote, now: datetime) -> None:
    await jobs.schedule(session, CLOSE_KIND, "vote", vote.id, vote.closes_at)
    for kind, before in REMINDERS.items():
        due = vote.closes_at - before
        # Citizens are invited once, not reminded like members with a duty.
        if due > now and vote.unit != VoterUnit.CITIZEN:
            await jobs.schedule(session, kind, "vote", vote.id, due)
        else:
            await jobs.cancel(session, "vote", vote.id, kind)


async def extend(
    session: AsyncSession, actor: User | None, vote_id: int, closes_at: datetime
) -> Vote:
    """Move the close later; the reminders move with it and still go only to non-voters."""
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.OPEN:
        raise InvalidInput("votes-not-open")
    if closes_at <= vote.closes_at:
        raise InvalidInput("votes-extend-later")
    check_closes_at(closes_at)
    vote.closes_at = closes_at
    await session.flush()
    await _schedule(session, vote, utcnow())
    await audit.record(session, actor, "vote.extend", "vote", vote.id, closes=closes_at.isoformat())
    return vote


async def close(
    session: AsyncSession,
    vote: Vote,
    *,
    timezone: str,
    reply_days: int = 30,
    chart: ChartMaker | None = None,
    now: datetime | None = None,
) -> Vote:
    """Count, apply the rules, record the result, tell every eligible voter; an adopted
    recommendation enters the registry."""
    now = now or utcnow()
    vote = await box.lock_vote(session, vote.id)
    if vote.status != VoteStatus.OPEN:
        return vote
    if vote.secret:
        # Once more, by a transaction that wrote no roll row: the last caster's `xmin` is no
        # longer the ballots'.
        await box.rewrite(session, vote.id)
    counts = await tally(session, vote)
    voted = (await turnout(session, vote.id)).voted
    decision = _decision(vote, counts, voted)
    vote.status = VoteStatus.CLOSED
    vote.closed_at = now
    vote.outcome = decision.outcome
    vote.result = {
        "eligible": vote.eligible_count,
        "cast": voted,
        "counts": {str(position): counts.get(position, 0) for position in _positions(vote)},
        "winners": list(decision.winners),
        "quorum_met": decision.quorum_met,
    }
    await session.flush()
    for kind in REMINDERS:
        await jobs.cancel(session, "vote", vote.id, kind)
    await jobs.cancel(session, "vote", vote.id, CLOSE_KIND)
    recommendation = None
    # A vote convening a conference is the council's decision about itself, not a
    # recommendation to local government: it stays out of the registry.
    if (
        vote.kind == VoteKind.RECOMMENDATION
        and decision.outcome == Outcome.ADOPTED
        and vote.subject_type != CONVENING_SUBJECT
    ):
        recommendation = await recommendations.register(session, vote, now, reply_days)
    if vote.subject_type == "project":
        # Imported here: the projects' services import the vote engine.
        from bot.services.projects import decisions

        await decisions.on_vote_closed(session, vote, recommendation)
    if vote.subject_type == CONVENING_SUBJECT:
        from bot.services.meetings import convening

        await convening.on_vote_closed(session, vote)
    if vote.subject_type == presence.MEETING_SUBJECT:
        from bot.services.meetings import voting

        await voting.on_vote_closed(session, vote, timezone=timezone)
    topic = Topic.DUTY
    if vote.unit == VoterUnit.CITIZEN:
        await citizens.record(session, vote, counts, voted, now)
        topic = Topic.NEEDS
    outbox = results_outbox(vote, timezone, recommendation_number=recommendation, topic=topic)
    # Drawing takes a moment: in a thread, so the bot keeps answering meanwhile.
    image = await asyncio.to_thread(chart, vote) if chart is not None else None
    if image:
        outbox.media_kind, outbox.media_data = "photo", image
        outbox.media_name = f"vote-{vote.id}.png"
    await delivery.enqueue(session, outbox, await _audience(session, vote))
    await audit.record(
        session,
        None,
        "vote.close",
        "vote",
        vote.id,
        outcome=decision.outcome.value,
        cast=voted,
        eligible=vote.eligible_count,
    )
    return vote


def _decision(vote: Vote, counts: dict[int, int], cast_count: int) -> Decision:
    return decide(
        vote.kind,
        vote.quorum,
        vote.majority,
        vote.max_choices,
        [(option.position, option.kind) for option in vote.options],
        counts,
        vote.eligible_count,
        cast_count,
    )


def _positions(vote: Vote) -> list[int]:
    return [option.position for option in vote.options]


def results_outbox(
    vote: Vote, timezone: str, *, recommendation_number: Any = None, topic: Topic = Topic.DUTY
) -> Outbox:
    """The results message: outcome, turnout, the tally; in each recipient's language. A vote
    closed late (the bot was down at its time) says so, with the time it was due to close."""
    result = vote.result or {}
    late = vote.closed_at is not None and vote.closed_at - vote.closes_at > LATE_AFTER
    params: dict[str, Any] = {
        "number": vote.id,
        "question": vote.question,
        "outcome_key": f"votes-outcome-{vote.outcome.value if vote.outcome else 'rejected'}",
        "cast": result.get("cast", 0),
        "eligible": result.get("eligible", 0),
        "closed_at": dates.moment_param(vote.closed_at or utcnow(), timezone),
        "rule_key": f"votes-majority-{vote.majority.value}",
        "quorum_key": f"votes-quorum-{vote.quorum.value}",
    }
    if late:
        params["due_at"] = dates.moment_param(vote.closes_at, timezone)
    if vote.kind == VoteKind.RECOMMENDATION:
        counts = result.get("counts", {})
        key = "votes-results-recommendation-late" if late else "votes-results-recommendation"
        params.update(
            {
                "yes": counts.get("0", 0),
                "no": counts.get("1", 0),
                "abstain": counts.get("2", 0),
                "registry": str(recommendation_number.number) if recommendation_number else "—",
            }
        )
    elif vote.subject_type == citizens.SUBJECT:
        # A priorities poll adopts nothing: it ranks the needs (ties share a place).
        key = "votes-results-priorities-late" if late else "votes-results-priorities"
        cast = result.get("counts", {})
        counts = {o.position: cast.get(str(o.position), 0) for o in vote.options}
        ranked = citizens.places(counts)
        labels = {option.position: option.label for option in vote.options}
        params["tally"] = "\n".join(
            f"{ranked[position]}. {labels[position]}: {counts[position]}"
            for position in sorted(counts, key=lambda p: (ranked[p], p))
        )
    else:
        key = "votes-results-choice-late" if late else "votes-results-choice"
        counts = result.get("counts", {})
        winners = set(result.get("winners", []))
        lines = []
        for option in vote.options:
            mark = "✅ " if option.position in winners else ""
            lines.append(f"{mark}{option.label}: {counts.get(str(option.position), 0)}")
        params["tally"] = "\n".join(lines)
    return Outbox(kind="results", topic=topic, text_key=key, text_params=params)


async def announce_results(
    session: AsyncSession, actor: User | None, vote_id: int, timezone: str
) -> Outbox:
    """The presidium tells everyone (beyond the voters) how a closed vote went."""
    vote = await get(session, vote_id)
    if not organizes_every_vote(actor):
        raise NotAllowed()
    if vote.status != VoteStatus.CLOSED:
        raise InvalidInput("votes-not-closed")
    number = None
    if vote.kind == VoteKind.RECOMMENDATION:
        number = await recommendations.for_vote(session, vote.id)
    outbox = results_outbox(vote, timezone, recommendation_number=number, topic=Topic.ANNOUNCEMENTS)
    outbox.kind = "announcement"
    outbox.author_id = actor.id if actor else None
    await delivery.enqueue(session, outbox, {"everyone": True})
    await audit.record(session, actor, "vote.announce", "vote", vote.id, total=outbox.total)
    return outbox


async def close_early(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    *,
    timezone: str,
    reply_days: int = 30,
    chart: ChartMaker | None = None,
) -> Vote:
    """Organizers may close before the time only once every eligible voter has voted."""
    await get_for_organizer(session, actor, vote_id)
    # The vote's lock before the audit head's, in the order a cast takes them: no deadlock.
    vote = await box.lock_vote(session, vote_id)
    if vote.status != VoteStatus.OPEN:
        raise InvalidInput("votes-not-open")
    count = await turnout(session, vote.id)
    if count.voted < count.eligible:
        raise InvalidInput("votes-not-all-voted", n=count.eligible - count.voted)
    await audit.record(session, actor, "vote.close_early", "vote", vote.id)
    return await close(session, vote, timezone=timezone, reply_days=reply_days, chart=chart)


async def cancel(session: AsyncSession, actor: User | None, vote_id: int) -> Vote:
    """Call off an open vote: nothing is counted, voters are told."""
    await get_for_organizer(session, actor, vote_id)
    vote = await box.lock_vote(session, vote_id)
    if vote.status != VoteStatus.OPEN:
        raise InvalidInput("votes-not-open")
    if vote.secret:
        # The ballots stay, uncounted; like a close, the last rewrite is one without a caster.
        await box.rewrite(session, vote.id)
    vote.status = VoteStatus.CANCELLED
    vote.closed_at = utcnow()
    await jobs.cancel(session, "vote", vote.id)
    await session.flush()
    if vote.unit == VoterUnit.CITIZEN:
        # A roll of citizens may be the whole city: named in SQL, not loaded.
        notice = Outbox(
            kind="notice",
            topic=Topic.NEEDS,
            text_key="votes-cancelled-notice",
            text_params={"number": vote.id, "question": vote.question},
        )
        await delivery.enqueue(session, notice, await _audience(session, vote))
    else:
        people = list(
            await session.scalars(
                select(User).where(User.id.in_(await roll_user_ids(session, vote.id)))
            )
        )
        await notices.notify(
            session, people, "votes-cancelled-notice", number=vote.id, question=vote.question
        )
    await audit.record(session, actor, "vote.cancel", "vote", vote.id)
    return vote


async def run_close(
    session: AsyncSession,
    job: ScheduledJob,
    *,
    timezone: str,
    reply_days: int,
    chart: ChartMaker | None,
) -> dict[str, Any]:
    vote = await session.get(Vote, job.object_id)
    if vote is None or vote.status != VoteStatus.OPEN:
        return {"skipped": "not open"}
    if vote.closes_at > utcnow():
        # Moved later meanwhile: the job for the new time is already in the schedule.
        return {"skipped": "extended"}
    await close(session, vote, timezone=timezone, reply_days=reply_days, chart=chart)
    return {"outcome": vote.outcome.value if vote.outcome else None}


async def run_reminder(
    session: AsyncSession, job: ScheduledJob, *, timezone: str, buttons: BallotButtons
) -> dict[str, Any]:
    """Remind those who have not voted — only them — with the ballot's buttons again; never
    once the vote's time has passed (after downtime its close may not have run yet)."""
    vote = await session.get(Vote, job.object_id)
    if vote is None or vote.status != VoteStatus.OPEN:
        return {"skipped": "not open"}
    if vote.closes_at <= utcnow():
        return {"skipped": "past closing time"}
    waiting = await roll_user_ids(session, vote.id, voted=False)
    if not waiting:
        return {"reminded": 0}
    params = ballot_params(vote, timezone)
    outbox = Outbox(
        kind="reminder",
        topic=Topic.DUTY,
        text_key="votes-reminder",
        text_params={
            "number": vote.id,
            "question": vote.question,
            "closes_at": params["closes_at"],
        },
        buttons=buttons(vote),
    )
    await delivery.enqueue(session, outbox, {"users": waiting})
    return {"reminded": outbox.total}
