"""An announcement to N recipients through the delivery engine and a real aiogram Bot against the
fake Telegram server (started in this process), for two audience sizes side by side.

Printed per size: the achieved sending rate as a ratio of the configured one, the most requests
the server saw within any one second, and the peak memory (tracemalloc) of enqueueing and of the
worker. Memory should not grow with the audience: rows are streamed batch by batch.

Each size runs twice: once timed, once under tracemalloc (which slows Python down several times,
so its timing is not reported). A small unreported run first warms up imports and caches.

    python bench/bench_delivery.py                      # 1,000 and 10,000 on SQLite (temp file)
    python bench/bench_delivery.py --sizes 500 2000 --rate 500
    python bench/bench_delivery.py --sizes 300 600 --rate 100 --parts 2   # long messages
    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/bench_delivery.py

On PostgreSQL each size gets a throwaway database next to the one named in DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import tracemalloc
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bot import db, delivery
from bot.config import Settings
from bot.delivery.telegram import AiogramSender
from bot.fake_telegram import FakeTelegram
from bot.services.audit import AuditKeys
from models import Outbox, User
from models.base import utcnow

TOKEN = "4242:BENCH-token"
FIRST_ID = 5_000_000


@dataclass
class Figures:
    recipients: int
    seconds: float
    sent: int
    calls_ok: int
    busiest_second: int
    enqueue_peak: int
    worker_peak: int


class ServerMeter:
    """Reads the fake server's request log as it grows and empties it (and the chats), so the
    server's own bookkeeping does not count as the worker's memory; keeps only a one-second
    window of request times."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.window: deque[float] = deque()
        self.busiest = 0
        self.ok = 0

    def drain(self) -> None:
        taken, self.fake.requests[:] = list(self.fake.requests), []
        for request in taken:
            if request.method != "sendMessage":
                continue
            self.ok += request.ok
            self.window.append(request.time)
            while self.window[0] <= request.time - 1.0:
                self.window.popleft()
            self.busiest = max(self.busiest, len(self.window))
        self.fake.events.clear()
        for user in self.fake.users:
            self.fake.chat(user.id).clear()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self.drain()


