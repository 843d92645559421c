"""The daily digest: opt-in, the deadlines of the coming week that concern each person, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.services import digest, users
from models import Delivery, Outbox, Role, ScheduledJob
from models.base import utcnow
from scheduler import jobs

TZ = "Europe/Moscow"


async def registered(session, telegram_id: int, *, digest_on: bool, council: bool = False):
    user = await users.give_consent(session, telegram_id, language="ru", username=None)
    await users.set_name(session, user, f"П{telegram_id}", max_length=100)
    await users.complete_registration(session, user)
    if digest_on:
        user.muted_topics = []
    if council:
        await users.grant_role(session, user, Role.COUNCIL)
    return user


def test_next_run_is_nine_in_the_morning_moscow_time():
    before = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 08:00 in Moscow
    after = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    assert digest.next_run(before, TZ) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert digest.next_run(after, TZ) == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


async def test_digest_reaches_subscribers_concerned_once(session):
    subscriber = await registered(session, 1, digest_on=True, council=True)
    await registered(session, 2, digest_on=False, council=True)  # did not opt in
    outsider = await registered(session, 3, digest_on=True)  # not on the council
    soon, later = utcnow() + timedelta(days=2), utcnow() + timedelta(days=10)
    vote = {"digest": {"title": "Голосование <№5>", "audience": {"roles": ["council"]}}}
    await jobs.schedule(session, "vote.close", "vote", 5, soon, vote)
    await jobs.schedule(session, "vote.close", "vote", 6, later, vote)  # beyond a week
    await digest.ensure_scheduled(session, TZ)
    await digest.ensure_scheduled(session, TZ)  # a restart adds nothing twice
    job = await session.scalar(select(ScheduledJob).where(ScheduledJob.kind == digest.KIND))

    result = await digest.run(session, job, TZ, "ru")
    again = await digest.run(session, job, TZ, "ru")
    assert result == {"digests": 1, "deadlines": 1} and again["digests"] == 0
    deliveries = (await session.scalars(select(Delivery))).all()
    assert [d.user_id for d in deliveries] == [subscriber.id]
    outbox = await session.get(Outbox, deliveries[0].outbox_id)
    assert outbox.text_key == "digest-text" and "Голосование <№5>" in outbox.text_params["lines"]
    assert outsider.id not in [d.user_id for d in deliveries]
    # The next day's digest is in the schedule.
    pending = await session.scalar(
        select(func.count()).select_from(ScheduledJob).where(ScheduledJob.kind == digest.KIND)
    )
    assert pending == 2
