"""One way to handle a pressed button: the query is answered once, by aiogram's
CallbackAnswerMiddleware (a handler sets the answer's text, never sends it), and the message the
button hangs on is narrowed once here."""

from __future__ import annotations

from typing import Self

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from pydantic import model_validator

from bot.services.errors import DomainError
from bot.texts import plain


class StaleButton(DomainError):
    """A button on a message Telegram no longer lets the bot touch (older than 48 hours, or
    deleted), or one whose object is gone: the person is told, nothing changes."""

    key = "error-stale-button"


# The narrowest integer column of the supported databases (PostgreSQL's INTEGER); SQLite's
# reaches 2**63. Every number a button carries (ids, pages) fits both.
DB_INT_MIN = -(2**31)
DB_INT_MAX = 2**31 - 1


class BotCallback(CallbackData, prefix="bot"):
    """The base of every button's data. A number outside the database's integer range never
    came from the bot: the data does not parse, so no handler takes the press and the fallback
    answers it as a stale button, before any query could overflow."""

    @model_validator(mode="after")
    def _numbers_fit_the_database(self) -> Self:
        for name, value in self:
            if isinstance(value, int) and not DB_INT_MIN <= value <= DB_INT_MAX:
                raise ValueError(f"{name} is outside the database's integer range")
        return self


def callback_message(query: CallbackQuery) -> Message:
    """The message the pressed button belongs to, if the bot can still edit it."""
    message = query.message
    if not isinstance(message, Message):
        raise StaleButton()
    return message


def alert(callback_answer: CallbackAnswer, key: str, /, **params: object) -> None:
    """Answer the press with a pop-up the person must close (a refusal, a warning)."""
    callback_answer.text = plain(key, **params)
    callback_answer.show_alert = True


def toast(callback_answer: CallbackAnswer, key: str, /, **params: object) -> None:
    """Answer the press with a short note that fades by itself (a confirmation)."""
    callback_answer.text = plain(key, **params)


# Telegram refuses an edit that changes nothing, and a pager's counter button can be pressed
# again: the pressed message is edited only when what it would show differs.


async def redraw(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if message.html_text != text or message.reply_markup != markup:
        await message.edit_text(text, reply_markup=markup)


async def redraw_markup(message: Message, markup: InlineKeyboardMarkup) -> None:
    if message.reply_markup != markup:
        await message.edit_reply_markup(reply_markup=markup)
