"""Messages the bot sends on its own initiative to other people, each in their own language.

Until the delivery engine exists this sends directly; a person who blocked the bot is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from models import User

logger = logging.getLogger("bot.notify")


async def notify(
    bot: Bot,
    i18n: I18n,
    people: Iterable[User],
    render: Callable[[], str],
    keyboard: Callable[[], InlineKeyboardMarkup | None] | None = None,
    default_language: str = "ru",
) -> int:
    """Send `render()` to each person in their language; returns how many got it."""
    sent = 0
    for person in people:
        if person.telegram_id is None or person.deleted_at is not None:
            continue  # registered on paper, or erased: nobody to write to
        with i18n.use_locale(person.language or default_language):
            text = render()
            markup = keyboard() if keyboard else None
        try:
            await bot.send_message(person.telegram_id, text, reply_markup=markup)
            sent += 1
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            logger.info("could not notify user %s: %s", person.id, exc.message)
    return sent
