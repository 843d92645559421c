"""What one tap costs: the commonest updates of registered people through the real Dispatcher,
middlewares and database, side by side with a bare aiogram echo, interleaved round by round in
one process so that both sides see the same machine.

Measured paths: `/help` and `/me` from registered people, a press of a home-screen section
button (reads only), a press of a `/settings` topic (writes one row), and a newcomer's `/start`.
A first round warms up and is not counted.
Each is printed as updates per second and as a ratio of the echo's rate. Then 500 registered
people press a topic button at once (all 500 updates in flight together): the p50 and p99
latency of a press.

    python bench/bench_hot_path.py                          # SQLite (temp file), FSM in it
    REDIS_URL=redis://127.0.0.1:6379/0 python bench/bench_hot_path.py      # FSM in Redis
    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/bench_hot_path.py

On PostgreSQL the run gets a throwaway database next to the one named in DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import CallbackQuery, Chat, Message, MessageEntity, Update, User
from bench_delivery import database

from bot.app import App, create_app
from bot.capabilities import HomeGroup
from bot.config import Settings
from bot.keyboards.home import CDHome
from bot.keyboards.preferences import CDTopic
from bot.services import users

# The in-process session is test code (tests/ is not installed): found from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.recording_session import RecordingSession

TOKEN = "4242:BENCH"
PEOPLE_FROM = 2_000_000
NEWCOMERS_FROM = 3_000_000


def _person(user_id: int) -> User:
    return User(id=user_id, is_bot=False, first_name="Bench", language_code="ru")


def command(n: int, user_id: int, text: str) -> Update:
    return Update(
        update_id=n,
        message=Message(
            message_id=n,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=_person(user_id),
            text=text,
            entities=[MessageEntity(type="bot_command", offset=0, length=len(text))],
        ),
    )


def press(n: int, user_id: int, data: str) -> Update:
    shown = Message(
        message_id=n,
        date=datetime.now(UTC),
        chat=Chat(id=user_id, type="private"),
        from_user=User(id=4242, is_bot=True, first_name="Bot"),
        text="…",
    )
    return Update(
        update_id=n,
        callback_query=CallbackQuery(
            id=str(n), from_user=_person(user_id), chat_instance="bench", message=shown, data=data
        ),
    )


PATHS: dict[str, Callable[[int, int], Update]] = {
    "/help (registered)": lambda n, uid: command(n, uid, "/help"),
    "/me": lambda n, uid: command(n, uid, "/me"),
    "home section button": lambda n, uid: press(n, uid, CDHome(section=HomeGroup.EVERYONE).pack()),
    "settings topic button (1 write)": lambda n, uid: press(
        n, uid, CDTopic(topic="projects").pack()
    ),
}


def echo_dispatcher() -> Dispatcher:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @router.callback_query(F.data)
    async def pressed(query: CallbackQuery) -> None:
        await query.answer(query.data)

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def seed(app: App, people: int) -> None:
    async with app.sessionmaker.begin() as session:
        for i in range(people):
            user = await users.give_consent(session, PEOPLE_FROM + i, language="ru", username=None)
            await users.set_name(session, user, f"Участник {i}", max_length=100)
            await users.complete_registration(session, user)


async def timed(dp: Dispatcher, bot: Bot, updates: list[Update]) -> float:
    started = time.perf_counter()
    for update in updates:
        await dp.feed_update(bot, update)
    return time.perf_counter() - started


async def latency_at_once(app: App, people: int) -> list[float]:
    """Every person presses at the same moment; each press's time from arrival to answer."""

    async def one(n: int, uid: int) -> float:
        started = time.perf_counter()
        await app.dp.feed_update(app.bot, press(n, uid, CDTopic(topic="needs").pack()))
        return time.perf_counter() - started

    return list(await asyncio.gather(*(one(900_000 + i, PEOPLE_FROM + i) for i in range(people))))


async def run(args: argparse.Namespace, database_url: str) -> None:
    redis_url = os.environ.get("REDIS_URL") or None
    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"assembly-bench-{os.getpid()}",
        throttle_rate=0,
    )
    app = await create_app(settings, bot=Bot(TOKEN, session=RecordingSession()))
    echo_dp, echo_bot = echo_dispatcher(), Bot(TOKEN, session=RecordingSession())
    try:
        # As a running bot: the delivery worker, the scheduler and, on PostgreSQL, the listener
        # without which the cache of people keeps nothing (it could miss other processes' news).
        await app.start_background()
        while app.cache is not None and not app.cache.live:  # noqa: ASYNC110 (a plain flag)
            await asyncio.sleep(0.01)
        await seed(app, max(args.people, args.at_once))
        totals = dict.fromkeys([*PATHS, "newcomer /start"], 0.0)
        echo_total = 0.0
        n = 0
        newcomer = NEWCOMERS_FROM
        # Round 0 is not counted: it warms up what a running bot has warm (the cache of people,
        # the drawn screens, the connections), so the figures are a running bot's.
        for round_number in range(args.rounds + 1):
            if round_number == 1:
                totals = dict.fromkeys(totals, 0.0)
                echo_total = 0.0
            batch = []
            for i in range(args.n):
                n += 1
                batch.append(command(n, PEOPLE_FROM + i % args.people, "/help"))
            echo_total += await timed(echo_dp, echo_bot, batch)
            for name, make in PATHS.items():
                batch = []
                for i in range(args.n):
                    n += 1
                    batch.append(make(n, PEOPLE_FROM + i % args.people))
                totals[name] += await timed(app.dp, app.bot, batch)
            batch = []
            for _ in range(args.n):
                n += 1
                newcomer += 1
                batch.append(command(n, newcomer, "/start"))
            totals["newcomer /start"] += await timed(app.dp, app.bot, batch)
        latencies = await latency_at_once(app, args.at_once)
    finally:
        await app.close()
        await echo_bot.session.close()
    per_side = args.n * args.rounds
    backend = database_url.split(":", 1)[0].split("+")[0]
    print(
        f"database: {backend}   FSM: {'redis' if redis_url else 'database'}   "
        f"updates per path: {per_side} in {args.rounds} interleaved rounds"
    )
    print(f"{'path':<34}{'updates/s':>11}{'ms/update':>11}{'× echo':>9}")
    for name, total in {"bare aiogram echo": echo_total, **totals}.items():
        rate, cost = per_side / total, total / per_side * 1000
        print(f"{name:<34}{rate:>11.0f}{cost:>11.3f}{echo_total / total:>9.3f}")
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"{args.at_once} people pressing a topic button at once: p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="updates per path per round (300)")
    parser.add_argument("-r", "--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--people", type=int, default=300, help="registered people (300)")
    parser.add_argument("--at-once", type=int, default=500, help="simultaneous presses (500)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with database(Path(tmp), "hot") as database_url:
            await run(args, database_url)


if __name__ == "__main__":
    asyncio.run(main())
