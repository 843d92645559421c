"""Hears, on PostgreSQL, what the other processes changed (bot.cache.tracking sends it), and
drops it from this process's cache. While it cannot hear (not connected yet, or the connection
was lost), the cache keeps nothing: a change it missed could otherwise be served for a whole ttl.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.engine import URL

from bot.cache.people import PeopleCache
from bot.cache.tracking import CHANNEL, decode

logger = logging.getLogger("bot.cache")

RETRY_FIRST, RETRY_MAX = 1.0, 30.0


def driver_dsn(url: URL) -> str:
    """The asyncpg form of a SQLAlchemy PostgreSQL URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class _Signal(asyncio.Event):
    """An event asyncpg can call when the connection ends."""

    def __call__(self, *_args: Any) -> None:
        self.set()


class _Hearing:
    """What asyncpg calls with each notice: the changes dropped, unless this process made them
    (it dropped them at its commit, and kept the person it served as committed)."""

    def __init__(self, cache: PeopleCache) -> None:
        self.cache = cache

    def __call__(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        changes = decode(payload)
        if changes.origin != self.cache.origin:
            self.cache.forget(changes)


async def listen(cache: PeopleCache, url: URL, stop: asyncio.Event) -> None:
    import asyncpg  # type: ignore[import-untyped]  # imported only where PostgreSQL is used

    delay = RETRY_FIRST
    while not stop.is_set():
        connection: Any = None
        try:
            connection = await asyncpg.connect(driver_dsn(url))
            lost = _Signal()
            connection.add_termination_listener(lost)
            await connection.add_listener(CHANNEL, _Hearing(cache))
            cache.resume()
            delay = RETRY_FIRST
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
            if lost.is_set():
                logger.warning("the cache's listener lost PostgreSQL; keeping nothing till back")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning("the cache's listener cannot connect (%s); keeping nothing", exc)
        finally:
            cache.pause()
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, RETRY_MAX)
