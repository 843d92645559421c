"""Conversation state (aiogram FSM) kept in the project's database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from bot.cache.people import cache_of, epoch_of
from bot.cache.tracking import written_states
from bot.db import current_session
from models import FsmRecord
from models.base import utcnow


class _Unset:
    pass


_UNSET = _Unset()
# Where a session remembers the keys it found without a record: a newcomer's update asks for its
# state and data three times, and the identity map remembers only what it found.
MISSES_KEY = "fsm_misses"


def _misses(session: AsyncSession) -> set[str]:
    found: set[str] = session.info.setdefault(MISSES_KEY, set())
    return found


@event.listens_for(Session, "after_soft_rollback")
def _forget_misses(session: Session, _previous: SessionTransaction) -> None:
    # A rollback may bring back a record this session had deleted.
    session.info.pop(MISSES_KEY, None)


class DatabaseStorage(BaseStorage):
    """FSM storage in the `fsm_states` table, so a half-finished dialog survives a restart.

    A row exists only while there is a state or data: clearing both deletes it, so a person who
    leaves a dialog leaves nothing behind. While an update is handled, the storage works in that
    update's transaction: if the handler fails, the dialog stays at the step it was on.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], key_builder: KeyBuilder | None = None
    ) -> None:
        self.sessionmaker = sessionmaker
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """The update's own session while an update is handled, else a short transaction."""
        current = current_session.get()
        if current is not None:
            yield current
            return
        async with self.sessionmaker.begin() as session:
            yield session

    async def _load(self, key: StorageKey) -> FsmRecord | None:
        raw_key = self.key_builder.build(key)
        async with self._session() as session:
            return await self._get(session, raw_key)

    @staticmethod
    async def _get(session: AsyncSession, raw_key: str) -> FsmRecord | None:
        """The record, from the session's identity map or memory of misses when it can."""
        misses = _misses(session)
        if raw_key in misses:
            return None
        record = await session.get(FsmRecord, raw_key)
        if record is None:
            misses.add(raw_key)
        return record

    async def _write(
        self,
        key: StorageKey,
        *,
        state: str | _Unset | None = _UNSET,
        data: dict[str, Any] | _Unset = _UNSET,
    ) -> None:
        """Change the state or the data; a record left empty is deleted."""
        raw_key = self.key_builder.build(key)
        async with self._session() as session:
            record = await self._get(session, raw_key)
            new_state = (record.state if record else None) if isinstance(state, _Unset) else state
            new_data = (record.data if record else {}) if isinstance(data, _Unset) else data
            if new_state is None and not new_data:
                if record is not None:
                    await session.delete(record)
            elif record is None:
                session.add(FsmRecord(key=raw_key, state=new_state, data=new_data))
                _misses(session).discard(raw_key)
            elif (record.state, record.data) != (new_state, new_data):
                record.state, record.data, record.updated_at = new_state, new_data, utcnow()
            await session.flush()

    async def _read(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        """The state and data; in an update, from the process's cache when it holds them (and
        this update has not written them)."""
        raw_key = self.key_builder.build(key)
        session = current_session.get()
        cache = cache_of(session) if session is not None else None
        if session is None or cache is None or raw_key in written_states(session.sync_session):
            record = await self._load(key)
            return (record.state, dict(record.data or {})) if record else (None, {})
        kept = cache.state(raw_key)
        if kept is not None:
            return kept
        record = await self._get(session, raw_key)
        value = (record.state, dict(record.data or {})) if record else (None, {})
        cache.keep_state(raw_key, value, epoch_of(session, cache))
        return value

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        await self._write(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return (await self._read(key))[1]

    async def close(self) -> None:
        # The engine belongs to the application, which disposes of it.
        return None


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


async def forget_dialogs(storage: BaseStorage, telegram_id: int) -> int:
    """Delete every dialog of a person, in any chat (erasure); returns how many keys went.

    A key names the chat and the person between colons, so `:<id>:` finds both a private chat
    and the person's dialogs in groups.
    """
    part = f":{telegram_id}:"
    if isinstance(storage, RedisStorage):
        prefix = getattr(storage.key_builder, "prefix", "fsm")
        # Not the lock of the update being handled (the event isolation's key ends in "lock"):
        # releasing it must still find it, or the update fails after the erasure was done.
        keys = [
            key
            async for key in storage.redis.scan_iter(match=f"{prefix}:*{part}*")
            if not _text(key).endswith(":lock")
        ]
        if keys:
            await storage.redis.delete(*keys)
        return len(keys)
    if isinstance(storage, DatabaseStorage):
        async with storage._session() as session:
            result = await session.execute(
                delete(FsmRecord)
                .where(FsmRecord.key.contains(part))
                .execution_options(synchronize_session="fetch", dialogs_of=telegram_id)
            )
            return int(getattr(result, "rowcount", 0) or 0)
    return 0
