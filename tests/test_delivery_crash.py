"""Duplicates on a crash, measured: a worker process killed with SIGKILL mid-broadcast, then
restarted. Telegram has no idempotency key, so a message that went out but whose outcome was not
committed yet goes out again after the restart; the engine keeps that to the sends in flight, at
most one per concurrent lane, and never loses one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from bot import db
from bot.delivery import DeliveryWorker
from bot.delivery.telegram import AiogramSender
from models import OutboxStatus
from models.base import utcnow
from tests.conftest import AUDIT_KEYS, TOKEN
from tests.support import eventually
from tests.test_delivery import FIRST_ID, add_people, outbox_of, progress_of, send_out

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 4
PEOPLE = 60
LEASE = timedelta(seconds=60)  # the worker's default lease


@pytest.fixture
def sessionmaker(engine):
    return db.create_sessionmaker(engine, audit=AUDIT_KEYS)


def start_child(database_url: str, api_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.delivery_child",
            database_url,
            api_url,
            TOKEN,
            str(CONCURRENCY),
            "10",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()


async def test_sigkill_mid_broadcast_loses_nothing_and_duplicates_at_most_the_sends_in_flight(
    database_url, sessionmaker, fake
):
    await add_people(sessionmaker, fake, PEOPLE)
    outbox_id = await send_out(sessionmaker)
    # Telegram delivers each message at once but answers a little later: at any moment some
    # messages are out whose outcome the worker has not heard yet, the worst case for a kill.
    fake.inject_fault("sendMessage", status=None, delay=0.05, after=True, times=None)

    def arrived() -> int:
        return len(fake.calls("sendMessage"))

    async def at_least(count: int) -> bool:
        return arrived() >= count

    kills = 0
    for stop_at in (12, 30):
        child = start_child(database_url, fake.url)
        try:
            await eventually(lambda stop_at=stop_at: at_least(stop_at), timeout=60)
        finally:
            kill(child)
        kills += 1
        assert (await progress_of(sessionmaker, outbox_id)).pending > 0  # killed mid-broadcast

    # The restart, once the killed workers' leases have run out.
    bot = Bot(TOKEN, session=AiohttpSession(api=fake.api))
    later = utcnow() + LEASE + timedelta(seconds=1)
    worker = DeliveryWorker(
        sessionmaker,
        AiogramSender(bot),
        rate=1000.0,
        per_chat_interval=0.0,
        concurrency=CONCURRENCY,
        clock=lambda: later,
    )
    try:
        while await worker.run_once():
            pass
    finally:
        await bot.session.close()

    received = [len(fake.user(FIRST_ID + n).bot_messages) for n in range(PEOPLE)]
    assert min(received) >= 1  # nobody missed
    duplicates = sum(count - 1 for count in received)
    assert duplicates <= kills * CONCURRENCY
    progress = await progress_of(sessionmaker, outbox_id)
    assert (progress.sent, progress.pending) == (PEOPLE, 0)
    assert (await outbox_of(sessionmaker, outbox_id)).status == OutboxStatus.DONE
    print(f"{duplicates} duplicates after {kills} kills with {CONCURRENCY} sends in flight")
