"""Conversation state (aiogram FSM) kept in the project's database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import current_session
from models import FsmRecord
from models.base import utcnow


class _Unset:
    pass


_UNSET = _Unset()


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
        async with self._session() as session:
            return await session.get(FsmRecord, self.key_builder.build(key))

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
            record = await session.get(FsmRecord, raw_key)
            new_state = (record.state if record else None) if isinstance(state, _Unset) else state
            new_data = (record.data if record else {}) if isinstance(data, _Unset) else data
            if new_state is None and not new_data:
                if record is not None:
                    await session.delete(record)
            elif record is None:
                session.add(FsmRecord(key=raw_key, state=new_state, data=new_data))
            else:
                record.state, record.data, record.updated_at = new_state, new_data, utcnow()
            await session.flush()

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        await self._write(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        record = await self._load(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await self._load(key)
        return dict(record.data) if record and record.data else {}

    async def close(self) -> None:
        # The engine belongs to the application, which disposes of it.
        return None


async def forget_dialogs(storage: BaseStorage, telegram_id: int) -> int:
    """Delete every dialog of a person, in any chat (erasure); returns how many keys went.

    A key names the chat and the person between colons, so `:<id>:` finds both a private chat
    and the person's dialogs in groups.
    """
    part = f":{telegram_id}:"
    if isinstance(storage, RedisStorage):
        prefix = getattr(storage.key_builder, "prefix", "fsm")
        keys = [key async for key in storage.redis.scan_iter(match=f"{prefix}:*{part}*")]
        if keys:
            await storage.redis.delete(*keys)
        return len(keys)
    if isinstance(storage, DatabaseStorage):
        async with storage._session() as session:
            result = await session.execute(
                delete(FsmRecord)
                .where(FsmRecord.key.contains(part))
                .execution_options(synchronize_session="fetch")
            )
            return int(getattr(result, "rowcount", 0) or 0)
    return 0
