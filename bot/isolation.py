"""One person's updates one at a time across replicas, and not held up long by a dead replica.

aiogram's Redis event isolation takes a lock per person in Redis with a fixed life of 60 seconds.
When a replica dies while handling someone's update, that person waits the whole minute
(bench/bench_replicas.py --kill measured 60.3 s). Here the lock lives LOCK_TTL seconds and is
renewed while the update is handled: a dead replica's lock is gone within LOCK_TTL, and an update
that takes long (a report) keeps its lock as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio.lock import Lock

logger = logging.getLogger("bot")

# Seconds a person's lock outlives the replica holding it; renewed at a third of it.
LOCK_TTL = 10.0


class RenewingRedisEventIsolation(RedisEventIsolation):
    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        name = self.key_builder.build(key, "lock")
        async with self.redis.lock(name=name, timeout=LOCK_TTL, lock_class=Lock) as held:
            renewing = asyncio.create_task(_renew(held))
            try:
                yield None
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing


async def _renew(lock: Lock) -> None:
    while True:
        await asyncio.sleep(LOCK_TTL / 3)
        try:
            await lock.reacquire()
        except Exception:  # Redis away, or the lock lost: the update goes on regardless
            logger.warning("could not renew a person's lock in Redis", exc_info=True)
            return
