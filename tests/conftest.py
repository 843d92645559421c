"""Fixtures: a migrated database (SQLite file, or a throwaway PostgreSQL database), Redis when
configured, the fake Telegram server, and the real bot polling it.

Which backend runs is decided by the environment, exactly as in production:
DATABASE_URL=postgresql+asyncpg://... and REDIS_URL=redis://... switch the suite to them.
With ASSEMBLY_REQUIRE_SERVICES=1 (set by .ci/run) an unreachable service fails the run instead of
skipping the tests that need it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import db
from bot.app import App, create_app
from bot.config import Settings
from bot.services.audit import AuditKeys
from models import Base
from models.needs import NeedCategory

if TYPE_CHECKING:
    from bot.fake_telegram import FakeTelegram

ADMIN_ID = 900_001
TOKEN = "4242:TEST-token"
# The audit log's key in tests; sessions made outside the app carry the same one as the bot.
AUDIT_KEY = "test-audit-key-kept-out-of-the-db"
AUDIT_KEYS = AuditKeys(AUDIT_KEY.encode("utf-8"))
REQUIRE_SERVICES = os.environ.get("ASSEMBLY_REQUIRE_SERVICES") == "1"
ENV_DATABASE_URL = os.environ.get("DATABASE_URL", "")
ENV_REDIS_URL = os.environ.get("REDIS_URL") or None
USE_POSTGRES = ENV_DATABASE_URL.startswith(("postgres://", "postgresql"))
# pytest-xdist names its workers gw0, gw1...; a run without it is one "main" process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def service_missing(reason: str) -> None:
    """Skip on a laptop; fail where the services are promised (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ASSEMBLY_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def _pg_url(database: str) -> str:
    url = make_url(ENV_DATABASE_URL).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


async def _pg_admin(statement: str) -> None:
    engine = db.create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database made once per worker process: a SQLite file to copy, or a PostgreSQL
    database of the worker's own (tests truncate it, so workers must not share one)."""
    if USE_POSTGRES:
        name = f"assembly_test_{WORKER}_{uuid.uuid4().hex[:12]}"
        try:
            asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            # A throwaway database need not wait for each commit to reach the disk (a crash of
            # the server would lose the last commits of a test run, nothing else).
            asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        except Exception as exc:  # any failure means the server is not usable
            service_missing(f"PostgreSQL at DATABASE_URL is unreachable: {exc}")
        url = _pg_url(name)
        asyncio.run(_migrate(url))
        yield url
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(_migrate(url))
    yield url


async def _migrate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


def seeded_categories() -> list[dict[str, object]]:
    """The need categories migration 008 seeds (its module name starts with a digit)."""
    path = db.MIGRATIONS_DIR / "versions" / "008_needs.py"
    spec = importlib.util.spec_from_file_location("migration_008_needs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [
        {"code": code, "name_ru": ru, "name_en": en, "position": n, "active": True}
        for n, (code, ru, en) in enumerate(module.CATEGORIES, start=1)
    ]


async def _truncate(url: str) -> None:
    """Empty the tables a test wrote to, and start every sequence at 1 again. DELETE from the
    few tables that have rows, not TRUNCATE of all of them: TRUNCATE makes new files for every
    table and index, 0.37 s a test; this takes a few milliseconds."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            # Foreign keys are not checked while the rows go (the order would not matter then).
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            # audit_head holds a row the migration seeds; it is reset rather than emptied.
            tables = [t.name for t in Base.metadata.sorted_tables if t.name != "audit_head"]
            probe = " UNION ALL ".join(
                f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
            )
            for (name,) in (await conn.execute(text(probe))).all():
                await conn.execute(text(f'DELETE FROM "{name}"'))
            await conn.execute(
                text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
            )
            await conn.execute(text(f"UPDATE audit_head SET seq = 0, last_hash = '{'0' * 64}'"))
            # Rows the migrations seed are put back as a fresh database has them.
            await conn.execute(insert(NeedCategory), seeded_categories())
    finally:
        await engine.dispose()


@pytest.fixture
async def database_url(template_database: str, tmp_path: Path) -> str:
    """A clean, migrated database for one test."""
    if USE_POSTGRES:
        await _truncate(template_database)
        return template_database
    source = Path(make_url(template_database).database or "")
    target = tmp_path / "test.sqlite3"
    shutil.copyfile(source, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with db.create_sessionmaker(engine, audit=AUDIT_KEYS)() as session:
        yield session


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str | None]:
    """A key prefix of this test's own in Redis (when REDIS_URL is set), removed afterwards."""
    if ENV_REDIS_URL is None:
        yield None
        return
    from redis.asyncio import Redis

    prefix = f"assembly-test-{WORKER}-{uuid.uuid4().hex[:12]}"
    client = Redis.from_url(ENV_REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        service_missing(f"Redis at REDIS_URL is unreachable: {exc}")
    yield prefix
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    from bot.fake_telegram import FakeTelegram

    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def settings(database_url: str, redis_prefix: str | None, fake: FakeTelegram) -> Settings:
    return make_settings(database_url, redis_prefix, fake)


def make_settings(
    database_url: str, redis_prefix: str | None, fake: FakeTelegram, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "bot_token": TOKEN,
        "database_url": database_url,
        "redis_url": ENV_REDIS_URL if redis_prefix else None,
        "redis_prefix": redis_prefix or "unused",
        "bot_api_url": fake.url,
        "admin_ids": [ADMIN_ID],
        "throttle_rate": 0,
        # A person's messages still go one at a time, in order; the one-second gap Telegram
        # wants between them is the delivery tests' business (they build their own workers).
        "chat_interval": 0.02,
        "webhook_url": None,
        "audit_key": AUDIT_KEY,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class RunningBot:
    """The real bot polling the fake server; `restart()` kills it and starts a fresh copy."""

    settings: Settings
    app: App
    task: asyncio.Task[None]

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.app.sessionmaker

    @classmethod
    async def start(cls, settings: Settings) -> RunningBot:
        app = await create_app(settings)
        task = asyncio.create_task(
            app.dp.start_polling(
                app.bot, handle_as_tasks=False, polling_timeout=1, handle_signals=False
            )
        )
        return cls(settings, app, task)

    async def stop(self) -> None:
        if not self.task.done():
            try:
                # The polling loop runs in a task of its own that cancelling `start_polling`
                # would leave alive, a second bot that takes updates after a restart. The stop
                # signal cancels that loop, cutting the update in hand off wherever it is: to the
                # database that looks like a killed process, no clean shutdown.
                await self.app.dp.stop_polling()
            except RuntimeError:  # not polling yet: nothing runs that a cancel would miss
                self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.app.close()

    async def delivered(self, timeout: float = 30.0) -> None:
        """Wait until the background delivery worker has queued and sent everything that is due
        now."""
        from models import Delivery, DeliveryStatus, Outbox, OutboxStatus
        from models.base import utcnow

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.sessionmaker() as session:
                pending = await session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        Delivery.status == DeliveryStatus.PENDING, Delivery.not_before <= utcnow()
                    )
                )
                pending += (
                    await session.scalar(
                        select(func.count())
                        .select_from(Outbox)
                        .where(Outbox.status == OutboxStatus.QUEUING)
                    )
                    or 0
                )
            if not pending:
                return
            if loop.time() > deadline:
                raise AssertionError(f"{pending} deliveries still pending after {timeout}s")
            await asyncio.sleep(0.05)

    async def restart(self) -> None:
        await self.stop()
        fresh = await RunningBot.start(self.settings)
        self.app, self.task = fresh.app, fresh.task


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[RunningBot]:
    bot = await RunningBot.start(settings)
    yield bot
    await bot.stop()
