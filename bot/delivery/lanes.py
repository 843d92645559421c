"""Which delivery a free lane of the worker takes next.

A lane is one delivery in progress. A person may be written to once a second, so a message in
parts waits between them; the lane does not: it records how many parts went out, parks the rest
(a `Continuation`, due when the person may be written to again) and takes other work. Nor does
a lane take a delivery to someone it would have to wait for, or to someone another lane is
writing to, while something else is ready: the parts of one message, and one person's messages,
still go out in order, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from time import monotonic
from typing import Any

from bot.delivery.ledger import Item


@dataclass(frozen=True)
class Continuation:
    """The rest of a message in parts: `item.parts_sent` parts went out (and are recorded)."""

    item: Item
    chat_id: int
    parts: list[Any]
    first_id: int | None
    ready_at: float


Job = Item | Continuation


class Lanes:
    def __init__(self, items: Iterable[Item], delay: Callable[[int], float]) -> None:
        self._queue: deque[Item] = deque(items)
        self._parked: list[tuple[float, int, Continuation]] = []
        self._order = itertools.count()
        # People a lane is writing to, or whose message waits parked between its parts.
        self._busy: set[int] = set()
        self._delay = delay  # seconds until a person may be written to again
        self._changed = asyncio.Event()

    def _take(self) -> Job | float | None:
        """The next job ready now; else the seconds until one may be; None when none is left."""
        now = monotonic()
        if self._parked and self._parked[0][0] <= now:
            return heapq.heappop(self._parked)[2]
        soonest = self._parked[0][0] - now if self._parked else None
        for index, item in enumerate(self._queue):
            if item.user_id in self._busy:
                continue
            wait = self._delay(item.user_id)
            if wait <= 0:
                del self._queue[index]
                self._busy.add(item.user_id)
                return item
            soonest = wait if soonest is None else min(soonest, wait)
        if soonest is None and self._queue:
            # Everyone left is someone a lane is writing to: ready when that lane is done.
            soonest = 1.0
        return soonest

    async def next(self, stop: asyncio.Event) -> Job | None:
        """Wait for the next job; None when there is none left or `stop` is set."""
        while not stop.is_set():
            taken = self._take()
            if taken is None or isinstance(taken, Item | Continuation):
                return taken
            self._changed.clear()
            waits = [
                asyncio.ensure_future(self._changed.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            try:
                await asyncio.wait(waits, timeout=taken, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiting
        return None

    def park(self, continuation: Continuation) -> None:
        heapq.heappush(self._parked, (continuation.ready_at, next(self._order), continuation))
        self._changed.set()

    def done(self, user_id: int) -> None:
        self._busy.discard(user_id)
        self._changed.set()
