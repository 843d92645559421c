"""Turns domain errors into a localized answer; the rest becomes an apology and a log line."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    CallbackQuery,
    ErrorEvent,
    InaccessibleMessage,
    Message,
    TelegramObject,
)
from aiogram.utils.i18n import I18n

from bot.callbacks import alert
from bot.middlewares.i18n import telegram_language
from bot.services.errors import DomainError
from bot.texts import t

logger = logging.getLogger("bot.errors")


class DomainErrorMiddleware(BaseMiddleware):
    """A refused rule is an answer to the person, not a failure: nothing is committed."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except TelegramBadRequest as exc:
            # Pressing the button of the page already shown edits nothing: not the person's error.
            if "message is not modified" in exc.message:
                return None
            raise
        except DomainError as exc:
            session = data.get("session")
            if session is not None:
                await session.rollback()
            if isinstance(event, CallbackQuery):
                alert(data["callback_answer"], exc.key, **exc.params)
            elif isinstance(event, Message):
                await event.answer(t(exc.key, **exc.params))
            return None


def make_error_handler(
    i18n: I18n, default_language: str
) -> Callable[[ErrorEvent, Bot], Awaitable[bool]]:
    async def on_error(event: ErrorEvent, bot: Bot) -> bool:
        update = event.update
        logger.error(
            "update %s failed: %r", update.update_id, event.exception, exc_info=event.exception
        )
        # A press was already answered by CallbackAnswerMiddleware (a second answer fails with
        # "query is too old"): the apology goes to the chat, which an old (inaccessible)
        # message still names.
        message: Message | InaccessibleMessage | None = update.message
        if message is None and update.callback_query is not None:
            message = update.callback_query.message
        tg_user = update.message.from_user if update.message else None
        if update.callback_query:
            tg_user = update.callback_query.from_user
        with i18n.context(), i18n.use_locale(telegram_language(tg_user, default_language)):
            try:
                if message is not None:
                    await bot.send_message(message.chat.id, t("error-apology"))
            except Exception:  # the apology is best effort; the failure itself is logged above
                logger.warning("could not apologise for update %s", update.update_id)
        return True

    return on_error
