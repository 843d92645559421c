"""After downtime: jobs that change the state of things run however late and say so; reminders
whose moment has passed their purpose are not sent.

Downtime is simulated as it happens: the bot stops, the clock moves (the times in the database
are moved back instead), the bot starts again and its scheduler looks at what fell due."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiogram import Router
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import db
from bot.app import job_specs
from bot.capabilities import Capability, JobContext, Registry
from bot.config import Settings
from bot.i18n import create_i18n
from bot.services import digest, recommendations, users
from models import (
    FollowUp,
    JobStatus,
    Outbox,
    Outcome,
    Quorum,
    Recommendation,
    ScheduledJob,
    Vote,
    VoteStatus,
)
from models.base import utcnow
from scheduler import jobs
from scheduler.kinds import JobEffect, JobSpec
from scheduler.runner import Scheduler
from tests.conftest import AUDIT_KEYS, RunningBot
from tests.support import eventually, make_secretary
from tests.test_votes import ballot_of, council_member, open_vote, presidium_member

DAYS = timedelta(days=3)


# --- What every declared job kind does after downtime ---------------------------------------------


def declared() -> dict[str, JobSpec]:
    return job_specs(Settings(_env_file=None))


def test_every_job_kind_declares_whether_it_changes_state_or_reminds():
    specs = declared()
    assert {"vote.close", "membership.expire", recommendations.OVERDUE_KIND} <= {
        kind for kind, spec in specs.items() if spec.effect == JobEffect.CHANGES_STATE
    }
    assert {"vote.remind_24h", "vote.remind_1h", recommendations.REMIND_KIND, digest.KIND} <= {
        kind for kind, spec in specs.items() if spec.effect == JobEffect.REMINDS
    }
    for kind, spec in specs.items():
        assert isinstance(spec, JobSpec), kind
        if spec.effect == JobEffect.CHANGES_STATE:
            assert spec.skip_after is None, f"{kind} changes state but may be skipped"


def test_a_capability_cannot_declare_a_job_without_saying_what_downtime_does_to_it():
    async def bare(session: AsyncSession, job: ScheduledJob) -> dict[str, object]:
        return {}

    registry = Registry((Capability(name="x", setup=Router, jobs=lambda c: {"x.do": bare}),))  # type: ignore[dict-item]
    context = JobContext(Settings(_env_file=None), create_i18n("ru"))
    with pytest.raises(TypeError, match="changes_state"):
        registry.job_specs(context)
    with pytest.raises(ValueError, match="however late"):
        JobSpec(bare, JobEffect.CHANGES_STATE, timedelta(hours=1))


async def test_every_state_changing_job_runs_however_late_and_says_so(engine, caplog):
    specs = declared()
    changing = sorted(k for k, s in specs.items() if s.effect == JobEffect.CHANGES_STATE)
    sessionmaker = db.create_sessionmaker(engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        for kind in changing:
            # Its object is gone: the handler finds nothing to do, but it must get to run.
            await jobs.schedule(session, kind, "thing", 10**6, utcnow() - DAYS)
    runner = Scheduler(sessionmaker, specs, holder="p", tick_seconds=60)
    await runner.start()  # the clock itself never drops or queues up a tick either
    try:
        assert runner._clock is not None
        for clock_job in runner._clock.get_jobs():
            assert clock_job.misfire_grace_time is None and clock_job.coalesce
    finally:
        await runner.stop()
    async with sessionmaker() as session:
        # A job may schedule its own next run (the daily witness): look at the ones put here.
        ran = {
            job.kind: job
            for job in await session.scalars(
                select(ScheduledJob).where(ScheduledJob.object_id == 10**6)
            )
        }
    for kind in changing:
        assert ran[kind].status == JobStatus.DONE, kind
        assert ran[kind].result["late_seconds"] >= DAYS.total_seconds(), kind
        assert any(kind in r.getMessage() and "late" in r.getMessage() for r in caplog.records)


# --- Downtime across a vote's close ---------------------------------------------------------------


async def down_while(running, change: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """The bot stops, `change` moves the clock in the database, the bot starts again."""
    await running.stop()
    sessionmaker = db.create_sessionmaker(running.app.engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        await change(session)
    fresh = await RunningBot.start(running.settings)
    running.app, running.task = fresh.app, fresh.task


async def move_job(
    session: AsyncSession, object_id: int, kind: str, ago: timedelta, **values: object
) -> None:
    await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.kind == kind, ScheduledJob.object_id == object_id)
        .values(due_at=utcnow() - ago, **values)
    )


async def settled(running, object_id: int, *kinds: str) -> None:
    """Wait until the scheduler of the restarted bot has dealt with these jobs."""
    finished = (JobStatus.DONE, JobStatus.FAILED, JobStatus.MISSED, JobStatus.CANCELLED)

    async def check() -> bool:
        async with running.sessionmaker() as session:
            statuses = await session.scalars(
                select(ScheduledJob.status).where(
                    ScheduledJob.kind.in_(kinds), ScheduledJob.object_id == object_id
                )
            )
            return all(status in finished for status in statuses)

    await eventually(check)


async def job_status(running, object_id: int, kind: str) -> JobStatus | None:
    async with running.sessionmaker() as session:
        return await session.scalar(
            select(ScheduledJob.status).where(
                ScheduledJob.kind == kind, ScheduledJob.object_id == object_id
            )
        )


def reminders_to(person) -> list[str]:
    return [m.text for m in person.bot_messages if "ещё не проголосовали" in (m.text or "")]


async def test_a_vote_whose_time_passed_during_downtime_is_closed_late_with_its_result(
    fake, running
):
    await presidium_member(running, 8101, "Президиум")
    await council_member(running, 8110, "Голосующий")
    await council_member(running, 8111, "Молчащий")
    voter, silent = fake.user(8110, "Голосующий"), fake.user(8111, "Молчащий")
    vote_id = await open_vote(
        running, 8101, quorum=Quorum.NONE, closes_at=utcnow() + timedelta(hours=30)
    )
    await running.delivered()
    await voter.click("За", message_id=ballot_of(voter, vote_id).message_id)

    async def three_hours_past_the_close(session: AsyncSession) -> None:
        await session.execute(
            update(Vote).where(Vote.id == vote_id).values(closes_at=utcnow() - timedelta(hours=3))
        )
        await move_job(session, vote_id, "vote.close", timedelta(hours=3))
        await move_job(session, vote_id, "vote.remind_24h", timedelta(hours=27))
        await move_job(session, vote_id, "vote.remind_1h", timedelta(hours=4))

    await down_while(running, three_hours_past_the_close)
    await settled(running, vote_id, "vote.close", "vote.remind_24h", "vote.remind_1h")
    async with running.sessionmaker() as session:
        vote = await session.get(Vote, vote_id)
        assert vote is not None and vote.status == VoteStatus.CLOSED
        assert vote.outcome == Outcome.ADOPTED
        entry = await recommendations.for_vote(session, vote_id)
        assert entry is not None and entry.status == FollowUp.SENT
        close = await session.scalar(
            select(ScheduledJob).where(
                ScheduledJob.kind == "vote.close", ScheduledJob.object_id == vote_id
            )
        )
        assert close is not None and close.result["late_seconds"] >= 3 * 3600
    await running.delivered()
    for person in (voter, silent):
        result = next(m for m in person.bot_messages if "Итоги голосования" in (m.text or ""))
        assert "с опозданием" in result.text and f"№{entry.number}" in result.text
    assert reminders_to(silent) == []  # hours late, and the vote is over


@pytest.mark.parametrize("how", ["claimed by a process that died", "run time moved past the close"])
async def test_a_vote_reminder_past_its_purpose_is_not_sent(fake, running, how):
    await presidium_member(running, 8201, "Президиум")
    await council_member(running, 8210, "Голосующий")
    await council_member(running, 8211, "Молчащий")
    voter, silent = fake.user(8210, "Голосующий"), fake.user(8211, "Молчащий")
    vote_id = await open_vote(running, 8201, closes_at=utcnow() + timedelta(hours=30))
    await running.delivered()
    await voter.click("За", message_id=ballot_of(voter, vote_id).message_id)

    async def downtime(session: AsyncSession) -> None:
        if how == "claimed by a process that died":
            # It took the reminder at its time and died before sending; the bot was down for
            # hours after, across the close.
            closed_ago, remind_ago = timedelta(hours=3), timedelta(hours=4)
            died = {"status": JobStatus.RUNNING, "claimed_until": utcnow() - remind_ago}
        else:
            # Within the hour a reminder may be late, but the vote's time has passed.
            closed_ago, remind_ago, died = timedelta(minutes=10), timedelta(minutes=30), {}
        await session.execute(
            update(Vote).where(Vote.id == vote_id).values(closes_at=utcnow() - closed_ago)
        )
        await move_job(session, vote_id, "vote.close", closed_ago)
        await move_job(session, vote_id, "vote.remind_1h", remind_ago, **died)
        await jobs.cancel(session, "vote", vote_id, "vote.remind_24h")

    await down_while(running, downtime)
    await settled(running, vote_id, "vote.close", "vote.remind_1h")
    await running.delivered()
    assert reminders_to(silent) == []
    assert any("Итоги голосования" in (m.text or "") for m in silent.bot_messages)


async def test_a_reply_reminder_after_the_deadline_is_not_sent_but_the_deadline_is_marked(
    fake, running
):
    await presidium_member(running, 8301, "Президиум")
    await council_member(running, 8310, "Член")
    await make_secretary(running, 8320, "Секретарь")
    secretary = fake.user(8320, "Секретарь")
    vote_id = await open_vote(running, 8301, quorum=Quorum.NONE)
    async with running.sessionmaker.begin() as session:
        member = await users.get_user(session, 8310)
        from bot.services import votes

        await votes.cast(session, member, vote_id, [0])
        vote = await session.get(Vote, vote_id)
        await votes.close(session, vote, timezone="Europe/Moscow", reply_days=30)
        entry = await recommendations.for_vote(session, vote_id)
        assert entry is not None
        entry_id = entry.id
    await running.delivered()
    before = len(secretary.bot_messages)

    async def a_month_passes(session: AsyncSession) -> None:
        await session.execute(
            update(Recommendation)
            .where(Recommendation.id == entry_id)
            .values(reply_due=utcnow() - timedelta(hours=2))
        )
        # The reminder's claimer died within its hour; the deadline passed while the bot was down.
        await move_job(session, entry_id, recommendations.REMIND_KIND, timedelta(minutes=20))
        await move_job(session, entry_id, recommendations.OVERDUE_KIND, timedelta(hours=2))

    await down_while(running, a_month_passes)
    await settled(running, entry_id, recommendations.REMIND_KIND, recommendations.OVERDUE_KIND)
    await running.delivered()
    texts = [m.text or "" for m in secretary.bot_messages[before:]]
    assert not any("Ответа пока нет" in text for text in texts)  # the "reply soon" reminder
    assert any("истёк" in text for text in texts)
    async with running.sessionmaker() as session:
        saved = await session.get(Recommendation, entry_id)
        assert saved is not None and saved.overdue


async def test_a_digest_hours_late_is_not_sent_and_the_next_one_is_scheduled(session):
    reader = await users.give_consent(session, 8401, language="ru", username=None)
    await users.set_name(session, reader, "Читатель", max_length=100)
    await users.complete_registration(session, reader)
    reader.muted_topics = []  # subscribed to the digest
    soon = {"digest": {"title": "Срок", "audience": {"users": [reader.id]}}}
    await jobs.schedule(session, "vote.close", "vote", 1, utcnow() + timedelta(days=1), soon)
    # The last morning's digest, two hours ago or more; the bot was down since. (Five hours ago
    # was not always a morning's: between midnight and 5 a.m. in Moscow it was today's, still
    # to come, and no next one was due.)
    due = digest.next_run(utcnow() - timedelta(days=1, hours=2), "Europe/Moscow")
    job = await jobs.schedule(
        session, digest.KIND, "digest", digest.day_number(due, "Europe/Moscow"), due
    )
    result = await digest.run(session, job, "Europe/Moscow", "ru")
    assert result == {"skipped": "too late"}
    assert await session.scalar(select(func.count()).select_from(Outbox)) == 0
    upcoming = await session.scalar(
        select(func.count())
        .select_from(ScheduledJob)
        .where(
            ScheduledJob.kind == digest.KIND,
            ScheduledJob.status == JobStatus.PENDING,
            ScheduledJob.due_at > utcnow(),
        )
    )
    assert upcoming == 1
