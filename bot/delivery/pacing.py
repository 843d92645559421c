"""Telegram's sending limits, kept by construction: one rate for the whole bot, and one message at a
time, a second apart, to each person."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from time import monotonic
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.delivery.quota import SharedQuota

logger = logging.getLogger("bot.delivery")


class RateLimiter:
    """A token bucket of `rate` messages per second, with two guarantees on top: a request holds
    its token until one second after Telegram answered it, so no one-second window at Telegram
    ever sees more than `rate` requests; and a 429 pauses everyone."""

    def __init__(self, rate: float, shared: SharedQuota | None = None) -> None:
        self.rate = rate
        # With several replicas: the quota they all draw from (bot/delivery/quota.py).
        self.shared = shared
        self._pending: set[asyncio.Task[None]] = set()
        # Logged once when the shared quota cannot be reached, and once when it can again.
        self._shared_down = False
        self.capacity = max(1, math.floor(rate))
        # A small burst (50 ms worth) absorbs the lateness of sleeps without bunching requests.
        self.burst = max(1.0, rate / 20)
        self._tokens = self.burst
        self._stamp = monotonic()
        self._paused_until = 0.0
        self._in_flight = 0
        self._window: deque[float] = deque()  # when answered requests leave the last second
        self._lock = asyncio.Lock()
        self._freed = asyncio.Event()

    def pause(self, seconds: float) -> None:
        """Nothing is sent for `seconds`: here at once, and in every replica once the shared
        quota has it (their next request is answered with the pause)."""
        self._paused_until = max(self._paused_until, monotonic() + seconds)
        if self.shared is not None:
            self._in_background(self.shared.pause(seconds), "could not tell the others of a 429")

    def _in_background(self, call: Coroutine[Any, Any, None], failure: str) -> None:
        """Tell the shared quota without holding up the send (a reference is kept meanwhile)."""

        async def run() -> None:
            try:
                await call
            except Exception:  # Redis or the database is away: the local limit still holds
                logger.warning("%s", failure, exc_info=True)

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def acquire(self) -> None:
        async with self._lock:  # first come, first served
            while True:
                now = monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                while self._window and self._window[0] <= now:
                    self._window.popleft()
                delay = self._paused_until - now
                if self._in_flight + len(self._window) >= self.capacity:
                    if not self._window:
                        self._freed.clear()
                        await self._freed.wait()
                        continue
                    delay = max(delay, self._window[0] - now)
                if self._tokens < 1:
                    delay = max(delay, (1 - self._tokens) / self.rate)
                if delay <= 0 and self.shared is not None:
                    delay = await self._shared_wait()
                if delay <= 0:
                    break
                await asyncio.sleep(delay)
            self._tokens -= 1
            self._in_flight += 1

    async def _shared_wait(self) -> float:
        """0 when the shared quota gave a send; otherwise how long to wait before asking again."""
        assert self.shared is not None
        try:
            wait = await self.shared.take()
        except Exception:  # the quota cannot be reached: the local limit still holds
            if not self._shared_down:
                logger.exception("the shared sending quota cannot be reached")
            self._shared_down = True
            return 0.0
        if self._shared_down:
            logger.warning("the shared sending quota can be reached again")
            self._shared_down = False
        return wait

    def release(self) -> None:
        self._in_flight -= 1
        self._window.append(monotonic() + 1.0)
        self._freed.set()
        if self.shared is not None:
            self._in_background(self.shared.give_back(), "could not give a sending slot back")


class ChatPacer:
    """One delivery at a time per recipient (a person is one private chat), each message at least
    `interval` after Telegram answered the previous one to them."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._ready_at: dict[int, float] = {}
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, recipient: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(recipient, (asyncio.Lock(), 0))
        self._locks[recipient] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[recipient]
            if users == 1:
                del self._locks[recipient]
            else:
                self._locks[recipient] = (lock, users - 1)

    def delay(self, recipient: int) -> float:
        """Seconds until the recipient may be written to again (0 or less: now)."""
        return self._ready_at.get(recipient, 0.0) - monotonic()

    async def wait(self, recipient: int) -> None:
        delay = self.delay(recipient)
        if delay > 0:
            await asyncio.sleep(delay)

    def sent(self, recipient: int) -> None:
        self._ready_at[recipient] = monotonic() + self.interval

    def prune(self) -> None:
        """Forget whoever may be written to again, so memory follows the batch, not the audience."""
        now = monotonic()
        for recipient in [c for c, ready in self._ready_at.items() if ready <= now]:
            del self._ready_at[recipient]
