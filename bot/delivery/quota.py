"""Telegram's global sending limit shared by every replica of the bot.

Each process keeps its own RateLimiter (bot/delivery/pacing.py); with several replicas each would
allow the whole rate, so together they would exceed it. A shared quota is a token bucket that
every replica draws from before it sends, and a pause that a 429 seen by one replica sets for all:

- in Redis when REDIS_URL is set: one Lua script per token, atomic, on Redis's clock;
- in PostgreSQL otherwise: one conditional UPDATE of a row per token, on the database's clock.

SQLite needs none: it serves one process, whose own limiter is exact.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The bucket holds a twentieth of a second's worth (at least one): like the local limiter's, a
# burst that absorbs the lateness of sleeps without letting requests bunch.
BURST_SECONDS = 0.05


class SharedQuota(Protocol):
    async def take(self) -> float:
        """Take one send from the shared quota: 0 when taken, otherwise the seconds to wait
        before asking again (a pause, or an empty bucket)."""

    async def pause(self, seconds: float) -> None:
        """Everyone waits `seconds` from now (a 429's retry_after); a longer pause stays."""


def burst(rate: float) -> float:
    return max(1.0, rate * BURST_SECONDS)


# KEYS: the bucket, the pause. ARGV: the rate per second, the burst. Returns milliseconds to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(held[1]) or burst
local stamp = tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate / 1000)
local wait = 0
if tokens < 1 then
  wait = math.ceil((1 - tokens) * 1000 / rate)
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""

# KEYS: the pause. ARGV: milliseconds.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then redis.call('SET', KEYS[1], now + ms, 'PX', ms + 1000) end
return 0
"""


class RedisQuota:
    def __init__(self, redis: Redis, prefix: str, rate: float) -> None:
        self.rate = rate
        self.burst = burst(rate)
        self.keys = [f"{prefix}:send-quota", f"{prefix}:send-pause"]
        self._take: Any = redis.register_script(_TAKE)
        self._pause: Any = redis.register_script(_PAUSE)

    async def take(self) -> float:
        wait = await self._take(keys=self.keys, args=[self.rate, self.burst])
        return int(wait) / 1000

    async def pause(self, seconds: float) -> None:
        await self._pause(keys=self.keys[1:], args=[math.ceil(seconds * 1000)])


# The bucket's row (migration 014); the clock is the database's, the same for every replica.
_DB_TAKE = text(
    """
    UPDATE send_quota
    SET tokens = LEAST(:burst, tokens + EXTRACT(EPOCH FROM clock_timestamp() - stamp) * :rate) - 1,
        stamp = clock_timestamp()
    WHERE name = 'telegram'
      AND paused_until <= clock_timestamp()
      AND LEAST(:burst, tokens + EXTRACT(EPOCH FROM clock_timestamp() - stamp) * :rate) >= 1
    RETURNING 1
    """
)
_DB_WAIT = text(
    """
    SELECT GREATEST(
        EXTRACT(EPOCH FROM paused_until - clock_timestamp()),
        (1 - LEAST(:burst, tokens + EXTRACT(EPOCH FROM clock_timestamp() - stamp) * :rate))
            / :rate,
        0.001)
    FROM send_quota WHERE name = 'telegram'
    """
)
_DB_PAUSE = text(
    """
    UPDATE send_quota
    SET paused_until = GREATEST(paused_until, clock_timestamp() + make_interval(secs => :seconds))
    WHERE name = 'telegram'
    """
)


_DB_ROW = text(
    """
    INSERT INTO send_quota (name, tokens, stamp, paused_until)
    VALUES ('telegram', :burst, clock_timestamp(), clock_timestamp())
    ON CONFLICT (name) DO NOTHING
    """
)


class DatabaseQuota:
    """On PostgreSQL, for replicas without Redis: a send costs one short UPDATE (25 a second at
    the default rate), on its own connection so that no update's transaction waits for it."""

    def __init__(self, engine: AsyncEngine, rate: float) -> None:
        self.engine = engine
        self.params = {"rate": rate, "burst": burst(rate)}

    async def take(self) -> float:
        async with self.engine.begin() as conn:
            if (await conn.execute(_DB_TAKE, self.params)).first() is not None:
                return 0.0
            wait = await conn.scalar(_DB_WAIT, self.params)
            if wait is None:
                # The row is missing (a database emptied by hand): put it back, full.
                await conn.execute(_DB_ROW, {"burst": self.params["burst"]})
                return 0.0
        return float(wait)

    async def pause(self, seconds: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(_DB_PAUSE, {"seconds": seconds})
