"""A 429 on a reply does not drop what the person typed: the reply waits `retry_after` (10 s in
all at most, twice at most) and goes out; past that, the update is undone (its transaction
rolled back, the dialog put back at the step it was on, in any FSM storage) and the person is
asked to send it again. Messages the bot sends on its own go through the delivery engine, which
has its own pacing; this applies only while an update is handled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.fsm.context import FSMContext
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from bot.texts import t

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

logger = logging.getLogger("bot.flood")

# How long a person may wait, in all, for a reply held back by 429s, and in how many waits. The
# update's transaction stays open meanwhile, so this is kept short.
MAX_WAIT = 10.0
MAX_WAITS = 2

# How long a request made now may still wait out a 429: set while an update is handled, zero
# outside it (the delivery worker and the scheduler pace themselves) and once the update gave up.
_patience: ContextVar[float] = ContextVar("reply_patience", default=0.0)


class ReplyRetryMiddleware(BaseRequestMiddleware):
    """For the bot's session: a request made while handling an update waits out a short 429."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        waits = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                patience = _patience.get()
                if waits >= MAX_WAITS or exc.retry_after > patience:
                    raise
                waits += 1
                _patience.set(patience - exc.retry_after)
                logger.info("a reply waits %s s for Telegram (429)", exc.retry_after)
                await self.sleep(exc.retry_after)


class FloodGuardMiddleware(BaseMiddleware):
    """For the dispatcher's updates, inside the session's and the language's middlewares."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        before = (await state.get_state(), await state.get_data()) if state else None
        token = _patience.set(MAX_WAIT)
        try:
            return await handler(event, data)
        except TelegramRetryAfter as exc:
            logger.warning("Telegram asked to wait %s s; the update is undone", exc.retry_after)
            _patience.set(0.0)
            session = data.get("session")
            if session is not None:
                await session.rollback()
            if state is not None and before is not None:
                await state.set_state(before[0])
                await state.set_data(before[1])
            await _ask_again(event)
            return None
        finally:
            _patience.reset(token)


async def _ask_again(event: TelegramObject) -> None:
    """Best effort: Telegram may refuse this too while it wants the bot to wait."""
    inner = event.event if isinstance(event, Update) else event
    try:
        if isinstance(inner, CallbackQuery) and inner.bot is not None:
            # The press itself was answered already (CallbackAnswerMiddleware answers in any
            # case): the request goes to the chat, which is the person's (private chats only).
            await inner.bot.send_message(inner.from_user.id, t("error-too-many-requests"))
        elif isinstance(inner, Message):
            await inner.answer(t("error-too-many-requests"))
    except TelegramAPIError as exc:
        logger.info("could not ask to send again: %s", exc)
