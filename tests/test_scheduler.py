"""The scheduler: jobs as data, run once, after restarts, by one process among several."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import db
from bot.services import preferences
from bot.services.errors import NotAllowed
from models import JobStatus, ScheduledJob, Topic, User
from models.base import utcnow
from scheduler import jobs, lease
from scheduler.kinds import changes_state
from scheduler.runner import Scheduler
from tests.conftest import AUDIT_KEYS


async def test_schedule_reschedule_cancel(session):
    due = utcnow() + timedelta(hours=2)
    job = await jobs.schedule(session, "vote.close", "vote", 7, due, {"x": 1})
    again = await jobs.schedule(session, "vote.close", "vote", 7, due + timedelta(hours=1))
    assert again.id == job.id and again.due_at == due + timedelta(hours=1)
    await jobs.schedule(session, "vote.remind", "vote", 7, due - timedelta(hours=1))
    assert await jobs.reschedule(session, "vote.remind", "vote", 7, due) == 1
    assert await jobs.cancel(session, "vote", 7, "vote.close") == 1
    assert [j.kind for j in await jobs.pending_for(session, "vote", 7)] == ["vote.remind"]


async def test_due_jobs_are_claimed_once_and_only_late_reminders_recorded_as_missed(session):
    now = utcnow()
    await jobs.schedule(session, "a", "thing", 1, now - timedelta(minutes=5))
    await jobs.schedule(session, "b", "thing", 2, now - timedelta(hours=3))
    await jobs.schedule(session, "c", "thing", 3, now + timedelta(hours=1))
    await jobs.schedule(session, "d", "thing", 4, now - timedelta(hours=3))
    skip = {"b": timedelta(hours=1)}  # only "b" is a reminder that may be skipped
    first = await jobs.claim_due(session, "p1", now=now, skip_after=skip)
    assert [j.kind for j in first.run] == ["d", "a"] and [j.kind for j in first.missed] == ["b"]
    second = await jobs.claim_due(session, "p2", now=now, skip_after=skip)
    assert second.run == [] and second.missed == []
    # The claimer died: once its claim expires the job is due again.
    later = now + timedelta(minutes=10)
    third = await jobs.claim_due(session, "p2", now=later, lease=timedelta(minutes=5))
    assert [j.kind for j in third.run] == ["d", "a"] and third.run[0].claimed_by == "p2"


async def test_lease_is_held_by_one_and_taken_over_after_expiry(session):
    now = utcnow()
    ttl = timedelta(seconds=30)
    assert await lease.acquire(session, "scheduler", "p1", ttl, now=now)
    assert not await lease.acquire(session, "scheduler", "p2", ttl, now=now)
    assert await lease.acquire(session, "scheduler", "p1", ttl, now=now + timedelta(10))
    assert await lease.acquire(
        session, "scheduler", "p2", ttl, now=now + timedelta(days=10, seconds=31)
    )


def counting_handler(calls: list[int]):
    async def handler(session, job: ScheduledJob) -> dict:
        calls.append(job.id)
        return {"done": True}

    return changes_state(handler)


async def test_job_scheduled_before_a_restart_runs_after_it_once(engine):
    sessionmaker = db.create_sessionmaker(engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        job = await jobs.schedule(session, "ping", "thing", 1, utcnow() + timedelta(hours=1))
    calls: list[int] = []
    first = Scheduler(sessionmaker, {"ping": counting_handler(calls)}, holder="p1")
    await first.heartbeat()
    assert await first.tick() == 0  # not due yet
    await first.stop()  # the process goes away

    async with sessionmaker.begin() as session:  # time passes: the job is due now
        (await session.get(ScheduledJob, job.id)).due_at = utcnow() - timedelta(seconds=10)
    second = Scheduler(sessionmaker, {"ping": counting_handler(calls)}, holder="p2")
    await second.heartbeat()
    assert await second.tick() == 1
    assert await second.tick() == 0
    assert calls == [job.id]
    async with sessionmaker() as session:
        saved = await session.get(ScheduledJob, job.id)
        assert saved.status == JobStatus.DONE and saved.result == {"done": True}


async def test_only_one_of_two_processes_runs_the_scheduler(engine):
    sessionmaker = db.create_sessionmaker(engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        for i in range(5):
            await jobs.schedule(session, "ping", "thing", i, utcnow() - timedelta(seconds=1))
    calls: list[int] = []
    one = Scheduler(sessionmaker, {"ping": counting_handler(calls)}, holder="one")
    two = Scheduler(sessionmaker, {"ping": counting_handler(calls)}, holder="two")
    assert [await one.heartbeat(), await two.heartbeat()] == [True, False]
    assert await two.tick() == 0
    assert await one.tick() == 5
    assert sorted(calls) == sorted(set(calls)) and len(calls) == 5
    # The leader dies without releasing; after the lease expires the other one takes over.
    await one.stop()
    assert await two.heartbeat() is True


async def test_a_failing_job_is_retried_then_recorded_as_failed(engine):
    sessionmaker = db.create_sessionmaker(engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        job = await jobs.schedule(session, "boom", "thing", 1, utcnow() - timedelta(seconds=1))

    async def boom(session, job):
        raise RuntimeError("no")

    runner = Scheduler(
        sessionmaker, {"boom": changes_state(boom)}, holder="p", lease_ttl=timedelta(seconds=30)
    )
    await runner.heartbeat()
    statuses = []
    for _ in range(3):
        await runner.tick()
        async with sessionmaker.begin() as session:
            saved = await session.get(ScheduledJob, job.id)
            statuses.append(saved.status)
            saved.claimed_until = utcnow() - timedelta(seconds=1)  # the claim runs out
    assert statuses == [JobStatus.RUNNING, JobStatus.RUNNING, JobStatus.FAILED]


async def test_scheduler_starts_and_stops_with_apscheduler(engine):
    sessionmaker = db.create_sessionmaker(engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        await jobs.schedule(session, "ping", "thing", 1, utcnow() - timedelta(minutes=1))
    calls: list[int] = []
    runner = Scheduler(sessionmaker, {"ping": counting_handler(calls)}, tick_seconds=60)
    await runner.start()  # runs what fell due while the bot was down, without waiting a tick
    await runner.stop()
    assert len(calls) == 1
    async with sessionmaker() as session:
        saved = (await session.scalars(select(ScheduledJob))).all()
    assert [j.status for j in saved] == [JobStatus.DONE]


@pytest.mark.parametrize(
    ("window", "moscow_time", "expected_end"),
    [
        ((22 * 60, 8 * 60), "23:30", "08:00+1"),
        ((22 * 60, 8 * 60), "07:59", "08:00"),
        ((22 * 60, 8 * 60), "08:00", None),
        ((22 * 60, 8 * 60), "21:59", None),
        ((13 * 60, 15 * 60), "14:00", "15:00"),
        (None, "03:00", None),
    ],
)
def test_quiet_hours(window, moscow_time, expected_end):
    user = User(quiet_from=window[0] if window else None, quiet_to=window[1] if window else None)
    hour, minute = map(int, moscow_time.split(":"))
    # 2026-11-23 in Moscow is UTC+3 all year.
    now = datetime(2026, 11, 23, hour, minute, tzinfo=UTC) - timedelta(hours=3)
    end = preferences.quiet_until(user, now)
    if expected_end is None:
        assert end is None
    else:
        clock, _, next_day = expected_end.partition("+")
        h, m = map(int, clock.split(":"))
        expected = datetime(2026, 11, 23 + int(next_day or 0), h, m, tzinfo=UTC) - timedelta(
            hours=3
        )
        assert end == expected


async def test_topics_can_be_muted_but_not_duty(session):
    user = User(muted_topics=["digest"])
    session.add(user)
    assert not preferences.receives(user, Topic.DIGEST)
    assert await preferences.toggle_topic(session, user, Topic.DIGEST) is True
    assert await preferences.toggle_topic(session, user, Topic.ANNOUNCEMENTS) is False
    assert not preferences.receives(user, Topic.ANNOUNCEMENTS)
    with pytest.raises(NotAllowed):
        await preferences.toggle_topic(session, user, Topic.DUTY)
    assert preferences.receives(user, Topic.DUTY)


async def test_an_elected_term_ends_by_itself(engine):
    from bot.app import job_specs
    from bot.config import Settings
    from bot.services import bodies, users
    from models import BodyKind, CouncilCategory, MemberRole, Role
    from tests.council_support import conference_election

    sessionmaker = db.create_sessionmaker(engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        await users.ensure_admins(session, [1])
        admin = await users.get_user(session, 1)
        member = await users.give_consent(session, 2, language="ru", username=None)
        await users.set_name(session, member, "Избранный", max_length=100)
        await users.complete_registration(session, member)
        council = await bodies.single(session, BodyKind.COUNCIL)
        election = await conference_election(session, member.id)
        seat = await bodies.add_member(
            session,
            admin,
            council.id,
            member.id,
            MemberRole.MEMBER,
            CouncilCategory.ELECTED,
            utcnow() + timedelta(days=365),
            basis_vote_id=election.id,
        )
        assert Role.COUNCIL in member.role_set
    async with sessionmaker.begin() as session:  # a year passes
        (await session.get(type(seat), seat.id)).until = utcnow() - timedelta(seconds=1)
        job = (await jobs.pending_for(session, "membership", seat.id))[0]
        job.due_at = utcnow() - timedelta(seconds=1)
    runner = Scheduler(sessionmaker, job_specs(Settings(_env_file=None)), holder="p")
    await runner.heartbeat()
    assert await runner.tick() == 1
    async with sessionmaker() as session:
        assert Role.COUNCIL not in (await users.get_user(session, 2)).role_set
        done = await session.get(ScheduledJob, job.id)
        assert done.result == {"user_id": member.id, "lost": ["council"]}
