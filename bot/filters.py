"""Filters shared by dialogs, and how filters run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router

# What a dialog step takes as an answer: text that is not a command. A command typed in the
# middle of a dialog goes to its own handler (or to the fallback), never into a field.
TEXT_INPUT = F.text & ~F.text.startswith("/")
# Anything that is not text (a photo, a sticker, a file, a location…), answered with a hint.
NOT_TEXT = ~F.text


def run_sync_filters_inline(router: Router) -> int:
    """Make the plain functions among the router tree's filters (magic filters: `F.text`, …)
    run in the event loop; returns how many.

    aiogram runs a filter that is not a coroutine in a worker thread (`asyncio.to_thread`), in
    case it blocks. Ours are pure and take microseconds, while each hop to a thread and back
    costs tens of them: five on every /help, more than the rest of the update once nothing is
    read from the database. Handlers are left as they are.
    """
    changed = 0
    for each in router.chain_tail:
        for observer in each.observers.values():
            for handler in observer.handlers:
                for event_filter in handler.filters or ():
                    if not event_filter.awaitable:
                        event_filter.callback = _in_loop(event_filter.callback)
                        event_filter.awaitable = True
                        changed += 1
    return changed


def _in_loop(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return call