@contextlib.asynccontextmanager
async def database(directory: Path, label: str) -> AsyncIterator[str]:
    """A migrated, empty database of its own for one run."""
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        url = f"sqlite+aiosqlite:///{directory / f'bench-{label}.sqlite3'}"
        await migrate(url)
        yield url
        return
    base = make_url(Settings(_env_file=None, database_url=configured).async_database_url)
    name = f"bench_delivery_{uuid.uuid4().hex[:10]}"
    admin = db.create_engine(
        base.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
        # The deployment's setting (docker-compose.yml, README "Deployment"), not the server's
        # default of 4: the plans measured are the plans production gets.
        await conn.execute(text(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        await migrate(url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def migrate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


def peak_since(start: int) -> int:
    return tracemalloc.get_traced_memory()[1] - start if tracemalloc.is_tracing() else 0


def measure_start() -> int:
    if not tracemalloc.is_tracing():
        return 0
    tracemalloc.reset_peak()
    return tracemalloc.get_traced_memory()[0]


def announcement(parts: int) -> str:
    """A text Telegram takes as `parts` messages (paragraphs of 1,000 characters)."""
    if parts <= 1:
        return "<b>Конференция</b> в субботу, 12:00 &amp; чай."
    paragraph = "Повестка: " + "пункт, " * 140
    return "\n\n".join([paragraph] * (4 * parts - 2))


async def one_run(
    recipients: int, rate: float, directory: Path, label: str, parts: int = 1
) -> Figures:
    async with FakeTelegram() as fake, database(directory, label) as url:
        engine = db.create_engine(url)
        sessionmaker = db.create_sessionmaker(
            engine, audit=AuditKeys(b"bench-audit-key-not-secret")
        )
        registered = utcnow()
        people = [
            {
                "telegram_id": FIRST_ID + n,
                "name": f"Person {n}",
                "muted_topics": [],
                "quiet_from": None,
                "quiet_to": None,
                "registered_at": registered,
            }
            for n in range(recipients)
        ]
        async with sessionmaker.begin() as session:
            for start in range(0, recipients, 1000):
                # The table, not the class: an ORM insert would take None for "the default"
                # and give everyone quiet hours (the bench would send nothing at night).
                await session.execute(insert(User.__table__), people[start : start + 1000])
        for person in people:
            fake.user(person["telegram_id"])
        del people

        start = measure_start()
        async with sessionmaker.begin() as session:
            outbox = Outbox(text=announcement(parts))
            await delivery.enqueue(session, outbox, {"everyone": True})
        enqueue_peak = peak_since(start)

        bot = Bot(TOKEN, session=AiohttpSession(api=fake.api))
        worker = delivery.DeliveryWorker(
            sessionmaker, AiogramSender(bot), rate=rate, per_chat_interval=1.0, worker_id="bench"
        )
        meter = ServerMeter(fake)
        metering = asyncio.create_task(meter.run())
        start = measure_start()
        began = time.perf_counter()
        while await worker.run_once():
            pass
        seconds = time.perf_counter() - began
        worker_peak = peak_since(start)
        metering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await metering
        meter.drain()
        async with sessionmaker() as session:
            progress = await delivery.progress(session, outbox.id)
        await bot.session.close()
        await engine.dispose()
    return Figures(
        recipients,
        seconds,
        progress.sent,
        meter.ok,
        meter.busiest,
        enqueue_peak,
        worker_peak,
    )


def mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10_000])
    parser.add_argument("--rate", type=float, default=1000.0, help="configured messages/second")
    parser.add_argument("--parts", type=int, default=1, help="messages each announcement takes")
    args = parser.parse_args()
    timed: list[Figures] = []
    traced: list[Figures] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        await one_run(200, args.rate, directory, "warm-up")
        for n in args.sizes:
            timed.append(await one_run(n, args.rate, directory, f"timed-{n}", args.parts))
            tracemalloc.start()
            try:
                traced.append(await one_run(n, args.rate, directory, f"traced-{n}", args.parts))
            finally:
                tracemalloc.stop()
    backend = (os.environ.get("DATABASE_URL") or "sqlite").split(":", 1)[0]
    print(
        f"database: {backend}   configured rate: {args.rate:.0f}/s   per-chat interval: 1 s"
        f"   parts per announcement: {args.parts}"
    )
    print(
        f"{'recipients':>10}{'seconds':>9}{'sent/s':>9}{'of rate':>9}{'max in 1 s':>12}"
        f"{'sent':>8}{'ok calls':>10}{'enqueue peak':>15}{'worker peak':>15}"
    )
    for run, memory in zip(timed, traced, strict=True):
        achieved = run.calls_ok / run.seconds  # messages, of which a recipient may get several
        print(
            f"{run.recipients:>10}{run.seconds:>9.2f}{achieved:>9.0f}{achieved / args.rate:>9.3f}"
            f"{run.busiest_second:>12}{run.sent:>8}{run.calls_ok:>10}"
            f"{mib(memory.enqueue_peak):>15}{mib(memory.worker_peak):>15}"
        )
    (small, large), (small_memory, large_memory) = timed, traced
    scale = large.recipients / small.recipients
    print(
        f"{large.recipients} vs {small.recipients} recipients ({scale:.0f}x):"
        f" achieved rate {large.calls_ok / large.seconds / (small.calls_ok / small.seconds):.2f}x,"
        f" worker peak memory {large_memory.worker_peak / small_memory.worker_peak:.2f}x,"
        f" enqueue peak memory {large_memory.enqueue_peak / small_memory.enqueue_peak:.2f}x"
    )
    runs = timed + traced
    if any(
        run.sent != run.recipients or run.calls_ok != run.recipients * args.parts for run in runs
    ):
        print("WARNING: not every recipient got exactly one message")


if __name__ == "__main__":
    asyncio.run(main())
