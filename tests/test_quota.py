"""The sending quota shared by the replicas (bot/delivery/quota.py): two processes' limiters,
drawing from one quota, stay under the rate together, and a 429 seen by one pauses the other.
Run on Redis and on PostgreSQL (each skipped, with the reason, where the service is absent)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot import db
from bot.delivery.pacing import RateLimiter
from bot.delivery.quota import DatabaseQuota, RedisQuota, SharedQuota
from tests.conftest import ENV_REDIS_URL, USE_POSTGRES

RATE = 200.0


@pytest.fixture(params=["redis", "postgresql"])
async def quotas(request, database_url, redis_prefix) -> AsyncIterator[Callable[[], SharedQuota]]:
    """Makes the quota as each replica would (its own client, one shared store)."""
    if request.param == "redis":
        if ENV_REDIS_URL is None:
            pytest.skip("REDIS_URL is not set: the Redis quota needs a Redis")
        from redis.asyncio import Redis

        clients: list[Redis] = []

        def make() -> SharedQuota:
            client = Redis.from_url(ENV_REDIS_URL)
            clients.append(client)
            return RedisQuota(client, redis_prefix or "test", RATE)

        yield make
        for client in clients:
            await client.aclose()
        return
    if not USE_POSTGRES:
        pytest.skip("DATABASE_URL is not PostgreSQL: SQLite serves one process and needs none")
    engines = []

    def make_db() -> SharedQuota:
        engine = db.create_engine(database_url)
        engines.append(engine)
        return DatabaseQuota(engine, RATE)

    yield make_db
    for engine in engines:
        await engine.dispose()


def busiest(moments: list[float], window: float) -> int:
    """The most sends that started within any one `window` of seconds."""
    moments = sorted(moments)
    most, start = 0, 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_two_replicas_stay_under_the_rate_together(quotas, request):
    replicas = [RateLimiter(RATE, quotas()), RateLimiter(RATE, quotas())]
    started: list[float] = []

    async def send(limiter: RateLimiter) -> None:
        await limiter.acquire()
        started.append(time.monotonic())
        limiter.release()  # Telegram answered at once

    # Each replica alone may send RATE a second: 150 each would all go within 0.75 s.
    await asyncio.gather(*(send(replica) for replica in replicas for _ in range(150)))
    if "redis" in request.node.name:
        # Redis keeps the exact limit: no second sees more than RATE, however they arrive.
        assert busiest(started, 1.0) <= RATE
    else:
        # The database's bucket spaces the starts: a quarter of a second's worth (plus its
        # burst of RATE / 20) in any quarter of a second.
        assert busiest(started, 0.25) <= RATE / 4 + RATE / 20 + 1


async def test_a_429_seen_by_one_replica_pauses_the_other(quotas):
    seen, other = RateLimiter(RATE, quotas()), RateLimiter(RATE, quotas())
    await other.acquire()
    other.release()
    seen.pause(0.6)
    await asyncio.sleep(0.05)  # the pause reaches the shared quota
    began = time.monotonic()
    await other.acquire()
    other.release()
    assert time.monotonic() - began >= 0.45
