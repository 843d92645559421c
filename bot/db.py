"""Engine, sessions and migrations."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, CursorResult, Result, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

import migrations
from bot.config import Settings, StartupError

if TYPE_CHECKING:
    from alembic.config import Config

    from bot.cache.people import PeopleCache
    from bot.services.audit.keys import AuditKeys

# Where sessions carry the audit keys; the same string as bot.services.audit.keys.INFO_KEY, which
# this low-level module does not import.
AUDIT_INFO_KEY = "audit"
CHANNEL_INFO_KEY = "public_channel"
CACHE_INFO_KEY = "people_cache"  # the same as bot.cache.people.CACHE_INFO_KEY

MIGRATIONS_DIR = Path(migrations.__file__).parent
# Seconds a health check waits for PostgreSQL before it calls the database unreachable.
CHECK_CONNECT_TIMEOUT = 5

# The session of the update being handled. The FSM storage writes through it, so a dialog step
# and the data it saved commit (or roll back) together, and SQLite never sees two writers from
# one update waiting on each other.
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or INSERT changed. SQLAlchemy 2.1 types every `execute` as a plain Result,
    though a statement without RETURNING gives a CursorResult, which alone has `rowcount`."""
    rowcount: int = result.rowcount if isinstance(result, CursorResult) else 0
    return rowcount


# Set on a connection by any statement but a SELECT, cleared when its transaction ends: an update
# that only read is not committed (a round trip to the database, and on SQLite a turn at the
# writer's lock, saved).
WROTE_KEY = "assembly_wrote"
CONNECTION_INFO_KEY = "connection"


def _watch_writes(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _mark(conn: Connection, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[WROTE_KEY] = True

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _clear(conn: Connection) -> None:
        conn.info.pop(WROTE_KEY, None)


@event.listens_for(Session, "after_begin")
def _note_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[CONNECTION_INFO_KEY] = connection


def wrote(session: AsyncSession) -> bool:
    """Whether the session's transaction has anything to commit: a statement that was not a
    SELECT, or objects added, changed or deleted and not flushed yet."""
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    # The connection its transaction began on, if it has one: asking the session for it
    # would check one out of the pool for an update that never touched the database.
    connection: Connection | None = session.info.get(CONNECTION_INFO_KEY)
    return connection is not None and bool(connection.info.get(WROTE_KEY))


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    engine = create_async_engine(url, **kwargs)
    _watch_writes(engine)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # Under WAL, NORMAL survives a killed process; a power cut may lose the last commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


def create_sessionmaker(
    engine: AsyncEngine,
    audit: AuditKeys | None = None,
    *,
    channel: int | None = None,
    cache: PeopleCache | None = None,
) -> async_sessionmaker[AsyncSession]:
    """Sessions for the engine; each carries the audit log's keys (in `session.info`) so the
    services can sign entries without knowing where the keys come from, and the public
    channel's id (PUBLIC_CHANNEL_ID), so that what is meant for the channel is queued only when
    there is one (bot.delivery.channel), without every caller passing the setting along."""
    # Registers the session events that keep every process's cache of people true, here rather
    # than at the top: the cache's modules import the services, which import this one.
    from bot.cache import tracking  # noqa: F401

    info: dict[str, object] = {AUDIT_INFO_KEY: audit} if audit is not None else {}
    if channel is not None:
        info[CHANNEL_INFO_KEY] = channel
    if cache is not None:
        info[CACHE_INFO_KEY] = cache
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


def _unusable(exc: BaseException) -> StartupError:
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return StartupError(f"cannot use the database ({reason}); check DATABASE_URL")


# pg_advisory_lock's key for the start-up: any 64-bit number no other code of ours uses.
STARTUP_LOCK = 0x417373656D626C79  # "Assembly"


@contextlib.asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Replicas starting together migrate and seed one after another, not at once (two
    replicas on a new database both inserted the admin, and one of them died of it). A
    PostgreSQL advisory lock held by a connection of its own; SQLite serves one process."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})


async def prepare_database(settings: Settings) -> AsyncEngine:
    """Connect, fail with a readable reason if the database is unreachable, and migrate."""
    engine = create_engine(settings.async_database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        async with startup_lock(engine):
            await upgrade(engine)
    except (SQLAlchemyError, OSError) as exc:
        await engine.dispose()
        raise _unusable(exc) from exc
    return engine


# Migrations need alembic, which start-up of anything but a migration can do without: it is
# imported in the functions below, not at the top.


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revisions() -> frozenset[str]:
    """The migrations' head, read once per process: alembic executes every migration file to
    find it (70 ms), and a start on a database already at the head needs nothing else."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` on the engine's own connection (used on start-up)."""
    from alembic import command

    async with engine.begin() as conn:
        if revision == "head" and set(await conn.run_sync(_current_revisions)) == head_revisions():
            return
        await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync_conn: command.downgrade(alembic_config(sync_conn), revision)
        )


def _current_revisions(connection: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    # Reads alembic_version and nothing else: no table is created when it is missing.
    return MigrationContext.configure(connection).get_current_heads()


def _require_sqlite_file(database: str | None) -> None:
    # Connecting would create an empty file and call that a database.
    if database not in (None, "", ":memory:") and not Path(database).is_file():
        raise StartupError(f"the database file {database} does not exist yet")


async def check_database(settings: Settings) -> None:
    """Read-only: the database answers and its schema is at the migrations' head; otherwise a
    StartupError saying which. Never migrates, so it cannot race the app's own start-up."""
    from alembic.script import ScriptDirectory

    url = make_url(settings.database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        _require_sqlite_file(url.database)
    else:
        connect_args["timeout"] = CHECK_CONNECT_TIMEOUT
    engine = create_engine(settings.async_database_url, connect_args=connect_args)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current_revisions)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise _unusable(exc) from exc
    finally:
        await engine.dispose()
    if set(current) == head_revisions():
        return
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_heads()
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise StartupError(
            f"the database schema is at revision {', '.join(unknown)}, which these migrations "
            "do not know (was it written by a newer version of the bot?)"
        )
    have = ", ".join(current) or "none (not migrated yet)"
    raise StartupError(
        f"the database schema is at revision {have}, behind the migrations' head "
        f"{', '.join(head)}; the bot migrates on start, or run `python -m bot migrate`"
    )
