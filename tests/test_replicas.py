"""Two replicas of the bot on one database and one Redis: a person's updates are handled one at
a time whichever replica takes them (aiogram's Redis event isolation, keyed the same in both)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Chat, Message, MessageEntity, Update, User
from aiohttp import web
from sqlalchemy import func, select

from bot import isolation
from bot.app import App, create_app
from models import User as Person
from tests.conftest import ADMIN_ID, ENV_REDIS_URL, make_settings
from tests.support import register
from tests.test_webhook import serving

PERSON = 7601


@contextlib.asynccontextmanager
async def replica(fake, database_url, redis_prefix) -> AsyncIterator[App]:
    app = await create_app(make_settings(database_url, redis_prefix, fake))
    try:
        yield app
    finally:
        await app.close()


def help_from(person: int, update_id: int) -> Update:
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=person, type="private"),
            from_user=User(id=person, is_bot=False, first_name="Реплика", language_code="ru"),
            text="/help",
            entities=[MessageEntity(type="bot_command", offset=0, length=5)],
        ),
    )


async def test_one_persons_updates_wait_for_each_other_across_replicas(
    fake, running, database_url, redis_prefix
):
    if ENV_REDIS_URL is None:
        pytest.skip("REDIS_URL is not set: without Redis the bot runs as one process")
    await register(running, PERSON, "Реплика")
    person = fake.user(PERSON, "Реплика")
    async with (
        replica(fake, database_url, redis_prefix) as first,
        replica(fake, database_url, redis_prefix) as second,
    ):
        key = StorageKey(bot_id=first.bot.id, chat_id=PERSON, user_id=PERSON)
        # The first replica is in the middle of this person's update...
        async with first.dp.fsm.events_isolation.lock(key):
            taken = asyncio.create_task(second.dp.feed_update(second.bot, help_from(PERSON, 1)))
            # ...so the second one waits with theirs (a bounded look: nothing may happen here).
            done, _ = await asyncio.wait({taken}, timeout=0.3)
            assert not done and person.bot_messages == []
        await taken
        assert len(person.bot_messages) == 1
        # Another person is not held up by it.
        other = fake.user(PERSON + 1, "Другой")
        await register(running, PERSON + 1, "Другой")
        async with first.dp.fsm.events_isolation.lock(key):
            await second.dp.feed_update(second.bot, help_from(PERSON + 1, 2))
            assert len(other.bot_messages) == 1


@contextlib.asynccontextmanager
async def webhook_replica(
    fake, database_url, redis_prefix, handled: list[int]
) -> AsyncIterator[tuple[str, web.AppRunner]]:
    """A replica serving its webhook; `handled` gets the person of each update it handled."""
    async with serving(fake, database_url, redis_prefix) as (url, app, runner):
        feed = app.dp.feed_update

        async def counted(bot, update, **kwargs):  # type: ignore[no-untyped-def]
            handled.append(update.message.from_user.id if update.message else 0)
            return await feed(bot, update, **kwargs)

        app.dp.feed_update = counted  # type: ignore[method-assign]
        yield url, runner


async def test_webhook_updates_spread_over_replicas_and_none_is_lost_when_one_goes(
    fake, database_url, redis_prefix
):
    """The fake Telegram posts updates to two replicas in turn, as a load balancer would; when
    one stops answering, what it would have taken is sent again to the other."""
    first_handled: list[int] = []
    second_handled: list[int] = []
    async with (
        webhook_replica(fake, database_url, redis_prefix, first_handled) as (first, _),
        webhook_replica(fake, database_url, redis_prefix, second_handled) as (second, runner),
    ):
        fake.balance_across([first, second])
        people = [fake.user(PERSON + 10 + n, f"Житель {n}") for n in range(6)]
        for person in people:
            replies = await person.say("/start")
            assert replies, "every update is answered"
        assert first_handled and second_handled
        # One replica goes away (its port refuses connections): nothing it would have had is lost.
        await runner.cleanup()
        before = len(first_handled)
        for person in people:
            replies = await person.say("/help")
            assert replies
        assert len(first_handled) - before == len(people)
        assert all(len(person.bot_messages) >= 2 for person in people)


async def test_replicas_starting_together_on_a_new_database_both_start(
    fake, database_url, redis_prefix
):
    """Both migrate and put the admins in place; one waits for the other (two replicas used to
    insert the same admin at once, and one of them died of it)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("DATABASE_URL is not PostgreSQL: SQLite serves one process")
    settings = make_settings(database_url, redis_prefix, fake)
    apps = await asyncio.gather(create_app(settings), create_app(settings), create_app(settings))
    try:
        async with apps[0].sessionmaker() as session:
            admins = await session.scalar(
                select(func.count()).select_from(Person).where(Person.telegram_id == ADMIN_ID)
            )
        assert admins == 1
    finally:
        for app in apps:
            await app.close()


async def test_a_persons_lock_is_renewed_while_held_and_a_dead_replicas_expires(
    fake, database_url, redis_prefix, monkeypatch
):
    if ENV_REDIS_URL is None:
        pytest.skip("REDIS_URL is not set: without Redis the bot runs as one process")
    monkeypatch.setattr(isolation, "LOCK_TTL", 0.3)
    async with (
        replica(fake, database_url, redis_prefix) as first,
        replica(fake, database_url, redis_prefix) as second,
    ):
        key = StorageKey(bot_id=first.bot.id, chat_id=PERSON, user_id=PERSON)
        name = first.dp.fsm.events_isolation.key_builder.build(key, "lock")
        redis = first.dp.storage.redis
        # A long update keeps its lock well past its life of 0.3 s...
        async with first.dp.fsm.events_isolation.lock(key):
            for _ in range(4):
                await asyncio.sleep(0.15)
                assert await redis.exists(name)
        assert not await redis.exists(name)
        # ...and a replica that died holding one (nobody renews it) holds nobody up for long.
        await redis.set(name, "a dead replica's token", px=300)
        began = asyncio.get_running_loop().time()
        async with second.dp.fsm.events_isolation.lock(key):
            waited = asyncio.get_running_loop().time() - began
        assert 0.1 < waited < 2.0
