"""Telegram's global sending limit shared by every replica of the bot.

Each process keeps its own RateLimiter (bot/delivery/pacing.py); with several replicas each would
allow the whole rate, so together they would exceed it. A shared quota is what every replica
draws from before it sends, with a pause that a 429 seen by one replica sets for all:

- in Redis when REDIS_URL is set: the same guarantee as one process's limiter, for all of them.
  A send holds a slot from before it goes until one second after Telegram answered it, and there
  are `rate` slots, so no one-second window at Telegram sees more than `rate` requests, however
  late each one arrives. One atomic script per send and one per answer, on Redis's clock. A
  replica that dies holding slots loses them after HOLD seconds.
- in PostgreSQL otherwise: a token bucket, one conditional UPDATE of a row per send, on the
  database's clock. It spaces the starts of the sends at `rate` a second; a send delayed on its
  way (a loaded machine) may land in the next second's count. Use Redis for the exact limit.

SQLite needs none: it serves one process, whose own limiter is exact.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The database's bucket holds a twentieth of a second's worth (at least one): like the local
# limiter's, a burst that absorbs the lateness of sleeps without letting requests bunch.
BURST_SECONDS = 0.05
# Seconds a slot may be held by a send nobody answered (its replica died): then it frees itself.
HOLD = 60


class SharedQuota(Protocol):
    async def take(self) -> float:
        """Take one send from the shared quota: 0 when taken, otherwise the seconds to wait
        before asking again (a pause, or no room)."""

    async def give_back(self) -> None:
        """Telegram answered one of this replica's sends."""

    async def pause(self, seconds: float) -> None:
        """Everyone waits `seconds` from now (a 429's retry_after); a longer pause stays."""


def burst(rate: float) -> float:
    return max(1.0, rate * BURST_SECONDS)


_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: the slots (a sorted set: slot -> when it frees), the pause.
# ARGV: how many slots, this slot's name, milliseconds a slot may be held.
# Returns milliseconds to wait (0: the slot is taken).
_TAKE = (
    _NOW
    + """
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
  return 0
end
-- Full: the first slot to free may be one still in flight, whose end is not known yet.
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.min(50, tonumber(first[2]) - now))
"""
)

# KEYS: the slots. ARGV: the slot. Telegram answered: the slot frees a second from now.
_GIVE_BACK = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], 'XX', now + 1000, ARGV[1])
return 0
"""
)

# KEYS: the pause. ARGV: milliseconds.
_PAUSE = (
    _NOW
    + """
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then redis.call('SET', KEYS[1], now + ms, 'PX', ms + 1000) end
return 0
"""
)


class RedisQuota:
    def __init__(self, redis: Redis, prefix: str, rate: float) -> None:
        self.slots = max(1, math.floor(rate))
        self.keys = [f"{prefix}:send-slots", f"{prefix}:send-pause"]
        self._take: Any = redis.register_script(_TAKE)
        self._give_back: Any = redis.register_script(_GIVE_BACK)
        self._pause: Any = redis.register_script(_PAUSE)
        # This replica's slots in flight; any of them stands for any answer (they are alike).
        self._held: deque[str] = deque()

    async def take(self) -> float:
        slot = uuid.uuid4().hex
        wait = int(await self._take(keys=self.keys, args=[self.slots, slot, HOLD * 1000]))
        if wait == 0:
            self._held.append(slot)
        return wait / 1000

    async def give_back(self) -> None:
        if self._held:
            await self._give_back(keys=self.keys[:1], args=[self._held.popleft()])

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

    async def give_back(self) -> None:
        """Nothing to do: the bucket counts starts, not answers."""

    async def pause(self, seconds: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(_DB_PAUSE, {"seconds": seconds})
