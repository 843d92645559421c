"""Conversation state (aiogram FSM) kept in the project's database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import FsmRecord
from models.base import utcnow


class DatabaseStorage(BaseStorage):
    """FSM storage in the `fsm_states` table, so a half-finished dialog survives a restart.

    A row exists only while there is a state or data: clearing both deletes it, so a person who
    leaves a dialog leaves nothing behind.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], key_builder: KeyBuilder | None = None
    ) -> None:
        self.sessionmaker = sessionmaker
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def _load(self, key: StorageKey) -> FsmRecord | None:
        async with self.sessionmaker() as session:
            return await session.get(FsmRecord, self.key_builder.build(key))

    async def _save(self, key: StorageKey, state: str | None, data: Mapping[str, Any]) -> None:
        raw_key = self.key_builder.build(key)
        async with self.sessionmaker.begin() as session:
            if state is None and not data:
                await session.execute(delete(FsmRecord).where(FsmRecord.key == raw_key))
                return
            values = {"key": raw_key, "state": state, "data": dict(data), "updated_at": utcnow()}
            insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
            statement = insert(FsmRecord).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=[FsmRecord.key],
                set_={"state": state, "data": dict(data), "updated_at": values["updated_at"]},
            )
            await session.execute(statement)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._save(key, value, await self.get_data(key))

    async def get_state(self, key: StorageKey) -> str | None:
        record = await self._load(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._save(key, await self.get_state(key), data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await self._load(key)
        return dict(record.data) if record and record.data else {}

    async def close(self) -> None:
        # The engine belongs to the application, which disposes of it.
        return None
