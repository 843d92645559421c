"""The delivery engine through outages: the network gone, Telegram failing on its side (5xx), a
revoked token (401), and answers lost on the wire. The worker's clock is driven by the test, so
a day of retries takes no time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from sqlalchemy import select

from bot import db
from bot.delivery import DeliveryWorker, split_text
from bot.delivery import worker as worker_module
from bot.delivery.render import make_renderer
from bot.i18n import create_i18n
from models import DeliveryStatus, Outbox, OutboxStatus, Role, Topic, UserRole
from models.base import utcnow
from tests.conftest import AUDIT_KEYS, TOKEN
from tests.support import eventually
from tests.test_delivery import (
    FIRST_ID,
    add_people,
    drain,
    long_text,
    make_worker,
    outbox_of,
    progress_of,
    rows,
    send_out,
    texts_per_chat,
)


@pytest.fixture
def sessionmaker(engine):
    return db.create_sessionmaker(engine, audit=AUDIT_KEYS)


@pytest.fixture
async def bot(fake):
    bot = Bot(TOKEN, session=AiohttpSession(api=fake.api))
    yield bot
    await bot.session.close()


class Clock:
    """The worker's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


def clocked_worker(sessionmaker, bot, **options) -> tuple[DeliveryWorker, Clock]:
    clock = Clock()
    return make_worker(sessionmaker, bot, clock=clock, **options), clock


OUTAGES: dict[str, Callable[..., object]] = {
    "network down": lambda fake: fake.inject_fault("sendMessage", drop=True, times=None),
    "500": lambda fake: fake.inject_fault("sendMessage", status=500, times=None),
    "502": lambda fake: fake.inject_fault("sendMessage", status=502, times=None),
}


@pytest.mark.parametrize("outage", list(OUTAGES))
async def test_an_outage_of_hours_loses_nothing(sessionmaker, fake, bot, outage, caplog):
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    people = await add_people(sessionmaker, fake, 3)
    outbox_id = await send_out(sessionmaker)
    worker, clock = clocked_worker(sessionmaker, bot)
    OUTAGES[outage](fake)
    started = clock.now
    delays = []
    # Two hours of outage: far more than the 5 attempts over 75 s that used to fail for good.
    while clock.now - started < timedelta(hours=2):
        await drain(worker)
        found = await rows(sessionmaker, outbox_id)
        assert {row.status for row in found.values()} == {DeliveryStatus.PENDING}
        assert {row.failing_since for row in found.values()} == {started}
        assert all(row.claimed_by is None and row.error for row in found.values())
        due = min(row.not_before for row in found.values())
        delays.append((due - clock.now).total_seconds())
        clock.advance_to(due)
    # The backoff doubles from 5 s and is capped at 5 minutes.
    assert delays[:7] == [5, 10, 20, 40, 80, 160, 300]
    assert set(delays[7:]) == {300}

    fake.clear_faults()
    await drain(worker)
    found = await rows(sessionmaker, outbox_id)
    assert {(row.status, row.error, row.failing_since) for row in found.values()} == {
        (DeliveryStatus.SENT, None, None)
    }
    assert sorted(texts_per_chat(fake).values()) == [1, 1, 1]
    assert set(found) == set(people)
    # Said once when it began and once when it ended, not once per failed send.
    said = [r.getMessage() for r in caplog.records if r.name == "bot.delivery"]
    assert len(said) == 2 and said[0].startswith("cannot reach Telegram")
    assert (await outbox_of(sessionmaker, outbox_id)).status == OutboxStatus.DONE


async def test_a_day_of_failures_fails_for_good(sessionmaker, fake, bot):
    (person,) = await add_people(sessionmaker, fake, 1)
    outbox_id = await send_out(sessionmaker)
    worker, clock = clocked_worker(sessionmaker, bot)
    fake.inject_fault("sendMessage", status=503, times=None)
    started = clock.now
    await drain(worker)
    clock.advance_to(started + timedelta(hours=23, minutes=59))
    await drain(worker)
    row = (await rows(sessionmaker, outbox_id))[person]
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 2)

    clock.advance_to(started + timedelta(hours=24, seconds=1))
    await drain(worker)
    row = (await rows(sessionmaker, outbox_id))[person]
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 3)
    assert row.error and row.error.startswith("failing since")
    assert (await progress_of(sessionmaker, outbox_id)).failed == 1


