"""N `/start` updates through the real Dispatcher, middlewares and database, against the same N
through a bare aiogram echo handler, in one run. Both use the in-process Bot API session, so the
figures compare our update path with aiogram's own, not the network.

    python bench/bench_start.py [-n 2000]          # SQLite in a temporary file
    DATABASE_URL=postgresql+asyncpg://... python bench/bench_start.py   # the same on PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Chat, Message, MessageEntity, Update, User
from bench_delivery import database

from bot.app import create_app
from bot.config import Settings

# The in-process session is test code (tests/ is not installed): found from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.recording_session import RecordingSession

TOKEN = "4242:BENCH"


def start_update(n: int) -> Update:
    user_id = 1_000_000 + n
    return Update(
        update_id=n,
        message=Message(
            message_id=n,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=User(id=user_id, is_bot=False, first_name="Bench", language_code="ru"),
            text="/start",
            entities=[MessageEntity(type="bot_command", offset=0, length=6)],
        ),
    )


async def feed_all(dp: Dispatcher, bot: Bot, updates: list[Update]) -> float:
    started = time.perf_counter()
    for update in updates:
        await dp.feed_update(bot, update)
    return time.perf_counter() - started


async def bare_echo(updates: list[Update]) -> tuple[float, int]:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    session = RecordingSession()
    elapsed = await feed_all(dp, Bot(TOKEN, session=session), updates)
    return elapsed, len(session.requests)


async def assembly(updates: list[Update], database_url: str) -> tuple[float, int]:
    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        database_url=database_url,
        redis_url=os.environ.get("REDIS_URL") or None,
        redis_prefix="assembly-bench",
        throttle_rate=0,
    )
    session = RecordingSession()
    app = await create_app(settings, bot=Bot(TOKEN, session=session))
    try:
        elapsed = await feed_all(app.dp, app.bot, updates)
    finally:
        await app.close()
    return elapsed, len(session.requests)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000, help="updates per side (default 2000)")
    args = parser.parse_args()
    updates = [start_update(i) for i in range(1, args.n + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        # A database of its own (a throwaway one on PostgreSQL), as the delivery benchmark does.
        async with database(Path(tmp), "start") as database_url:
            ours, our_calls = await assembly(updates, database_url)
    echo, echo_calls = await bare_echo(updates)
    backend = database_url.split(":", 1)[0]
    print(f"updates per side: {args.n}   database: {backend}")
    print(f"{'path':<34}{'updates/s':>12}{'ms/update':>12}{'API calls':>11}")
    for name, elapsed, calls in (
        ("bare aiogram echo", echo, echo_calls),
        ("assembly /start (db, fsm, i18n)", ours, our_calls),
    ):
        print(f"{name:<34}{args.n / elapsed:>12.0f}{elapsed / args.n * 1000:>12.3f}{calls:>11}")
    print(f"ratio, assembly throughput / echo throughput: {echo / ours:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
