"""The suite runs on the backends the environment names: make sure it really does."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.redis import RedisStorage

from bot.storage import DatabaseStorage
from tests.conftest import ENV_REDIS_URL, USE_POSTGRES


async def test_database_backend_is_the_configured_one(running):
    expected = "postgresql" if USE_POSTGRES else "sqlite"
    assert running.app.engine.dialect.name == expected


async def test_conversation_state_lives_where_configured(running):
    storage = running.app.dp.storage
    if ENV_REDIS_URL:
        assert isinstance(storage, RedisStorage)
    else:
        assert isinstance(storage, DatabaseStorage)


async def test_redis_storage_survives_a_restart(fake, running):
    if not ENV_REDIS_URL:
        pytest.skip("REDIS_URL is not set: conversation state is in the database here")
    user = fake.user(8001, "Лена")
    await user.say("/start")
    await user.click("Русский")
    await running.restart()
    replies = await user.click("✅ Согласен(на)")
    assert any("Как к вам обращаться" in m.text for m in replies)


async def test_sqlite_pragmas(running):
    if USE_POSTGRES:
        pytest.skip("SQLite only")
    async with running.app.engine.connect() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert (mode, fks, timeout) == ("wal", 1, 10000)