async def test_a_split_message_cut_by_the_network_sends_only_the_rest(
    sessionmaker,
    fake,
    bot,
):
    (person,) = await add_people(sessionmaker, fake, 1)
    text = long_text(paragraphs=20, size=500)
    parts = split_text(text)
    assert len(parts) == 3
    outbox_id = await send_out(sessionmaker, text=text)
    worker, clock = clocked_worker(sessionmaker, bot)
    fake.inject_fault("sendMessage", status=None, times=1)  # the first part goes through
    fake.inject_fault("sendMessage", drop=True, times=10)  # then the network is gone a while
    await drain(worker)
    while (row := (await rows(sessionmaker, outbox_id))[person]).status == DeliveryStatus.PENDING:
        assert row.parts_sent == 1 and row.telegram_message_id is not None
        clock.advance_to(row.not_before)
        await drain(worker)
    received = fake.user(FIRST_ID).bot_messages
    assert [m.html for m in received] == parts  # each part once, in order
    assert row.status == DeliveryStatus.SENT and row.telegram_message_id == received[0].message_id


# --- A revoked token ----------------------------------------------------------------------------


async def add_admin(sessionmaker, fake, telegram_id: int = 990_001) -> int:
    (admin,) = await add_people(sessionmaker, fake, 1, first=telegram_id, language="ru")
    async with sessionmaker.begin() as session:
        session.add(UserRole(user_id=admin, role=Role.ADMIN))
    return admin


async def test_a_revoked_token_pauses_everything_and_resumes_by_itself(
    sessionmaker,
    fake,
    bot,
    caplog,
):
    await add_admin(sessionmaker, fake)
    await add_people(sessionmaker, fake, 30)
    outbox_id = await send_out(sessionmaker)
    i18n = create_i18n("ru")
    worker, clock = clocked_worker(
        sessionmaker, bot, concurrency=4, render=make_renderer(i18n, "ru")
    )
    fake.revoke_token()
    paused_at = clock.now
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        await drain(worker)
        assert worker.paused
        # Only the sends in flight when the first 401 came back were tried at all.
        assert 1 <= len(fake.calls("sendMessage")) <= worker.concurrency
        found = await rows(sessionmaker, outbox_id)
        assert len(found) == 31
        assert {(r.status, r.attempts, r.claimed_by) for r in found.values()} == {
            (DeliveryStatus.PENDING, 0, None)
        }
        # A paused worker claims nothing; the probe finds the token still refused.
        clock.advance_to(paused_at + timedelta(days=3))
        assert await worker.run_once() == 0
        assert not await worker.probe()
        assert worker.paused
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and "token" in critical[0].getMessage()

    fake.restore_token()
    assert await worker.probe()
    assert not worker.paused
    await drain(worker)
    found = await rows(sessionmaker, outbox_id)
    assert {r.status for r in found.values()} == {DeliveryStatus.SENT}  # three days later
    assert len(texts_per_chat(fake)) == 31
    # The admins are told, in their language, once the bot can write again.
    async with sessionmaker() as session:
        notice = await session.scalar(select(Outbox).where(Outbox.kind == "notice"))
    assert notice is not None and notice.urgent and notice.topic == Topic.DUTY
    admin_chat = fake.user(990_001).bot_messages
    assert "Telegram не принимал токен" in admin_chat[-1].text


async def test_the_running_worker_probes_and_resumes_without_help(
    sessionmaker,
    fake,
    bot,
    monkeypatch,
):
    monkeypatch.setattr(worker_module, "PROBE_BACKOFF", 0.01)
    await add_people(sessionmaker, fake, 5)
    outbox_id = await send_out(sessionmaker)
    fake.revoke_token()
    worker = make_worker(sessionmaker, bot)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, idle_sleep=0.01))
    try:
        await eventually(lambda: _true(worker.paused and len(fake.calls("getMe")) >= 2))
        fake.restore_token()

        async def all_sent() -> bool:
            return (await progress_of(sessionmaker, outbox_id)).sent == 5

        await eventually(all_sent)
    finally:
        stop.set()
        await task
    assert len(texts_per_chat(fake)) == 5


async def _true(value: bool) -> bool:
    return value


# --- Answers lost on the wire -------------------------------------------------------------------


async def test_an_answer_lost_on_the_wire_gives_at_most_one_duplicate(
    sessionmaker,
    fake,
    bot,
):
    people = await add_people(sessionmaker, fake, 3)
    outbox_id = await send_out(sessionmaker)
    worker, clock = clocked_worker(sessionmaker, bot)
    # Telegram delivers the message, and its answer never comes back.
    fake.inject_fault("sendMessage", drop=True, after=True, chat_id=FIRST_ID)
    await drain(worker)
    row = (await rows(sessionmaker, outbox_id))[people[0]]
    assert row.status == DeliveryStatus.PENDING
    clock.advance_to(row.not_before)
    await drain(worker)
    assert texts_per_chat(fake)[FIRST_ID] == 1  # the lost answer's request is not counted
    assert len(fake.user(FIRST_ID).bot_messages) == 2  # what the person sees: one duplicate
    assert all(len(fake.user(FIRST_ID + n).bot_messages) == 1 for n in (1, 2))
    assert (await progress_of(sessionmaker, outbox_id)).sent == 3
